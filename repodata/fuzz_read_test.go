package repodata

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"
)

// The fuzz targets check that the readers never panic, that every error
// they return for in-memory input wraps ErrFormat, and that what they
// accept satisfies their documented guarantees.

func FuzzParseRepomd(f *testing.F) {
	f.Add([]byte(repomdAll))
	f.Add([]byte(`<repomd><data type="primary"><checksum type="sha256">` + hex64a +
		`</checksum><location href="repodata/p.xml.gz"/><size>1</size><open-size>0</open-size></data></repomd>`))
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1</revision>
  <tags><content>a&amp;b</content><repo>r</repo><distro cpeid="c">d</distro></tags>
  <data type="other_db">
    <checksum type="sha1">` + hex40 + `</checksum>
    <open-checksum type="sha1">` + hex40 + `</open-checksum>
    <location href="repodata/o.sqlite.bz2" xml:base="http://x/"/>
    <timestamp>2.5</timestamp>
    <size>3</size>
    <database_version>10</database_version>
  </data>
</repomd>
`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseRepomd(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		var out bytes.Buffer
		if err := WriteRepomd(&out, md); err != nil {
			t.Fatalf("WriteRepomd of a parsed Repomd: %v\n%+v", err, md)
		}
		again, err := ParseRepomd(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out.Bytes())
		}
		want := *md
		want.Records = slices.Clone(md.Records)
		SortRecords(want.Records)
		if !reflect.DeepEqual(again, &want) {
			t.Fatalf("round trip changed the model\n got %+v\nwant %+v\n%s", again, &want, out.Bytes())
		}
		var out2 bytes.Buffer
		if err := WriteRepomd(&out2, again); err != nil || !bytes.Equal(out.Bytes(), out2.Bytes()) {
			t.Fatalf("second write differs (%v)\n%s\n%s", err, out.Bytes(), out2.Bytes())
		}
	})
}

func FuzzReadPrimary(f *testing.F) {
	f.Add([]byte(primaryFull))
	f.Add([]byte(primaryDoc("2", pkg("a", `<format><rpm:requires><rpm:entry name="x" pre="1"/></rpm:requires><file>/bin/a</file></format>`), pkg("b", ""))))
	f.Add([]byte(primaryDoc("", pkg("a", `<time file="1" build="2"/><size package="1" installed="2" archive="3"/>`))))
	f.Fuzz(func(t *testing.T, data []byte) {
		pr, err := NewPrimaryReader(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		n := 0
		for {
			p, err := pr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("error %v does not wrap ErrFormat", err)
				}
				if _, again := pr.Next(); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				return
			}
			n++
			if p.Name == "" || p.Arch == "" || p.LocationHref == "" || checkChecksum(p.Checksum) != nil {
				t.Fatalf("accepted an incomplete package %+v", p)
			}
			for _, list := range [][]Dependency{p.Provides, p.Requires, p.Conflicts, p.Obsoletes,
				p.Suggests, p.Enhances, p.Recommends, p.Supplements} {
				for _, d := range list {
					if d.Name == "" {
						t.Fatalf("accepted a dependency without a name in %+v", p)
					}
				}
			}
		}
		if pr.Count() >= 0 && pr.Count() != n {
			t.Fatalf("read %d packages, root declares %d", n, pr.Count())
		}
	})
}

func FuzzReadFilelists(f *testing.F) {
	f.Add([]byte(filelistsFull))
	f.Add([]byte(`<filelists packages="1"><package pkgid="a" name="n" arch="x"><version epoch="0" ver="1" rel="2"/><file type="dir">/d</file></package></filelists>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := ReadFilelists(bytes.NewReader(data), func(e *FilelistsEntry) error {
			if e.PkgID == "" {
				t.Fatalf("accepted an entry without pkgid: %+v", e)
			}
			for _, f := range e.Files {
				if f.Path == "" {
					t.Fatalf("accepted an empty file: %+v", e)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}

func FuzzReadOther(f *testing.F) {
	f.Add([]byte(otherFull))
	f.Add([]byte(`<otherdata packages="1"><package pkgid="a" name="n" arch="x"><version epoch="0" ver="1" rel="2"/><changelog author="a" date="1">t</changelog></package></otherdata>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := ReadOther(bytes.NewReader(data), func(e *OtherEntry) error {
			if e.PkgID == "" {
				t.Fatalf("accepted an entry without pkgid: %+v", e)
			}
			for _, c := range e.Changelogs {
				if c.Date < 0 {
					t.Fatalf("accepted a negative date: %+v", e)
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}
