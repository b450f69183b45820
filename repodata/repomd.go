package repodata

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

const (
	mdNSRepo = "http://linux.duke.edu/metadata/repo"
	mdNSRPM  = "http://linux.duke.edu/metadata/rpm"
)

// Repomd is repodata/repomd.xml: the index of a repository's metadata
// files, the one file clients fetch first and verify everything else
// against.
type Repomd struct {
	// Revision is the text of <revision>; createrepo_c defaults it to the
	// Unix time of the run. Empty when absent.
	Revision string
	Tags     Tags
	// Records are the <data> elements, at most one per type. ParseRepomd
	// keeps document order; WriteRepomd writes them in createrepo_c's
	// order whatever their order here.
	Records []Record
}

// Tags are the optional <tags> of repomd.xml, each list in document order.
type Tags struct {
	Content []string // <content>
	Repo    []string // <repo>
	Distro  []Distro // <distro cpeid="...">
}

// Distro is a <distro> tag: a name with an optional CPE ID.
type Distro struct {
	CPEID string // the cpeid attribute; empty when absent
	Name  string
}

// Record is one <data type="..."> of repomd.xml: one metadata file.
type Record struct {
	Type string // "primary", "filelists", "other", "primary_db", "group", ...

	// Checksum is the digest of the file as stored (compressed); it is
	// the one dnf verifies.
	Checksum Checksum
	// OpenChecksum is the digest of the uncompressed content; the zero
	// Checksum when absent (uncompressed files, and createrepo_c's
	// group_gz).
	OpenChecksum Checksum
	// HeaderChecksum is the digest of a zchunk file's header; the zero
	// Checksum for other files.
	HeaderChecksum Checksum

	// Href is the file's path relative to the repository root
	// (<location href>), "repodata/<name>" as createrepo_c writes it.
	Href string
	// Base is the xml:base attribute of <location>, a URL the file is
	// fetched from instead of the repository; empty when absent.
	// createrepo_c never writes one for its own files.
	Base string

	Timestamp int64 // <timestamp>: the file's mtime, Unix seconds
	Size      int64 // <size>: the file's size

	// OpenSize is the uncompressed size, -1 when absent: 0 is a real
	// open-size (an empty file compressed). createrepo_c uses the same
	// sentinel and writes <open-size> whenever it is not -1, so a Record
	// built by hand must set OpenSize: -1 for a file without one.
	OpenSize int64
	// HeaderSize is a zchunk file's header size, 0 when absent (a zchunk
	// header is never empty). It is written only with HeaderChecksum, as
	// by createrepo_c.
	HeaderSize int64

	// DatabaseVersion is <database_version>, which createrepo_c writes
	// for every *_db record (10 for its sqlite files) and never for other
	// records; 0 when absent.
	DatabaseVersion int
}

// Record returns the record of type typ, or nil.
func (md *Repomd) Record(typ string) *Record {
	for i := range md.Records {
		if md.Records[i].Type == typ {
			return &md.Records[i]
		}
	}
	return nil
}

// ParseRepomd reads repomd.xml from r.
//
// It is tolerant of what real repositories contain: <data> children in
// any order, unknown elements (<repoid>, <contenthash>, anything newer)
// skipped, records without <open-checksum>, <size> or <timestamp> (0 when
// absent), timestamps with a fraction as old yum wrote them
// ("1257935775.0", truncated), whitespace around numbers and checksums.
// Like createrepo_c, it keeps <database_version> only for *_db records and
// <header-size> only with a <header-checksum>; a <header-size> of 0 reads
// as absent.
//
// It is strict about what a mirror must trust, and returns an error
// wrapping ErrFormat when the root is not <repomd>, a record has no type
// or a type seen before, a record has no <location href> or one that
// CheckHref rejects, a record lacks <checksum>, a checksum (any of the
// three) has an unknown type or a value that is not lower-case hex of the
// length its type gives, a singular element is repeated within a record,
// or a number is not a non-negative decimal. Errors name the record and
// the byte offset.
//
// ParseRepomd reads until the end of r. It does not bound its input:
// callers reading from the network wrap r in an io.LimitReader (real
// repomd.xml files are a few KiB; 1 MiB is generous).
func ParseRepomd(r io.Reader) (*Repomd, error) {
	p := mdParser{rd: newRDDecoder(r)}
	md, err := p.parse()
	if err != nil {
		where := "repomd.xml"
		if p.record != "" {
			where += fmt.Sprintf(": <data type=%q>", p.record)
		}
		return nil, p.rd.wrap(where, err)
	}
	return md, nil
}

type mdParser struct {
	rd     *rdDecoder
	record string // type of the record being read, for messages
}

func (p *mdParser) parse() (*Repomd, error) {
	rd := p.rd
	if _, err := rd.root("repomd", mdNSRepo); err != nil {
		return nil, err
	}
	md := &Repomd{}
	var sawRevision bool
	for {
		tok, err := rd.token()
		if err != nil {
			return nil, rdUnexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if err := rd.trailer(); err != nil {
				return nil, err
			}
			return md, nil
		case xml.StartElement:
			switch t.Name.Local {
			case "revision":
				if sawRevision {
					return nil, fmt.Errorf("duplicate <revision>")
				}
				sawRevision = true
				md.Revision, err = rd.readText()
			case "tags":
				err = p.tags(&md.Tags)
			case "data":
				var rec Record
				if rec, err = p.data(t); err == nil {
					if md.Record(rec.Type) != nil {
						return nil, fmt.Errorf("duplicate record")
					}
					md.Records = append(md.Records, rec)
					p.record = ""
				}
			default:
				err = rd.skip()
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func (p *mdParser) tags(tags *Tags) error {
	rd := p.rd
	for {
		tok, err := rd.token()
		if err != nil {
			return rdUnexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			var s string
			switch t.Name.Local {
			case "content":
				s, err = rd.readText()
				tags.Content = append(tags.Content, s)
			case "repo":
				s, err = rd.readText()
				tags.Repo = append(tags.Repo, s)
			case "distro":
				cpeid, _ := rdAttr(t.Attr, "cpeid")
				s, err = rd.readText()
				tags.Distro = append(tags.Distro, Distro{CPEID: cpeid, Name: s})
			default:
				err = rd.skip()
			}
			if err != nil {
				return err
			}
		}
	}
}

const (
	mdChecksum rdOnce = 1 << iota
	mdOpenChecksum
	mdHeaderChecksum
	mdLocation
	mdTimestamp
	mdSize
	mdOpenSize
	mdHeaderSize
	mdDatabaseVersion
)

func (p *mdParser) data(start xml.StartElement) (Record, error) {
	rd := p.rd
	rec := Record{OpenSize: -1}
	rec.Type, _ = rdAttr(start.Attr, "type")
	if rec.Type == "" {
		return rec, fmt.Errorf("<data> without a type")
	}
	p.record = rec.Type
	var once rdOnce
	for {
		tok, err := rd.token()
		if err != nil {
			return rec, rdUnexpectedEOF(err)
		}
		var t xml.StartElement
		switch tt := tok.(type) {
		case xml.EndElement:
			return rec, mdCheckRecord(&rec, once)
		case xml.StartElement:
			t = tt
		default:
			continue
		}
		name := t.Name.Local
		switch name {
		case "checksum":
			err = p.checksum(t, &once, mdChecksum, &rec.Checksum)
		case "open-checksum":
			err = p.checksum(t, &once, mdOpenChecksum, &rec.OpenChecksum)
		case "header-checksum":
			err = p.checksum(t, &once, mdHeaderChecksum, &rec.HeaderChecksum)
		case "location":
			if err := once.see(mdLocation, name); err != nil {
				return rec, err
			}
			rec.Href, _ = rdAttr(t.Attr, "href")
			rec.Base, _ = rdAttr(t.Attr, "base")
			err = rd.skip()
		case "timestamp":
			err = p.number(t, &once, mdTimestamp, &rec.Timestamp)
		case "size":
			err = p.number(t, &once, mdSize, &rec.Size)
		case "open-size":
			err = p.number(t, &once, mdOpenSize, &rec.OpenSize)
		case "header-size":
			err = p.number(t, &once, mdHeaderSize, &rec.HeaderSize)
		case "database_version":
			var v int64
			if err = p.number(t, &once, mdDatabaseVersion, &v); err == nil {
				if v > 1<<31-1 {
					return rec, fmt.Errorf("<database_version> %d out of range", v)
				}
				rec.DatabaseVersion = int(v)
			}
		default:
			err = rd.skip()
		}
		if err != nil {
			return rec, err
		}
	}
}

func (p *mdParser) checksum(t xml.StartElement, once *rdOnce, bit rdOnce, dst *Checksum) error {
	if err := once.see(bit, t.Name.Local); err != nil {
		return err
	}
	dst.Type, _ = rdAttr(t.Attr, "type")
	v, err := p.rd.readText()
	if err != nil {
		return err
	}
	dst.Value = strings.TrimSpace(v)
	if err := checkChecksum(*dst); err != nil {
		return fmt.Errorf("<%s>: %w", t.Name.Local, err)
	}
	return nil
}

// number reads a non-negative decimal. <timestamp> may have a fraction,
// which old yum wrote and which is dropped.
func (p *mdParser) number(t xml.StartElement, once *rdOnce, bit rdOnce, dst *int64) error {
	if err := once.see(bit, t.Name.Local); err != nil {
		return err
	}
	s, err := p.rd.readText()
	if err != nil {
		return err
	}
	s = strings.TrimSpace(s)
	if bit == mdTimestamp {
		if i, frac, ok := strings.Cut(s, "."); ok && frac != "" && strings.Trim(frac, "0123456789") == "" {
			s = i
		}
	}
	v, err := rdInt64(s)
	if err != nil {
		return fmt.Errorf("<%s>: %w", t.Name.Local, err)
	}
	*dst = v
	return nil
}

// mdCheckRecord checks what every record needs and drops what
// createrepo_c would not write back.
func mdCheckRecord(rec *Record, once rdOnce) error {
	if once&mdChecksum == 0 {
		return fmt.Errorf("no <checksum>")
	}
	if once&mdLocation == 0 {
		return fmt.Errorf("no <location>")
	}
	if err := checkHref(rec.Href); err != nil {
		return fmt.Errorf("<location href=%q>: %w", rec.Href, err)
	}
	if rec.HeaderChecksum == (Checksum{}) {
		rec.HeaderSize = 0
	}
	if !strings.HasSuffix(rec.Type, "_db") {
		rec.DatabaseVersion = 0
	}
	return nil
}

// WriteRepomd writes md as repomd.xml to w, byte for byte as createrepo_c
// 0.17.3 does for the same content: the XML declaration, the <repomd>
// root with the repo and rpm namespaces, <revision>, <tags> when there is
// any tag (content, then repo, then distro tags), and the records sorted
// primary, filelists, other, primary_db, filelists_db, other_db,
// primary_zck, filelists_zck, other_zck, then the other types in byte
// order. Within a record, <open-checksum> and <header-checksum> appear
// when set, <open-size> when not -1, <header-size> when not 0 and there
// is a header checksum, and <database_version> for every *_db type.
// Indentation is two spaces; text and attributes are escaped as libxml2
// escapes them.
//
// WriteRepomd writes nothing unless md is valid, so that what it writes
// ParseRepomd reads back as md (with records in the written order). It
// returns an error wrapping ErrFormat when a record fails the checks
// ParseRepomd makes, when two records share a type, when OpenSize is below
// -1 or another number is negative, when HeaderSize
// is set without a HeaderChecksum, when DatabaseVersion is set on a
// record whose type does not end in "_db", or when a string cannot be
// written as XML (invalid UTF-8, control characters other than tab, LF
// and CR). The output is deterministic: it depends on md only. md is not
// modified.
func WriteRepomd(w io.Writer, md *Repomd) error {
	b, err := marshalRepomd(md)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// mdTypeRank is createrepo_c's record_type_value (src/repomd.c).
func mdTypeRank(typ string) int {
	switch typ {
	case "primary":
		return 1
	case "filelists":
		return 2
	case "other":
		return 3
	case "primary_db":
		return 4
	case "filelists_db":
		return 5
	case "other_db":
		return 6
	case "primary_zck":
		return 7
	case "filelists_zck":
		return 8
	case "other_zck":
		return 9
	}
	return 10
}

// SortRecords sorts records in place in createrepo_c's order
// (cr_repomd_sort_records): primary, filelists, other, primary_db,
// filelists_db, other_db, primary_zck, filelists_zck, other_zck, then
// the other types in byte order, then by href and base. WriteRepomd
// sorts its own copy the same way.
func SortRecords(records []Record) {
	slices.SortStableFunc(records, func(a, b Record) int {
		return cmp.Or(
			cmp.Compare(mdTypeRank(a.Type), mdTypeRank(b.Type)),
			strings.Compare(a.Type, b.Type),
			strings.Compare(a.Href, b.Href),
			strings.Compare(a.Base, b.Base),
		)
	})
}

func marshalRepomd(md *Repomd) ([]byte, error) {
	if err := mdValidate(md); err != nil {
		return nil, fmt.Errorf("%w: write repomd.xml: %w", ErrFormat, err)
	}
	recs := slices.Clone(md.Records)
	SortRecords(recs)

	var w mdWriter
	w.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	w.WriteString("<repomd xmlns=\"" + mdNSRepo + "\" xmlns:rpm=\"" + mdNSRPM + "\">\n")
	w.textElem("  ", "revision", "", "", md.Revision)
	t := md.Tags
	if len(t.Content) > 0 || len(t.Repo) > 0 || len(t.Distro) > 0 {
		w.WriteString("  <tags>\n")
		for _, s := range t.Content {
			w.textElem("    ", "content", "", "", s)
		}
		for _, s := range t.Repo {
			w.textElem("    ", "repo", "", "", s)
		}
		for _, d := range t.Distro {
			if d.CPEID != "" {
				w.textElem("    ", "distro", "cpeid", d.CPEID, d.Name)
			} else {
				w.textElem("    ", "distro", "", "", d.Name)
			}
		}
		w.WriteString("  </tags>\n")
	}
	for i := range recs {
		w.record(&recs[i])
	}
	w.WriteString("</repomd>\n")
	return w.Bytes(), nil
}

type mdWriter struct{ bytes.Buffer }

func (w *mdWriter) record(r *Record) {
	w.WriteString("  <data type=\"")
	mdEscapeAttr(&w.Buffer, r.Type)
	w.WriteString("\">\n")
	w.textElem("    ", "checksum", "type", r.Checksum.Type, r.Checksum.Value)
	if r.OpenChecksum != (Checksum{}) {
		w.textElem("    ", "open-checksum", "type", r.OpenChecksum.Type, r.OpenChecksum.Value)
	}
	if r.HeaderChecksum != (Checksum{}) {
		w.textElem("    ", "header-checksum", "type", r.HeaderChecksum.Type, r.HeaderChecksum.Value)
	}
	w.WriteString("    <location href=\"")
	mdEscapeAttr(&w.Buffer, r.Href)
	if r.Base != "" {
		w.WriteString("\" xml:base=\"")
		mdEscapeAttr(&w.Buffer, r.Base)
	}
	w.WriteString("\"/>\n")
	w.numElem("timestamp", r.Timestamp)
	w.numElem("size", r.Size)
	if r.OpenSize != -1 {
		w.numElem("open-size", r.OpenSize)
	}
	if r.HeaderChecksum != (Checksum{}) && r.HeaderSize != 0 {
		w.numElem("header-size", r.HeaderSize)
	}
	if strings.HasSuffix(r.Type, "_db") {
		w.numElem("database_version", int64(r.DatabaseVersion))
	}
	w.WriteString("  </data>\n")
}

// textElem writes indent<name attr="val">text</name>\n; attr may be
// empty. libxml2 writes an element with empty text as <name></name>.
func (w *mdWriter) textElem(indent, name, attr, val, text string) {
	w.WriteString(indent)
	w.WriteByte('<')
	w.WriteString(name)
	if attr != "" {
		w.WriteByte(' ')
		w.WriteString(attr)
		w.WriteString("=\"")
		mdEscapeAttr(&w.Buffer, val)
		w.WriteByte('"')
	}
	w.WriteByte('>')
	mdEscapeText(&w.Buffer, text)
	w.WriteString("</")
	w.WriteString(name)
	w.WriteString(">\n")
}

func (w *mdWriter) numElem(name string, v int64) {
	w.WriteString("    <")
	w.WriteString(name)
	w.WriteByte('>')
	w.WriteString(strconv.FormatInt(v, 10))
	w.WriteString("</")
	w.WriteString(name)
	w.WriteString(">\n")
}

// mdEscapeText and mdEscapeAttr escape as the package and record
// writers do (appendText, appendAttr: libxml2's rules), into a buffer.
func mdEscapeText(b *bytes.Buffer, s string) { b.Write(appendText(b.AvailableBuffer(), s)) }

func mdEscapeAttr(b *bytes.Buffer, s string) { b.Write(appendAttr(b.AvailableBuffer(), s)) }

// mdValidate checks md against what ParseRepomd accepts.
func mdValidate(md *Repomd) error {
	text := func(what, s string) error {
		if !rdValidText(s) {
			return fmt.Errorf("%s %q: not valid XML text", what, s)
		}
		return nil
	}
	if err := text("revision", md.Revision); err != nil {
		return err
	}
	for _, s := range md.Tags.Content {
		if err := text("content tag", s); err != nil {
			return err
		}
	}
	for _, s := range md.Tags.Repo {
		if err := text("repo tag", s); err != nil {
			return err
		}
	}
	for _, d := range md.Tags.Distro {
		if err := rdFirst(text("distro tag", d.Name), text("distro cpeid", d.CPEID)); err != nil {
			return err
		}
	}
	seen := make(map[string]bool, len(md.Records))
	for i := range md.Records {
		r := &md.Records[i]
		if err := mdValidateRecord(r); err != nil {
			return fmt.Errorf("record %q: %w", r.Type, err)
		}
		if seen[r.Type] {
			return fmt.Errorf("record %q: duplicate type", r.Type)
		}
		seen[r.Type] = true
	}
	return nil
}

func mdValidateRecord(r *Record) error {
	if r.Type == "" {
		return fmt.Errorf("no type")
	}
	if !rdValidText(r.Type) || !rdValidText(r.Base) {
		return fmt.Errorf("type or base is not valid XML text")
	}
	if err := checkHref(r.Href); err != nil {
		return fmt.Errorf("href %q: %w", r.Href, err)
	}
	if err := checkChecksum(r.Checksum); err != nil {
		return err
	}
	for _, c := range []Checksum{r.OpenChecksum, r.HeaderChecksum} {
		if c == (Checksum{}) {
			continue
		}
		if err := checkChecksum(c); err != nil {
			return err
		}
	}
	switch {
	case r.Timestamp < 0 || r.Size < 0 || r.HeaderSize < 0 || r.DatabaseVersion < 0:
		return fmt.Errorf("negative timestamp, size, header-size or database version")
	case r.OpenSize < -1:
		return fmt.Errorf("open-size below -1")
	case r.HeaderSize != 0 && r.HeaderChecksum == (Checksum{}):
		return fmt.Errorf("header-size without header-checksum")
	case r.DatabaseVersion != 0 && !strings.HasSuffix(r.Type, "_db"):
		return fmt.Errorf("database_version on a record that is not *_db")
	}
	return nil
}
