package repodata

import (
	"errors"
	"io"
	"strconv"
)

// Namespaces of the rpm-md files.
const (
	NSCommon    = "http://linux.duke.edu/metadata/common"
	NSRPM       = "http://linux.duke.edu/metadata/rpm"
	NSFilelists = "http://linux.duke.edu/metadata/filelists"
	NSOther     = "http://linux.duke.edu/metadata/other"
	NSRepo      = "http://linux.duke.edu/metadata/repo"
)

// Kind is one of the three per-package metadata files.
type Kind uint8

const (
	Primary Kind = iota
	Filelists
	Other
)

// Kinds lists the per-package metadata files in repomd.xml order.
var Kinds = [...]Kind{Primary, Filelists, Other}

// String returns the repomd.xml record type: "primary", "filelists" or
// "other".
func (k Kind) String() string {
	switch k {
	case Primary:
		return "primary"
	case Filelists:
		return "filelists"
	case Other:
		return "other"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// AppendHeader appends the XML declaration and the opening root element,
// which carries the package count.
func (k Kind) AppendHeader(dst []byte, count int) []byte {
	dst = append(dst, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	switch k {
	case Primary:
		dst = append(dst, `<metadata xmlns="`+NSCommon+`" xmlns:rpm="`+NSRPM+`" packages="`...)
	case Filelists:
		dst = append(dst, `<filelists xmlns="`+NSFilelists+`" packages="`...)
	case Other:
		dst = append(dst, `<otherdata xmlns="`+NSOther+`" packages="`...)
	}
	dst = strconv.AppendInt(dst, int64(count), 10)
	return append(dst, "\">\n"...)
}

// Footer returns the closing root element. Like createrepo_c, no newline
// follows it.
func (k Kind) Footer() string {
	switch k {
	case Primary:
		return "</metadata>"
	case Filelists:
		return "</filelists>"
	}
	return "</otherdata>"
}

// AppendPackage appends the package's entry of this kind. The layout is
// createrepo_c's (libxml2's pretty printing), so that diffs between the
// two tools' output show only real differences.
func (k Kind) AppendPackage(dst []byte, p *Package) []byte {
	switch k {
	case Primary:
		return appendPrimary(dst, p)
	case Filelists:
		return appendFilelists(dst, p)
	}
	return appendOther(dst, p)
}

func appendPrimary(b []byte, p *Package) []byte {
	b = append(b, "<package type=\"rpm\">\n  <name>"...)
	b = appendText(b, p.Name)
	b = append(b, "</name>\n  <arch>"...)
	b = appendText(b, p.Arch)
	b = append(b, "</arch>\n"...)
	b = appendVersion(b, "  ", p)
	b = append(b, "  <checksum type=\""...)
	b = appendAttr(b, p.Checksum.Type)
	b = append(b, "\" pkgid=\"YES\">"...)
	b = appendText(b, p.Checksum.Value)
	b = append(b, "</checksum>\n"...)
	b = appendElem(b, "  ", "summary", p.Summary)
	b = appendElem(b, "  ", "description", p.Description)
	b = appendElem(b, "  ", "packager", p.Packager)
	b = appendElem(b, "  ", "url", p.URL)
	b = append(b, "  <time file=\""...)
	b = strconv.AppendInt(b, p.FileTime, 10)
	b = append(b, "\" build=\""...)
	b = strconv.AppendInt(b, p.BuildTime, 10)
	b = append(b, "\"/>\n  <size package=\""...)
	b = strconv.AppendUint(b, p.PackageSize, 10)
	b = append(b, "\" installed=\""...)
	b = strconv.AppendUint(b, p.InstalledSize, 10)
	b = append(b, "\" archive=\""...)
	b = strconv.AppendUint(b, p.ArchiveSize, 10)
	b = append(b, "\"/>\n  <location "...)
	if p.LocationBase != "" {
		b = append(b, "xml:base=\""...)
		b = appendAttr(b, p.LocationBase)
		b = append(b, "\" "...)
	}
	b = append(b, "href=\""...)
	b = appendAttr(b, p.LocationHref)
	b = append(b, "\"/>\n  <format>\n"...)
	b = appendElem(b, "    ", "rpm:license", p.License)
	b = appendElem(b, "    ", "rpm:vendor", p.Vendor)
	b = appendElem(b, "    ", "rpm:group", p.Group)
	b = appendElem(b, "    ", "rpm:buildhost", p.BuildHost)
	b = appendElem(b, "    ", "rpm:sourcerpm", p.SourceRPM)
	b = append(b, "    <rpm:header-range start=\""...)
	b = strconv.AppendUint(b, p.HeaderStart, 10)
	b = append(b, "\" end=\""...)
	b = strconv.AppendUint(b, p.HeaderEnd, 10)
	b = append(b, "\"/>\n"...)
	// createrepo_c's order, which is not the struct's.
	b = appendDeps(b, "rpm:provides", p.Provides, false)
	b = appendDeps(b, "rpm:requires", p.Requires, true)
	b = appendDeps(b, "rpm:conflicts", p.Conflicts, false)
	b = appendDeps(b, "rpm:obsoletes", p.Obsoletes, false)
	b = appendDeps(b, "rpm:suggests", p.Suggests, false)
	b = appendDeps(b, "rpm:enhances", p.Enhances, false)
	b = appendDeps(b, "rpm:recommends", p.Recommends, false)
	b = appendDeps(b, "rpm:supplements", p.Supplements, false)
	for i := range p.Files {
		if IsPrimaryFile(p.Files[i].Path) {
			b = appendFile(b, "    ", &p.Files[i])
		}
	}
	return append(b, "  </format>\n</package>\n"...)
}

func appendFilelists(b []byte, p *Package) []byte {
	b = appendPkgStart(b, p)
	for i := range p.Files {
		b = appendFile(b, "  ", &p.Files[i])
	}
	return append(b, "</package>\n"...)
}

func appendOther(b []byte, p *Package) []byte {
	b = appendPkgStart(b, p)
	for _, c := range p.Changelogs {
		b = append(b, "  <changelog author=\""...)
		b = appendAttr(b, c.Author)
		b = append(b, "\" date=\""...)
		b = strconv.AppendInt(b, c.Date, 10)
		b = append(b, "\">"...)
		b = appendText(b, c.Text)
		b = append(b, "</changelog>\n"...)
	}
	return append(b, "</package>\n"...)
}

func appendPkgStart(b []byte, p *Package) []byte {
	b = append(b, "<package pkgid=\""...)
	b = appendAttr(b, p.Checksum.Value)
	b = append(b, "\" name=\""...)
	b = appendAttr(b, p.Name)
	b = append(b, "\" arch=\""...)
	b = appendAttr(b, p.Arch)
	b = append(b, "\">\n"...)
	return appendVersion(b, "  ", p)
}

func appendVersion(b []byte, indent string, p *Package) []byte {
	b = append(b, indent...)
	b = append(b, "<version epoch=\""...)
	b = appendAttr(b, p.Epoch)
	b = append(b, "\" ver=\""...)
	b = appendAttr(b, p.Version)
	b = append(b, "\" rel=\""...)
	b = appendAttr(b, p.Release)
	return append(b, "\"/>\n"...)
}

func appendElem(b []byte, indent, name, text string) []byte {
	b = append(b, indent...)
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendText(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

func appendFile(b []byte, indent string, f *File) []byte {
	b = append(b, indent...)
	if t := f.Type.String(); t != "" {
		b = append(b, "<file type=\""...)
		b = append(b, t...)
		b = append(b, "\">"...)
	} else {
		b = append(b, "<file>"...)
	}
	b = appendText(b, f.Path)
	return append(b, "</file>\n"...)
}

// appendDeps writes one dependency list. Entries with an empty name are
// dropped and an empty list writes nothing, as createrepo_c does
// (it writes an empty element, which means the same).
func appendDeps(b []byte, elem string, deps []Dependency, requires bool) []byte {
	opened := false
	for i := range deps {
		d := &deps[i]
		if d.Name == "" {
			continue
		}
		if !opened {
			b = append(b, "    <"...)
			b = append(b, elem...)
			b = append(b, ">\n"...)
			opened = true
		}
		b = append(b, "      <rpm:entry name=\""...)
		b = appendAttr(b, d.Name)
		b = append(b, '"')
		if d.Flags != "" {
			b = append(b, " flags=\""...)
			b = appendAttr(b, d.Flags)
			b = append(b, '"')
			if d.Epoch != "" {
				b = append(b, " epoch=\""...)
				b = appendAttr(b, d.Epoch)
				b = append(b, '"')
			}
			if d.Version != "" {
				b = append(b, " ver=\""...)
				b = appendAttr(b, d.Version)
				b = append(b, '"')
			}
			if d.Release != "" {
				b = append(b, " rel=\""...)
				b = appendAttr(b, d.Release)
				b = append(b, '"')
			}
		}
		if requires && d.Pre {
			b = append(b, " pre=\"1\""...)
		}
		b = append(b, "/>\n"...)
	}
	if opened {
		b = append(b, "    </"...)
		b = append(b, elem...)
		b = append(b, ">\n"...)
	}
	return b
}

// appendText escapes character data the way libxml2 does: &, <, > and
// carriage return (which a parser would otherwise normalise away).
func appendText(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// appendAttr escapes an attribute value for a double-quoted attribute.
// Tab, newline and carriage return are written as character references
// because attribute-value normalisation would turn them into spaces.
func appendAttr(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\t':
			esc = "&#9;"
		case '\n':
			esc = "&#10;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

// ErrWriterClosed is returned by a Writer used after Close.
var ErrWriterClosed = errors.New("repodata: write to closed metadata writer")

// Writer streams one metadata file of a Kind. The package count of the
// root element must be known up front, as in the file format. Errors are
// sticky: after a failed write every call returns the same error. Close
// writes the closing element but does not close the underlying writer.
// A Writer is not safe for concurrent use.
type Writer struct {
	w      io.Writer
	kind   Kind
	buf    []byte
	err    error
	closed bool
}

// NewWriter writes the header of a kind's file for count packages.
func NewWriter(w io.Writer, kind Kind, count int) *Writer {
	mw := &Writer{w: w, kind: kind}
	mw.buf = kind.AppendHeader(mw.buf[:0], count)
	mw.flush(false)
	return mw
}

// WritePackage writes one package entry.
func (w *Writer) WritePackage(p *Package) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrWriterClosed
	}
	w.buf = w.kind.AppendPackage(w.buf[:0], p)
	return w.flush(false)
}

// Close writes the closing root element.
func (w *Writer) Close() error {
	if w.closed || w.err != nil {
		return w.err
	}
	w.closed = true
	w.buf = append(w.buf[:0], w.kind.Footer()...)
	return w.flush(true)
}

func (w *Writer) flush(final bool) error {
	if w.err != nil {
		return w.err
	}
	_, w.err = w.w.Write(w.buf)
	if cap(w.buf) > 1<<20 && !final {
		w.buf = nil // don't keep one huge package's buffer forever
	}
	return w.err
}
