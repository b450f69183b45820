package repodata

import (
	"encoding/xml"
	"fmt"
	"io"
)

// FilelistsEntry is one <package> of filelists.xml: the identity of a
// package and every file it owns, in header order.
type FilelistsEntry struct {
	PkgID   string // the package's checksum value in primary.xml
	Name    string
	Arch    string
	Epoch   string
	Version string
	Release string
	Files   []File
}

// FilelistsReader reads the entries of a filelists.xml one at a time.
// Every entry must have a non-empty pkgid attribute; name, arch and
// <version> are stored as read (empty when absent); unknown elements are
// skipped and a <file> must not be empty.
type FilelistsReader struct {
	doc docReader
}

// NewFilelistsReader reads the root element of filelists.xml from r and
// returns a reader positioned before the first entry.
func NewFilelistsReader(r io.Reader) (*FilelistsReader, error) {
	fr := &FilelistsReader{}
	if err := fr.doc.open(r, "filelists.xml", "filelists", rdNSFilelists); err != nil {
		return nil, err
	}
	return fr, nil
}

// Count returns the number of packages the root element declares, or -1
// when it has no packages attribute. Next checks it.
func (fr *FilelistsReader) Count() int { return fr.doc.count }

// Next returns the next entry, a new value the caller may keep. After the
// last entry it returns io.EOF; after an error it returns that same error
// again.
func (fr *FilelistsReader) Next() (*FilelistsEntry, error) {
	start, err := fr.doc.next()
	if err != nil {
		return nil, err
	}
	e := &FilelistsEntry{}
	if err = fr.doc.entryHeader(start, &e.PkgID, &e.Name, &e.Arch); err == nil {
		err = fr.decode(e)
	}
	if err != nil {
		return nil, fr.doc.fail(err)
	}
	return e, nil
}

func (fr *FilelistsReader) decode(e *FilelistsEntry) error {
	rd := fr.doc.rd
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
			case "file":
				var f File
				if f, err = rdFile(rd, t); err == nil {
					e.Files = append(e.Files, f)
				}
			default:
				err = rd.skip()
			}
			if err != nil {
				return err
			}
		}
	}
}

// ReadFilelists calls fn for each entry of the filelists.xml read from r,
// in document order, each with a new *FilelistsEntry fn may keep. It stops
// at the first error and returns it; an error returned by fn is returned
// as is.
func ReadFilelists(r io.Reader, fn func(*FilelistsEntry) error) error {
	fr, err := NewFilelistsReader(r)
	if err != nil {
		return err
	}
	return readAll(fr.Next, fn)
}

// entryHeader reads the pkgid, name and arch attributes of a <package>
// of filelists.xml or other.xml.
func (dr *docReader) entryHeader(start xml.StartElement, pkgid, name, arch *string) error {
	*name, _ = rdAttr(start.Attr, "name")
	dr.name = *name
	*pkgid, _ = rdAttr(start.Attr, "pkgid")
	*arch, _ = rdAttr(start.Attr, "arch")
	if *pkgid == "" {
		return fmt.Errorf("<package> without a pkgid")
	}
	return nil
}

// rdEntryVersion reads the single <version> of a filelists or other
// entry.
func rdEntryVersion(rd *rdDecoder, t xml.StartElement, once *rdOnce, epoch, ver, rel *string) error {
	if err := once.see(1, "version"); err != nil {
		return err
	}
	*epoch, _ = rdAttr(t.Attr, "epoch")
	*ver, _ = rdAttr(t.Attr, "ver")
	*rel, _ = rdAttr(t.Attr, "rel")
	return rd.skip()
}
