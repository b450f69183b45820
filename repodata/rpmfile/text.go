package rpmfile

import (
	"fmt"
	"unicode/utf8"

	"github.com/rpmirror/rpmirror/repodata"
)

// sanitize makes every string of p fit for XML the way createrepo_c does:
// a package with a control character anywhere is rejected, and a string
// that is not UTF-8 is taken to be Latin-1 and converted.
func sanitize(p *repodata.Package) error {
	bad := ""
	fix := func(what string, s *string) {
		v, ok := CleanText(*s)
		if !ok && bad == "" {
			bad = what
		}
		*s = v
	}
	fix("name", &p.Name)
	fix("arch", &p.Arch)
	fix("epoch", &p.Epoch)
	fix("version", &p.Version)
	fix("release", &p.Release)
	fix("summary", &p.Summary)
	fix("description", &p.Description)
	fix("url", &p.URL)
	fix("license", &p.License)
	fix("vendor", &p.Vendor)
	fix("group", &p.Group)
	fix("buildhost", &p.BuildHost)
	fix("sourcerpm", &p.SourceRPM)
	fix("packager", &p.Packager)
	for _, deps := range [...][]repodata.Dependency{p.Provides, p.Requires, p.Conflicts, p.Obsoletes,
		p.Suggests, p.Enhances, p.Recommends, p.Supplements} {
		for i := range deps {
			d := &deps[i]
			fix("dependency name", &d.Name)
			fix("dependency epoch", &d.Epoch)
			fix("dependency version", &d.Version)
			fix("dependency release", &d.Release)
		}
	}
	for i := range p.Files {
		fix("file name", &p.Files[i].Path)
	}
	for i := range p.Changelogs {
		fix("changelog author", &p.Changelogs[i].Author)
		fix("changelog text", &p.Changelogs[i].Text)
	}
	if bad != "" {
		return fmt.Errorf("%w in %s", ErrControlChars, bad)
	}
	return nil
}

// CleanText returns s as it goes into the metadata and whether it is
// acceptable at all (false: it holds a control character other than tab,
// LF and CR). Text that is not valid UTF-8 is converted from Latin-1 as
// createrepo_c converts it, bytes 0x80–0xBF (C1 controls and, in
// practice, mis-encoded CP-1252) dropped.
//
// createrepo_c asks libxml2's lenient check whether text is UTF-8, which
// lets overlong forms and surrogates through into XML that parsers then
// reject; we treat those as Latin-1 too.
func CleanText(s string) (string, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return s, false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	if ascii || utf8.ValidString(s) {
		return s, true
	}
	b := make([]byte, 0, len(s)*2)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x80:
			b = append(b, c)
		case c < 0xc0:
			// dropped
		default:
			b = append(b, 0xc3, c&0x3f+0x80)
		}
	}
	return string(b), true
}
