package repo

import (
	"crypto/subtle"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

// The namespaces of a MirrorManager metalink: Metalink 3.0 for the
// document, MirrorManager's own (bound to the prefix mm0) for timestamps,
// alternates and private mirrors.
const (
	metalinkNS  = "http://www.metalinker.org/"
	mmNS        = "http://fedorahosted.org/mirrormanager"
	metalink4NS = "urn:ietf:params:xml:ns:metalink"
)

// repomdSuffix is what a metalink URL for repomd.xml ends with; the
// mirror's base URL is the URL without it.
const repomdSuffix = "repodata/repomd.xml"

// ErrMirrorList is wrapped by every error about a malformed mirrorlist or
// metalink document.
var ErrMirrorList = errors.New("repo: malformed mirrorlist or metalink")

// Metalink is what rpmirror uses of a MirrorManager metalink for
// repodata/repomd.xml: the versions of repomd.xml that mirrors may serve
// and the mirrors to ask.
type Metalink struct {
	// Versions[0] is the current repomd.xml; the rest are the
	// <mm0:alternate> entries, recent older versions that mirrors lagging
	// behind still serve, in document order.
	Versions []MetalinkVersion
	// Mirrors are the usable mirrors: http and https URLs ending in
	// repodata/repomd.xml, by descending preference, document order
	// among equals, without duplicates.
	Mirrors []MetalinkMirror
	// Skipped are the URLs that are not usable, with the reason.
	Skipped []SkippedURL
}

// MetalinkVersion is one version of repomd.xml a metalink describes.
type MetalinkVersion struct {
	Timestamp int64 // <mm0:timestamp>; 0 when absent
	Size      int64 // <size>; -1 when absent
	// Hashes are the <hash> elements of known types (md5, sha1, sha224,
	// sha256, sha384, sha512), in document order, values in lower case.
	// Only the SHA-2 ones are used to verify.
	Hashes []repodata.Checksum
}

// MetalinkMirror is one <url> of a metalink.
type MetalinkMirror struct {
	URL        string // the <url> text: .../repodata/repomd.xml
	Base       string // URL without repodata/repomd.xml, ending in "/"
	Preference int    // 0-100, higher is better; 0 when absent
	Location   string // ISO country code, "" when absent
}

// SkippedURL is a mirror URL of a mirrorlist or metalink that rpmirror
// does not use, and why.
type SkippedURL struct {
	URL    string
	Reason string
}

// metalinkHexLen gives the hex length of the hash types a metalink may
// carry; MirrorManager writes md5, sha1, sha256 and sha512.
var metalinkHexLen = map[string]int{
	"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128,
}

// strongHash reports whether a hash type is strong enough to trust
// repomd.xml with.
func strongHash(typ string) bool {
	switch typ {
	case "sha224", "sha256", "sha384", "sha512":
		return true
	}
	return false
}

// ParseMetalink reads a MirrorManager metalink (Metalink 3.0 with the
// mm0 extensions, as mirrors.fedoraproject.org and mirrors.centos.org
// serve it) and returns the entry for repomd.xml.
//
// It is strict about what rpmirror trusts and returns an error wrapping
// ErrMirrorList when the document is not well-formed UTF-8 XML, the root
// is not <metalink> in the Metalink 3.0 namespace (Metalink 4 is refused
// by name), a <file> has no name, there is no <file name="repomd.xml"> or
// more than one, a singular element (<size>, <mm0:timestamp>,
// <verification>, <mm0:alternates>, <resources>) is repeated, a number
// is not a non-negative decimal, a preference is outside 0-100, a <hash>
// has no type, a known hash type is repeated within a version or has a
// value that is not hex of its length, no version has a SHA-2 hash, or no
// mirror URL is usable. Unknown elements and attributes are skipped, and
// so are hash types it does not know (ripemd160). A URL that is not
// http(s), not absolute or does not end in repodata/repomd.xml is
// skipped and listed in Skipped, as rsync and ftp URLs are in real
// metalinks.
//
// ParseMetalink does not bound its input; callers reading from the
// network limit it.
func ParseMetalink(r io.Reader) (*Metalink, error) {
	p := &mlParser{d: xml.NewDecoder(r)}
	m, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("%w: metalink: byte %d: %w", ErrMirrorList, p.d.InputOffset(), err)
	}
	return m, nil
}

type mlParser struct {
	d *xml.Decoder
}

func (p *mlParser) parse() (*Metalink, error) {
	if err := p.root(); err != nil {
		return nil, err
	}
	var m *Metalink
	var rawURLs []mlURL
	sawFiles := false
	err := p.children(func(t xml.StartElement) error {
		if !isElem(t, metalinkNS, "files") {
			return p.d.Skip()
		}
		if sawFiles {
			return errors.New("more than one <files>")
		}
		sawFiles = true
		return p.children(func(t xml.StartElement) error {
			if !isElem(t, metalinkNS, "file") {
				return p.d.Skip()
			}
			name, ok := attr(t, "name")
			if !ok {
				return errors.New("<file> without a name")
			}
			if name != "repomd.xml" {
				return p.d.Skip()
			}
			if m != nil {
				return errors.New(`more than one <file name="repomd.xml">`)
			}
			m = &Metalink{}
			var err error
			rawURLs, err = p.file(m)
			return err
		})
	})
	if err == nil {
		err = p.trailer()
	}
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New(`no <file name="repomd.xml">`)
	}
	if !slices.ContainsFunc(m.Versions, func(v MetalinkVersion) bool { return v.verifiable() }) {
		return nil, errors.New("no sha256 or sha512 hash of repomd.xml")
	}
	m.setMirrors(rawURLs)
	if len(m.Mirrors) == 0 {
		if len(m.Skipped) > 0 {
			return nil, fmt.Errorf("no usable mirror URL (%d skipped, first %q: %s)", len(m.Skipped), m.Skipped[0].URL, m.Skipped[0].Reason)
		}
		return nil, errors.New("no mirror URL")
	}
	return m, nil
}

// root reads up to the root element and checks it.
func (p *mlParser) root() error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return errors.New("no <metalink> root element")
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch {
			case isElem(t, metalinkNS, "metalink"):
				return nil
			case t.Name.Space == metalink4NS:
				return errors.New("Metalink 4 (RFC 5854) is not supported; MirrorManager serves Metalink 3.0")
			}
			return fmt.Errorf("root element is <%s> in namespace %q, want <metalink> in %q", t.Name.Local, t.Name.Space, metalinkNS)
		case xml.CharData:
			if strings.TrimLeft(string(t), " \t\r\n\ufeff") != "" {
				return errors.New("text before the root element")
			}
		}
	}
}

// trailer reads what follows the root element: only whitespace, comments
// and processing instructions.
func (p *mlParser) trailer() error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("element <%s> after the root element", t.Name.Local)
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return errors.New("text after the root element")
			}
		}
	}
}

// children calls fn for each child element of the element just started,
// up to its end tag, and rejects text other than whitespace. fn must
// consume the child up to its end tag.
func (p *mlParser) children(fn func(xml.StartElement) error) error {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return unexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return fmt.Errorf("unexpected text %q", truncate(string(t), 40))
			}
		}
	}
}

// text reads the text of the element just started, which must not have
// child elements, trimmed of surrounding whitespace.
func (p *mlParser) text(t xml.StartElement) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", unexpectedEOF(err)
		}
		switch tt := tok.(type) {
		case xml.CharData:
			if b.Len()+len(tt) > 64<<10 {
				return "", fmt.Errorf("<%s>: text too long", t.Name.Local)
			}
			b.Write(tt)
		case xml.StartElement:
			return "", fmt.Errorf("<%s> inside <%s>", tt.Name.Local, t.Name.Local)
		case xml.EndElement:
			return strings.TrimSpace(b.String()), nil
		}
	}
}

func (p *mlParser) number(t xml.StartElement) (int64, error) {
	s, err := p.text(t)
	if err != nil {
		return 0, err
	}
	v, err := parseUint(s)
	if err != nil {
		return 0, fmt.Errorf("<%s>: %w", t.Name.Local, err)
	}
	return v, nil
}

// mlURL is a <url> as read, before it is checked.
type mlURL struct {
	url        string
	preference int
	location   string
}

// file reads the children of <file name="repomd.xml">.
func (p *mlParser) file(m *Metalink) ([]mlURL, error) {
	cur := MetalinkVersion{Size: -1}
	var seen seenSet
	var urls []mlURL
	var alts []MetalinkVersion
	err := p.children(func(t xml.StartElement) error {
		switch {
		case isElem(t, mmNS, "timestamp"), isElem(t, metalinkNS, "size"), isElem(t, metalinkNS, "verification"):
			if err := seen.once(t); err != nil {
				return err
			}
			return p.versionChild(t, &cur)
		case isElem(t, mmNS, "alternates"):
			if err := seen.once(t); err != nil {
				return err
			}
			return p.children(func(t xml.StartElement) error {
				if !isElem(t, mmNS, "alternate") {
					return p.d.Skip()
				}
				alt, err := p.alternate()
				if err != nil {
					return fmt.Errorf("<mm0:alternate> %d: %w", len(alts)+1, err)
				}
				alts = append(alts, alt)
				return nil
			})
		case isElem(t, metalinkNS, "resources"):
			if err := seen.once(t); err != nil {
				return err
			}
			return p.children(func(t xml.StartElement) error {
				if !isElem(t, metalinkNS, "url") {
					return p.d.Skip()
				}
				u, err := p.url(t)
				if err != nil {
					return fmt.Errorf("<url> %d: %w", len(urls)+1, err)
				}
				urls = append(urls, u)
				return nil
			})
		}
		return p.d.Skip()
	})
	if err != nil {
		return nil, err
	}
	m.Versions = append([]MetalinkVersion{cur}, alts...)
	return urls, nil
}

// versionChild reads <mm0:timestamp>, <size> or <verification> into v.
func (p *mlParser) versionChild(t xml.StartElement, v *MetalinkVersion) error {
	var err error
	switch t.Name.Local {
	case "timestamp":
		v.Timestamp, err = p.number(t)
	case "size":
		v.Size, err = p.number(t)
	case "verification":
		err = p.children(func(t xml.StartElement) error {
			if !isElem(t, metalinkNS, "hash") {
				return p.d.Skip() // <pieces>, <signature>
			}
			return p.hash(t, v)
		})
	}
	return err
}

func (p *mlParser) alternate() (MetalinkVersion, error) {
	v := MetalinkVersion{Size: -1}
	var seen seenSet
	err := p.children(func(t xml.StartElement) error {
		if isElem(t, mmNS, "timestamp") || isElem(t, metalinkNS, "size") || isElem(t, metalinkNS, "verification") {
			if err := seen.once(t); err != nil {
				return err
			}
			return p.versionChild(t, &v)
		}
		return p.d.Skip()
	})
	return v, err
}

func (p *mlParser) hash(t xml.StartElement, v *MetalinkVersion) error {
	typ, ok := attr(t, "type")
	if !ok || typ == "" {
		return errors.New("<hash> without a type")
	}
	val, err := p.text(t)
	if err != nil {
		return err
	}
	typ = strings.ToLower(typ)
	n, known := metalinkHexLen[typ]
	if !known {
		return nil // ripemd160 and the like: nothing rpmirror checks
	}
	val = strings.ToLower(val)
	if len(val) != n {
		return fmt.Errorf("%s hash %q has %d characters, want %d", typ, truncate(val, 140), len(val), n)
	}
	if _, err := hex.DecodeString(val); err != nil {
		return fmt.Errorf("%s hash %q is not hex", typ, val)
	}
	if slices.ContainsFunc(v.Hashes, func(c repodata.Checksum) bool { return c.Type == typ }) {
		return fmt.Errorf("duplicate %s hash", typ)
	}
	v.Hashes = append(v.Hashes, repodata.Checksum{Type: typ, Value: val})
	return nil
}

func (p *mlParser) url(t xml.StartElement) (mlURL, error) {
	u := mlURL{}
	u.location, _ = attr(t, "location")
	if s, ok := attr(t, "preference"); ok {
		v, err := parseUint(strings.TrimSpace(s))
		if err != nil || v > 100 {
			return u, fmt.Errorf("preference %q is not a number from 0 to 100", truncate(s, 40))
		}
		u.preference = int(v)
	}
	var err error
	u.url, err = p.text(t)
	return u, err
}

// setMirrors checks the URLs, derives the base URLs and sorts them by
// preference.
func (m *Metalink) setMirrors(urls []mlURL) {
	seen := map[string]bool{}
	for _, u := range urls {
		base, ok := strings.CutSuffix(u.url, "/"+repomdSuffix)
		if !ok {
			if u.url != "" {
				m.Skipped = append(m.Skipped, SkippedURL{u.url, "does not end in /" + repomdSuffix})
			}
			continue
		}
		b, reason := parseMirrorURL(base)
		if reason != "" {
			m.Skipped = append(m.Skipped, SkippedURL{u.url, reason})
			continue
		}
		if seen[b.String()] {
			continue
		}
		seen[b.String()] = true
		m.Mirrors = append(m.Mirrors, MetalinkMirror{URL: u.url, Base: b.String(), Preference: u.preference, Location: u.location})
	}
	slices.SortStableFunc(m.Mirrors, func(a, b MetalinkMirror) int { return b.Preference - a.Preference })
}

// verifiable reports whether v has a hash rpmirror can trust.
func (v *MetalinkVersion) verifiable() bool {
	return slices.ContainsFunc(v.Hashes, func(c repodata.Checksum) bool { return strongHash(c.Type) })
}

// Verify returns the index in Versions of the version of repomd.xml that
// b is: 0 for the current one, 1 or more for an alternate. A version
// matches when it has at least one SHA-2 hash, every SHA-2 hash it lists
// matches, and its size, when given, is len(b); md5 and sha1 are not
// trusted and not checked. An error wraps source.ErrVerify.
func (m *Metalink) Verify(b []byte) (int, error) {
	sums := map[string][]byte{}
	for i := range m.Versions {
		v := &m.Versions[i]
		if !v.verifiable() || (v.Size >= 0 && v.Size != int64(len(b))) {
			continue
		}
		ok := true
		for _, c := range v.Hashes {
			if !strongHash(c.Type) {
				continue
			}
			sum, done := sums[c.Type]
			if !done {
				h, err := repodata.NewHash(c.Type)
				if err != nil {
					ok = false
					break
				}
				h.Write(b)
				sum = h.Sum(nil)
				sums[c.Type] = sum
			}
			want, _ := hex.DecodeString(c.Value)
			if subtle.ConstantTimeCompare(sum, want) != 1 {
				ok = false
				break
			}
		}
		if ok {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: repomd.xml (%d bytes) matches none of the %d versions the metalink lists", source.ErrVerify, len(b), len(m.Versions))
}

func isElem(t xml.StartElement, ns, local string) bool {
	return t.Name.Space == ns && t.Name.Local == local
}

// attr returns the value of an attribute without a namespace.
func attr(t xml.StartElement, local string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// seenSet rejects a repeated singular element.
type seenSet map[string]bool

func (s *seenSet) once(t xml.StartElement) error {
	if *s == nil {
		*s = seenSet{}
	}
	if (*s)[t.Name.Local] {
		return fmt.Errorf("duplicate <%s>", t.Name.Local)
	}
	(*s)[t.Name.Local] = true
	return nil
}

func parseUint(s string) (int64, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a non-negative decimal number", truncate(s, 40))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", truncate(s, 40))
	}
	return v, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
