package repodata

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

const (
	rdNSCommon    = "http://linux.duke.edu/metadata/common"
	rdNSFilelists = "http://linux.duke.edu/metadata/filelists"
	rdNSOther     = "http://linux.duke.edu/metadata/other"
)

// PrimaryReader reads the packages of a primary.xml one at a time.
//
// Elements are matched by local name, so any prefix bound to the rpm
// namespace works; unknown elements and attributes are skipped. Every
// package must have a non-empty <name> and <arch>, a <version>, a
// <checksum> of a known type whose value has the right length (it is the
// pkgid that links filelists.xml and other.xml), and a <location> with a
// non-empty href; a singular element may appear only once per package.
// The href is not checked for safety: see CheckHref.
//
// Values are stored as read: an epoch attribute that is absent gives an
// empty Epoch, numbers must be non-negative decimal integers when present
// and are zero when absent. Files holds the <file> entries of primary.xml,
// which are only the primary files (see IsPrimaryFile); Changelogs stays
// empty.
type PrimaryReader struct {
	doc docReader
}

// NewPrimaryReader reads the root element of primary.xml from r and
// returns a reader positioned before the first package. Errors about the
// document wrap ErrFormat.
func NewPrimaryReader(r io.Reader) (*PrimaryReader, error) {
	pr := &PrimaryReader{}
	if err := pr.doc.open(r, "primary.xml", "metadata", rdNSCommon); err != nil {
		return nil, err
	}
	return pr, nil
}

// Count returns the number of packages the root element declares (its
// packages attribute), or -1 when it has none. Next checks it: a document
// with more or fewer packages is an error.
func (pr *PrimaryReader) Count() int { return pr.doc.count }

// Next returns the next package, a new value the caller may keep. After
// the last package it returns io.EOF; after an error it returns that same
// error again.
func (pr *PrimaryReader) Next() (*Package, error) {
	if _, err := pr.doc.next(); err != nil {
		return nil, err
	}
	p, err := pr.decodePackage()
	if err != nil {
		return nil, pr.doc.fail(err)
	}
	return p, nil
}

// ReadPrimary calls fn for each package of the primary.xml read from r,
// in document order, each with a new *Package fn may keep. It stops at
// the first error and returns it; an error returned by fn is returned as
// is. See PrimaryReader for what is checked.
func ReadPrimary(r io.Reader, fn func(*Package) error) error {
	pr, err := NewPrimaryReader(r)
	if err != nil {
		return err
	}
	return readAll(pr.Next, fn)
}

const (
	priName rdOnce = 1 << iota
	priArch
	priVersion
	priChecksum
	priSummary
	priDescription
	priPackager
	priURL
	priTime
	priSize
	priLocation
	priFormat
	priLicense
	priVendor
	priGroup
	priBuildHost
	priSourceRPM
	priHeaderRange
	priProvides
	priRequires
	priConflicts
	priObsoletes
	priSuggests
	priEnhances
	priRecommends
	priSupplements
)

// decodePackage reads the children of a <package> element up to its end
// tag.
func (pr *PrimaryReader) decodePackage() (*Package, error) {
	rd := pr.doc.rd
	p := &Package{}
	var once rdOnce
	for {
		tok, err := rd.token()
		if err != nil {
			return nil, rdUnexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return p, priCheck(p, once)
		case xml.StartElement:
			if err := pr.decodePackageChild(p, &once, t); err != nil {
				return nil, err
			}
		}
	}
}

func (pr *PrimaryReader) decodePackageChild(p *Package, once *rdOnce, t xml.StartElement) error {
	rd := pr.doc.rd
	text := func(bit rdOnce, dst *string) error { return rd.onceText(once, bit, t, dst) }
	var err error
	switch t.Name.Local {
	case "name":
		err = text(priName, &p.Name)
		pr.doc.name = p.Name
	case "arch":
		err = text(priArch, &p.Arch)
	case "version":
		if err := once.see(priVersion, "version"); err != nil {
			return err
		}
		p.Epoch, _ = rdAttr(t.Attr, "epoch")
		p.Version, _ = rdAttr(t.Attr, "ver")
		p.Release, _ = rdAttr(t.Attr, "rel")
		err = rd.skip()
	case "checksum":
		if err := once.see(priChecksum, "checksum"); err != nil {
			return err
		}
		p.Checksum.Type, _ = rdAttr(t.Attr, "type")
		var v string
		if v, err = rd.readText(); err != nil {
			return err
		}
		p.Checksum.Value = strings.TrimSpace(v)
		if err := checkChecksum(p.Checksum); err != nil {
			return fmt.Errorf("<checksum>: %w", err)
		}
	case "summary":
		err = text(priSummary, &p.Summary)
	case "description":
		err = text(priDescription, &p.Description)
	case "packager":
		err = text(priPackager, &p.Packager)
	case "url":
		err = text(priURL, &p.URL)
	case "time":
		if err := once.see(priTime, "time"); err != nil {
			return err
		}
		if err := rdFirst(rdInt64Attr(t, "file", &p.FileTime), rdInt64Attr(t, "build", &p.BuildTime)); err != nil {
			return err
		}
		err = rd.skip()
	case "size":
		if err := once.see(priSize, "size"); err != nil {
			return err
		}
		if err := rdFirst(
			rdUintAttr(t, "package", &p.PackageSize),
			rdUintAttr(t, "installed", &p.InstalledSize),
			rdUintAttr(t, "archive", &p.ArchiveSize),
		); err != nil {
			return err
		}
		err = rd.skip()
	case "location":
		if err := once.see(priLocation, "location"); err != nil {
			return err
		}
		p.LocationHref, _ = rdAttr(t.Attr, "href")
		p.LocationBase, _ = rdAttr(t.Attr, "base")
		err = rd.skip()
	case "format":
		if err := once.see(priFormat, "format"); err != nil {
			return err
		}
		err = pr.decodeFormat(p, once)
	default:
		err = rd.skip()
	}
	return err
}

// decodeFormat reads the children of <format>. Its singular children share
// the package's rdOnce bits.
func (pr *PrimaryReader) decodeFormat(p *Package, once *rdOnce) error {
	rd := pr.doc.rd
	for {
		tok, err := rd.token()
		if err != nil {
			return rdUnexpectedEOF(err)
		}
		var t xml.StartElement
		switch tt := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			t = tt
		default:
			continue
		}
		text := func(bit rdOnce, dst *string) error { return rd.onceText(once, bit, t, dst) }
		deps := func(bit rdOnce, dst *[]Dependency) error {
			if err := once.see(bit, t.Name.Local); err != nil {
				return err
			}
			return pr.decodeDeps(dst, t.Name.Local)
		}
		switch t.Name.Local {
		case "file":
			var f File
			if f, err = rdFile(rd, t); err == nil {
				p.Files = append(p.Files, f)
			}
		case "license":
			err = text(priLicense, &p.License)
		case "vendor":
			err = text(priVendor, &p.Vendor)
		case "group":
			err = text(priGroup, &p.Group)
		case "buildhost":
			err = text(priBuildHost, &p.BuildHost)
		case "sourcerpm":
			err = text(priSourceRPM, &p.SourceRPM)
		case "header-range":
			if err := once.see(priHeaderRange, "header-range"); err != nil {
				return err
			}
			if err := rdFirst(rdUintAttr(t, "start", &p.HeaderStart), rdUintAttr(t, "end", &p.HeaderEnd)); err != nil {
				return err
			}
			err = rd.skip()
		case "provides":
			err = deps(priProvides, &p.Provides)
		case "requires":
			err = deps(priRequires, &p.Requires)
		case "conflicts":
			err = deps(priConflicts, &p.Conflicts)
		case "obsoletes":
			err = deps(priObsoletes, &p.Obsoletes)
		case "suggests":
			err = deps(priSuggests, &p.Suggests)
		case "enhances":
			err = deps(priEnhances, &p.Enhances)
		case "recommends":
			err = deps(priRecommends, &p.Recommends)
		case "supplements":
			err = deps(priSupplements, &p.Supplements)
		default:
			err = rd.skip()
		}
		if err != nil {
			return err
		}
	}
}

// decodeDeps reads the <rpm:entry> children of a dependency list.
func (pr *PrimaryReader) decodeDeps(dst *[]Dependency, list string) error {
	rd := pr.doc.rd
	for {
		tok, err := rd.token()
		if err != nil {
			return rdUnexpectedEOF(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if t.Name.Local == "entry" {
				d, err := rdDependency(t)
				if err != nil {
					return fmt.Errorf("<%s>: %w", list, err)
				}
				*dst = append(*dst, d)
			}
			if err := rd.skip(); err != nil {
				return err
			}
		}
	}
}

func rdDependency(t xml.StartElement) (Dependency, error) {
	var d Dependency
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "name":
			d.Name = a.Value
		case "flags":
			d.Flags = a.Value
		case "epoch":
			d.Epoch = a.Value
		case "ver":
			d.Version = a.Value
		case "rel":
			d.Release = a.Value
		case "pre":
			// createrepo_c's rule: these four spellings are false,
			// anything else is true.
			switch a.Value {
			case "0", "FALSE", "false", "False":
			default:
				d.Pre = true
			}
		}
	}
	if d.Name == "" {
		return d, fmt.Errorf("<entry> without a name")
	}
	return d, nil
}

// rdFile reads a <file> element of primary.xml or filelists.xml.
func rdFile(rd *rdDecoder, t xml.StartElement) (File, error) {
	typ, _ := rdAttr(t.Attr, "type")
	path, err := rd.readText()
	if err != nil {
		return File{}, err
	}
	if path == "" {
		return File{}, fmt.Errorf("empty <file>")
	}
	return File{Path: path, Type: ParseFileType(typ)}, nil
}

// rdInt64Attr parses the optional attribute name of t into dst.
func rdInt64Attr(t xml.StartElement, name string, dst *int64) error {
	v, ok := rdAttr(t.Attr, name)
	if !ok {
		return nil
	}
	n, err := rdInt64(v)
	if err != nil {
		return fmt.Errorf("<%s %s>: %w", t.Name.Local, name, err)
	}
	*dst = n
	return nil
}

// rdUintAttr parses the optional attribute name of t into dst.
func rdUintAttr(t xml.StartElement, name string, dst *uint64) error {
	v, ok := rdAttr(t.Attr, name)
	if !ok {
		return nil
	}
	n, err := rdUint(v)
	if err != nil {
		return fmt.Errorf("<%s %s>: %w", t.Name.Local, name, err)
	}
	*dst = n
	return nil
}

// rdFirst returns the first non-nil error.
func rdFirst(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// priCheck checks that a package has what identifies it and what a mirror
// needs to fetch it.
func priCheck(p *Package, once rdOnce) error {
	switch {
	case p.Name == "":
		return fmt.Errorf("package without a <name>")
	case p.Arch == "":
		return fmt.Errorf("package without an <arch>")
	case once&priVersion == 0:
		return fmt.Errorf("package without a <version>")
	case once&priChecksum == 0:
		return fmt.Errorf("package without a <checksum>")
	case p.LocationHref == "":
		return fmt.Errorf("package without a <location href>")
	}
	return nil
}
