package repodata

import (
	"encoding/xml"
	"fmt"
	"io"
)

// OtherEntry is one <package> of other.xml: the identity of a package and
// its changelog entries, in document order (createrepo_c writes them
// oldest first).
type OtherEntry struct {
	PkgID      string // the package's checksum value in primary.xml
	Name       string
	Arch       string
	Epoch      string
	Version    string
	Release    string
	Changelogs []Changelog
}

// OtherReader reads the entries of an other.xml one at a time. Every
// entry must have a non-empty pkgid attribute; name, arch and <version>
// are stored as read (empty when absent); unknown elements are skipped. A
// <changelog> without a date attribute has Date 0.
type OtherReader struct {
	doc docReader
}

// NewOtherReader reads the root element of other.xml from r and returns a
// reader positioned before the first entry.
func NewOtherReader(r io.Reader) (*OtherReader, error) {
	or := &OtherReader{}
	if err := or.doc.open(r, "other.xml", "otherdata", rdNSOther); err != nil {
		return nil, err
	}
	return or, nil
}

// Count returns the number of packages the root element declares, or -1
// when it has no packages attribute. Next checks it.
func (or *OtherReader) Count() int { return or.doc.count }

// Next returns the next entry, a new value the caller may keep. After the
// last entry it returns io.EOF; after an error it returns that same error
// again.
func (or *OtherReader) Next() (*OtherEntry, error) {
	start, err := or.doc.next()
	if err != nil {
		return nil, err
	}
	e := &OtherEntry{}
	if err = or.doc.entryHeader(start, &e.PkgID, &e.Name, &e.Arch); err == nil {
		err = or.decode(e)
	}
	if err != nil {
		return nil, or.doc.fail(err)
	}
	return e, nil
}

func (or *OtherReader) decode(e *OtherEntry) error {
	rd := or.doc.rd
	var once rdOnce
	for {
		tok, err := rd.token()
		if err != nil {
			return rdUnexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			switch t.Name.Local {
			case "version":
				err = rdEntryVersion(rd, t, &once, &e.Epoch, &e.Version, &e.Release)
			case "changelog":
				var c Changelog
				c.Author, _ = rdAttr(t.Attr, "author")
				if err = rdInt64Attr(t, "date", &c.Date); err != nil {
					return err
				}
				if c.Text, err = rd.readText(); err == nil {
					e.Changelogs = append(e.Changelogs, c)
				}
			default:
				err = rd.skip()
			}
			if err != nil {
				return fmt.Errorf("<%s>: %w", t.Name.Local, err)
			}
		}
	}
}

// ReadOther calls fn for each entry of the other.xml read from r, in
// document order, each with a new *OtherEntry fn may keep. It stops at the
// first error and returns it; an error returned by fn is returned as is.
func ReadOther(r io.Reader, fn func(*OtherEntry) error) error {
	or, err := NewOtherReader(r)
	if err != nil {
		return err
	}
	return readAll(or.Next, fn)
}
