package repodata

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrFormat is wrapped by every error that reports malformed metadata:
// XML that is not well-formed, a required element or attribute that is
// missing, a value that does not parse, a count that does not add up, or
// a value a mirror must not trust (an unsafe href, an unknown checksum
// type). Errors that are not about the metadata are not wrapped with it:
// an error of the underlying reader (including a decompressor's, for a
// corrupt stream) is returned with the position added, and an error
// returned by a caller's callback is returned as is.
var ErrFormat = errors.New("repodata: malformed metadata")

// The readers use encoding/xml's Decoder in strict mode without a
// CharsetReader: metadata must be UTF-8 (createrepo_c and yum never wrote
// anything else), entities other than the five predefined ones and
// character references are errors, and DOCTYPE declarations are ignored
// rather than expanded.
//
// Memory: a reader holds at most one entry, but an entry, like any single
// text, is only as small as its input. Callers that read untrusted input
// bound it (io.LimitReader with a limit taken from the open-size in
// repomd.xml, or a fixed cap).

// rdDecoder wraps an xml.Decoder with the token helpers the readers of
// repomd.xml, primary.xml, filelists.xml and other.xml share.
type rdDecoder struct {
	d    *xml.Decoder
	src  *rdSource
	text []byte // scratch for element text, reused
}

func newRDDecoder(r io.Reader) *rdDecoder {
	src := &rdSource{r: r}
	return &rdDecoder{d: xml.NewDecoder(src), src: src}
}

// rdSource remembers the underlying reader's error so that a failing
// reader (a network error, a corrupt gzip stream) is not reported as
// malformed metadata.
type rdSource struct {
	r   io.Reader
	err error
}

func (s *rdSource) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// wrap adds where and the input offset to err, and ErrFormat unless err
// came from the underlying reader.
func (rd *rdDecoder) wrap(where string, err error) error {
	if rd.src.err != nil && errors.Is(err, rd.src.err) {
		return fmt.Errorf("repodata: read %s: byte %d: %w", where, rd.offset(), err)
	}
	return fmt.Errorf("%w: %s: byte %d: %w", ErrFormat, where, rd.offset(), err)
}

// offset is the input byte offset of the end of the last token read.
func (rd *rdDecoder) offset() int64 { return rd.d.InputOffset() }

// token returns the next token. Token, not RawToken: it checks that
// end tags match and resolves namespaces. Errors (io.EOF, syntax errors,
// the reader's errors) are returned as is for the caller to wrap.
func (rd *rdDecoder) token() (xml.Token, error) {
	return rd.d.Token()
}

// root reads up to the document's root element, which must be named
// local in namespace ns (or in no namespace: some hand-made metadata omits
// xmlns). Only whitespace, comments, processing instructions and
// directives may come before it.
func (rd *rdDecoder) root(local, ns string) (xml.StartElement, error) {
	for {
		tok, err := rd.token()
		if err == io.EOF {
			return xml.StartElement{}, fmt.Errorf("no <%s> root element", local)
		}
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != local || (t.Name.Space != ns && t.Name.Space != "") {
				return t, fmt.Errorf("root element is <%s> in namespace %q, want <%s> in %q",
					t.Name.Local, t.Name.Space, local, ns)
			}
			return t, nil
		case xml.CharData:
			// A UTF-8 byte order mark decodes as U+FEFF text.
			if !rdIsSpace(bytes.TrimPrefix(t, []byte("\ufeff"))) {
				return xml.StartElement{}, fmt.Errorf("text before the root element")
			}
		}
	}
}

// trailer reads what follows the root element's end tag: only whitespace,
// comments and processing instructions may follow it.
func (rd *rdDecoder) trailer() error {
	for {
		tok, err := rd.token()
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
			if !rdIsSpace(t) {
				return fmt.Errorf("text after the root element")
			}
		}
	}
}

// readText returns the character data of the element whose start tag was
// just read and consumes its end tag. Child elements are skipped; their
// text is not included.
func (rd *rdDecoder) readText() (string, error) {
	rd.text = rd.text[:0]
	for {
		tok, err := rd.token()
		if err != nil {
			return "", rdUnexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			rd.text = append(rd.text, t...)
		case xml.StartElement:
			if err := rd.skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return string(rd.text), nil
		}
	}
}

// onceText reads the text of the singular element t into dst, failing if
// once already has bit.
func (rd *rdDecoder) onceText(once *rdOnce, bit rdOnce, t xml.StartElement, dst *string) error {
	if err := once.see(bit, t.Name.Local); err != nil {
		return err
	}
	s, err := rd.readText()
	*dst = s
	return err
}

// skip consumes the rest of the element whose start tag was just read.
func (rd *rdDecoder) skip() error {
	return rdUnexpectedEOF(rd.d.Skip())
}

// rdUnexpectedEOF turns io.EOF inside an element into
// io.ErrUnexpectedEOF. Decoder.Token already reports input cut short
// inside an element as a syntax error; this keeps any io.EOF from being
// mistaken for a clean end by the loops that stop at io.EOF.
func rdUnexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func rdIsSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// rdAttr returns the value of the attribute with the given local name and
// whether it is present. Namespaces are ignored: rpm-md uses each local
// name once per element, and xml:base is found as "base".
func rdAttr(attrs []xml.Attr, local string) (string, bool) {
	for i := range attrs {
		if attrs[i].Name.Local == local {
			return attrs[i].Value, true
		}
	}
	return "", false
}

// rdUint parses a non-negative decimal number: digits only, no sign, no
// spaces (callers trim where the format allows padding).
func rdUint(s string) (uint64, error) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, fmt.Errorf("%q is not a non-negative decimal number", s)
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a non-negative decimal number", s)
	}
	return v, nil
}

// rdInt64 is rdUint for values stored as int64; they must fit.
func rdInt64(s string) (int64, error) {
	v, err := rdUint(s)
	if err != nil {
		return 0, err
	}
	if v > 1<<63-1 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return int64(v), nil
}

// rdChecksumHexLen maps the checksum types rpm-md uses to the length of
// their hex digest. "sha" is SHA-1 as old yum spelled it; createrepo_c
// still writes it for --checksum sha.
var rdChecksumHexLen = map[string]int{
	"md5":    32,
	"sha":    40,
	"sha1":   40,
	"sha224": 56,
	"sha256": 64,
	"sha384": 96,
	"sha512": 128,
}

// checkChecksum reports whether c has a known type and a lower-case hex
// value of the length that type produces.
func checkChecksum(c Checksum) error {
	n, ok := rdChecksumHexLen[c.Type]
	if !ok {
		if c.Type == "" {
			return fmt.Errorf("checksum without a type")
		}
		return fmt.Errorf("unknown checksum type %q", c.Type)
	}
	if len(c.Value) != n {
		return fmt.Errorf("%s checksum %q has %d characters, want %d", c.Type, c.Value, len(c.Value), n)
	}
	for i := 0; i < len(c.Value); i++ {
		if ch := c.Value[i]; (ch < '0' || ch > '9') && (ch < 'a' || ch > 'f') {
			return fmt.Errorf("%s checksum %q is not lower-case hex", c.Type, c.Value)
		}
	}
	return nil
}

// CheckHref reports whether href is safe to use as a path inside a
// repository: a mirror joins it to its own root to store the file, and
// must never write outside that root or under a name other clients would
// resolve differently. It returns an error wrapping ErrFormat unless href
//
//   - is not empty and contains no backslash, NUL or other ASCII control
//     character;
//   - is relative (does not start with "/") and has no scheme or drive
//     (no ":" in its first segment);
//   - has no "." or ".." segment and no empty segment, i.e. is its own
//     path.Clean;
//   - contains none of "%", "?" and "#", which a URL would decode or cut
//     off, so that the stored name and the served URL stay the same.
//
// ParseRepomd applies it to every record. The package readers do not: a
// caller decides per package, so that one bad href need not reject a whole
// primary.xml.
func CheckHref(href string) error {
	if err := checkHref(href); err != nil {
		return fmt.Errorf("%w: href %q: %w", ErrFormat, href, err)
	}
	return nil
}

func checkHref(href string) error {
	if href == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(href); i++ {
		switch c := href[i]; {
		case c < 0x20 || c == 0x7f:
			return errors.New("control character")
		case c == '\\':
			return errors.New("backslash")
		case c == '%' || c == '?' || c == '#':
			return fmt.Errorf("%q would be interpreted in a URL", c)
		}
	}
	if href[0] == '/' {
		return errors.New("absolute path")
	}
	first, _, _ := strings.Cut(href, "/")
	if strings.Contains(first, ":") {
		return errors.New("has a scheme or drive")
	}
	if href == ".." || strings.HasPrefix(href, "../") {
		return errors.New("outside the repository")
	}
	if path.Clean(href) != href {
		return errors.New("not a clean path (., .. or empty segment)")
	}
	return nil
}

// rdValidText reports whether s can be written as XML 1.0 character data:
// valid UTF-8 made of characters XML allows.
func rdValidText(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return false
		}
		if (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += n
	}
	return true
}

// docReader walks the entries of primary.xml, filelists.xml or
// other.xml: a root element with a packages="N" attribute and N
// <package> children. It checks the count and keeps the first error.
type docReader struct {
	rd    *rdDecoder
	file  string // "primary.xml", for messages
	count int    // the root's packages attribute; -1 when absent
	n     int    // entries started so far
	name  string // name of the entry being read, for messages
	err   error  // sticky: io.EOF after the end, or the first error
}

// open reads the XML declaration and the root element.
func (dr *docReader) open(r io.Reader, file, root, ns string) error {
	dr.rd = newRDDecoder(r)
	dr.file = file
	dr.count = -1
	start, err := dr.rd.root(root, ns)
	if err != nil {
		return dr.fail(err)
	}
	if v, ok := rdAttr(start.Attr, "packages"); ok {
		n, err := rdUint(strings.TrimSpace(v))
		if err != nil || n > 1<<31-1 {
			return dr.fail(fmt.Errorf("<%s packages=%q>: not a package count", root, v))
		}
		dr.count = int(n)
	}
	return nil
}

// next advances to the next <package> start tag. At the root's end tag it
// checks the count and the trailer and returns io.EOF. Other elements at
// the top level are skipped.
func (dr *docReader) next() (xml.StartElement, error) {
	if dr.err != nil {
		return xml.StartElement{}, dr.err
	}
	dr.name = ""
	for {
		tok, err := dr.rd.token()
		if err != nil {
			return xml.StartElement{}, dr.fail(rdUnexpectedEOF(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "package" {
				if err := dr.rd.skip(); err != nil {
					return xml.StartElement{}, dr.fail(err)
				}
				continue
			}
			dr.n++
			if dr.count >= 0 && dr.n > dr.count {
				return xml.StartElement{}, dr.fail(fmt.Errorf("more than the %d packages the root element declares", dr.count))
			}
			return t, nil
		case xml.EndElement:
			// The decoder checks nesting, so this is the root's end.
			if dr.count >= 0 && dr.n != dr.count {
				return xml.StartElement{}, dr.fail(fmt.Errorf("root element declares %d packages, found %d", dr.count, dr.n))
			}
			if err := dr.rd.trailer(); err != nil {
				return xml.StartElement{}, dr.fail(err)
			}
			dr.err = io.EOF
			return xml.StartElement{}, io.EOF
		}
	}
}

// fail records err, wrapped with the position (and ErrFormat unless the
// underlying reader failed), as the sticky error and returns it.
func (dr *docReader) fail(err error) error {
	if dr.err != nil && dr.err != io.EOF {
		return dr.err
	}
	where := dr.file
	if dr.n > 0 {
		where = fmt.Sprintf("%s: package %d", where, dr.n)
		if dr.name != "" {
			where += " (" + dr.name + ")"
		}
	}
	dr.err = dr.rd.wrap(where, err)
	return dr.err
}

// rdOnce tracks which singular child elements of an entry were seen: a
// second <checksum> or <location> is an error rather than a silent
// override, since dnf might read the other one.
type rdOnce uint32

func (o *rdOnce) see(bit rdOnce, elem string) error {
	if *o&bit != 0 {
		return fmt.Errorf("duplicate <%s>", elem)
	}
	*o |= bit
	return nil
}

// readAll calls fn for every value next returns until io.EOF, stopping
// at the first error (fn's returned as is).
func readAll[T any](next func() (T, error), fn func(T) error) error {
	for {
		v, err := next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}
