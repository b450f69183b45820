package repodata

import (
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const pkgidA = "65dd4d39b7539cb0b6b150db20a314402845e006cc0456d910bce87741f81b82"
const pkgidB = "90f61e546938a11449b710160ad294618a5bd3062e46f8cf851fd0088af184b7"

// primaryFull sets every field ReadPrimary reads, with the odd things it
// must tolerate: unknown elements at every level, another prefix for the
// rpm namespace, entities, CDATA, comments, whitespace around the
// checksum.
const primaryFull = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<unknown-top><package>not a package</package></unknown-top>
<package type="rpm">
  <name>Archer</name>
  <arch>x86_64</arch>
  <version epoch="2" ver="3.4.5" rel="6"/>
  <checksum type="sha256" pkgid="YES">
    ` + pkgidA + `
  </checksum>
  <summary>Complex &amp; &lt;package&gt;.</summary>
  <description>Line 1
Line 2 <![CDATA[<raw>]]><!-- comment -->end</description>
  <packager>Sterling Archer</packager>
  <url>http://example.com/</url>
  <time file="1795643123" build="1710742930"/>
  <size package="7737" installed="18446744073709551615" archive="544"/>
  <location xml:base="http://mirror.example/base/" href="Packages/Archer-3.4.5-6.x86_64.rpm"/>
  <unknown-child a="1">x<deeper/></unknown-child>
  <format>
    <rpm:license>GPL</rpm:license>
    <rpm:vendor>ISIS</rpm:vendor>
    <rpm:group>Development/Tools</rpm:group>
    <rpm:buildhost>localhost</rpm:buildhost>
    <rpm:sourcerpm>Archer-3.4.5-6.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="7517"/>
    <rpm:provides>
      <rpm:entry name="Archer" flags="EQ" epoch="2" ver="3.4.5" rel="6"/>
      <rpm:entry name="bara" flags="LE" epoch="0" ver="22"/>
      <rpm:other name="ignored"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="a" pre="0"/>
      <rpm:entry name="b" pre="false"/>
      <rpm:entry name="c" pre="FALSE"/>
      <rpm:entry name="d" pre="False"/>
      <rpm:entry name="e" pre="yes"/>
      <rpm:entry name="f" pre=""/>
      <rpm:entry name="(foo if bar)"/>
    </rpm:requires>
    <p:conflicts xmlns:p="http://linux.duke.edu/metadata/rpm"><p:entry name="c1" flags="LT" epoch="0" ver="1"/></p:conflicts>
    <rpm:obsoletes><rpm:entry name="o1" flags="GT" epoch="1" ver="2" rel="3"/></rpm:obsoletes>
    <rpm:suggests><rpm:entry name="s1"/></rpm:suggests>
    <rpm:enhances><rpm:entry name="e1"/></rpm:enhances>
    <rpm:recommends><rpm:entry name="r1" flags="GE" epoch="0" ver="1.0"/></rpm:recommends>
    <rpm:supplements><rpm:entry name="u1"/></rpm:supplements>
    <rpm:unknown><rpm:entry name="x"/></rpm:unknown>
    <file>/usr/bin/complex_a</file>
    <file type="dir">/etc/archer</file>
    <file type="ghost">/etc/archer/state</file>
    <file type="file">/usr/sbin/x</file>
  </format>
</package>
<package type="rpm">
  <name>minimal</name>
  <arch>noarch</arch>
  <version ver="1"/>
  <checksum type="sha">0093f81510edd71f7b5639e941b253e02c6fe6dc</checksum>
  <location href="minimal-1.noarch.rpm"/>
</package>
</metadata>
`

func primaryFullWant() []*Package {
	return []*Package{
		{
			Name:          "Archer",
			Arch:          "x86_64",
			Epoch:         "2",
			Version:       "3.4.5",
			Release:       "6",
			Checksum:      Checksum{"sha256", pkgidA},
			Summary:       "Complex & <package>.",
			Description:   "Line 1\nLine 2 <raw>end",
			Packager:      "Sterling Archer",
			URL:           "http://example.com/",
			FileTime:      1795643123,
			BuildTime:     1710742930,
			PackageSize:   7737,
			InstalledSize: 18446744073709551615,
			ArchiveSize:   544,
			LocationHref:  "Packages/Archer-3.4.5-6.x86_64.rpm",
			LocationBase:  "http://mirror.example/base/",
			License:       "GPL",
			Vendor:        "ISIS",
			Group:         "Development/Tools",
			BuildHost:     "localhost",
			SourceRPM:     "Archer-3.4.5-6.src.rpm",
			HeaderStart:   4504,
			HeaderEnd:     7517,
			Provides: []Dependency{
				{Name: "Archer", Flags: "EQ", Epoch: "2", Version: "3.4.5", Release: "6"},
				{Name: "bara", Flags: "LE", Epoch: "0", Version: "22"},
			},
			Requires: []Dependency{
				{Name: "/bin/sh", Pre: true},
				{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"},
				{Name: "e", Pre: true}, {Name: "f", Pre: true},
				{Name: "(foo if bar)"},
			},
			Conflicts:   []Dependency{{Name: "c1", Flags: "LT", Epoch: "0", Version: "1"}},
			Obsoletes:   []Dependency{{Name: "o1", Flags: "GT", Epoch: "1", Version: "2", Release: "3"}},
			Suggests:    []Dependency{{Name: "s1"}},
			Enhances:    []Dependency{{Name: "e1"}},
			Recommends:  []Dependency{{Name: "r1", Flags: "GE", Epoch: "0", Version: "1.0"}},
			Supplements: []Dependency{{Name: "u1"}},
			Files: []File{
				{Path: "/usr/bin/complex_a"},
				{Path: "/etc/archer", Type: FileDir},
				{Path: "/etc/archer/state", Type: FileGhost},
				{Path: "/usr/sbin/x"},
			},
		},
		{
			Name:         "minimal",
			Arch:         "noarch",
			Version:      "1",
			Checksum:     Checksum{"sha", "0093f81510edd71f7b5639e941b253e02c6fe6dc"},
			LocationHref: "minimal-1.noarch.rpm",
		},
	}
}

func TestReadPrimary(t *testing.T) {
	var got []*Package
	if err := ReadPrimary(strings.NewReader(primaryFull), func(p *Package) error {
		got = append(got, p)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := primaryFullWant()
	if len(got) != len(want) {
		t.Fatalf("read %d packages, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("package %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestPrimaryReader(t *testing.T) {
	pr, err := NewPrimaryReader(strings.NewReader(primaryFull))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Count() != 2 {
		t.Errorf("Count() = %d, want 2", pr.Count())
	}
	for i := 0; i < 2; i++ {
		if _, err := pr.Next(); err != nil {
			t.Fatalf("Next %d: %v", i, err)
		}
	}
	for i := 0; i < 2; i++ {
		if p, err := pr.Next(); err != io.EOF || p != nil {
			t.Errorf("Next at the end = %v, %v; want nil, io.EOF", p, err)
		}
	}

	// Without a packages attribute nothing is checked.
	pr, err = NewPrimaryReader(strings.NewReader(`<metadata><package><name>n</name><arch>a</arch><version/>` +
		`<checksum type="md5">fd2456fb6024f6784de96e945765a648</checksum><location href="x"/></package></metadata>`))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Count() != -1 {
		t.Errorf("Count() = %d, want -1", pr.Count())
	}
	if p, err := pr.Next(); err != nil || p.Name != "n" {
		t.Errorf("Next = %+v, %v", p, err)
	}
	if _, err := pr.Next(); err != io.EOF {
		t.Errorf("Next at the end = %v", err)
	}

	// An empty repository.
	n := 0
	err = ReadPrimary(strings.NewReader(`<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="0">
</metadata>`), func(*Package) error { n++; return nil })
	if err != nil || n != 0 {
		t.Errorf("empty primary: %d packages, %v", n, err)
	}
}

// pkg is a valid primary <package> with body inserted before </package>.
func pkg(name, body string) string {
	return `<package type="rpm"><name>` + name + `</name><arch>x86_64</arch><version epoch="0" ver="1" rel="1"/>` +
		`<checksum type="sha256" pkgid="YES">` + pkgidA + `</checksum><location href="` + name + `.rpm"/>` + body + `</package>`
}

func primaryDoc(count string, pkgs ...string) string {
	attr := ""
	if count != "" {
		attr = ` packages="` + count + `"`
	}
	return `<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm"` +
		attr + `>` + strings.Join(pkgs, "\n") + `</metadata>`
}

func TestReadPrimaryMalformed(t *testing.T) {
	bare := func(inner string) string { return primaryDoc("1", `<package>`+inner+`</package>`) }
	const ck = `<checksum type="sha256">` + pkgidA + `</checksum>`
	tests := []struct {
		name, doc, want string
		wantN           int // packages delivered before the error
	}{
		{"empty input", ``, "no <metadata> root", 0},
		{"wrong root", `<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="0"/>`, "root element is <filelists>", 0},
		{"wrong namespace", `<metadata xmlns="http://linux.duke.edu/metadata/other"/>`, "namespace", 0},
		{"bad count", primaryDoc("two"), "not a package count", 0},
		{"negative count", primaryDoc("-1"), "not a package count", 0},
		{"huge count", primaryDoc("99999999999"), "not a package count", 0},
		{"fewer than declared", primaryDoc("3", pkg("a", ""), pkg("b", "")), "declares 3 packages, found 2", 2},
		{"more than declared", primaryDoc("1", pkg("a", ""), pkg("b", "")), "more than the 1 packages", 1},
		{"truncated in package", primaryDoc("1", pkg("a", ""))[:200], "unexpected EOF", 0},
		{"truncated after package", strings.TrimSuffix(primaryDoc("1", pkg("a", "")), "</metadata>"), "unexpected EOF", 1},
		{"mismatched tags", primaryDoc("1", pkg("a", "<format></package></format>")), "syntax error", 0},
		{"trailing element", primaryDoc("1", pkg("a", "")) + "<metadata/>", "after the root", 1},
		{"no name", bare(`<arch>a</arch><version/>` + ck + `<location href="x"/>`), "without a <name>", 0},
		{"empty name", bare(`<name></name><arch>a</arch><version/>` + ck + `<location href="x"/>`), "without a <name>", 0},
		{"no arch", bare(`<name>n</name><version/>` + ck + `<location href="x"/>`), "without an <arch>", 0},
		{"no version", bare(`<name>n</name><arch>a</arch>` + ck + `<location href="x"/>`), "without a <version>", 0},
		{"no checksum", bare(`<name>n</name><arch>a</arch><version/><location href="x"/>`), "without a <checksum>", 0},
		{"no location", bare(`<name>n</name><arch>a</arch><version/>` + ck), "without a <location href>", 0},
		{"empty href", bare(`<name>n</name><arch>a</arch><version/>` + ck + `<location href=""/>`), "without a <location href>", 0},
		{"unknown checksum type", bare(`<name>n</name><checksum type="crc">1234</checksum>`), "unknown checksum type", 0},
		{"wrong checksum length", bare(`<name>n</name><checksum type="sha1">` + pkgidA + `</checksum>`), "has 64 characters, want 40", 0},
		{"duplicate name", primaryDoc("1", pkg("a", "<name>b</name>")), "duplicate <name>", 0},
		{"duplicate checksum", primaryDoc("1", pkg("a", ck)), "duplicate <checksum>", 0},
		{"duplicate location", primaryDoc("1", pkg("a", `<location href="b"/>`)), "duplicate <location>", 0},
		{"duplicate format", primaryDoc("1", pkg("a", "<format/><format/>")), "duplicate <format>", 0},
		{"duplicate license", primaryDoc("1", pkg("a", "<format><rpm:license/><rpm:license/></format>")), "duplicate <license>", 0},
		{"duplicate provides", primaryDoc("1", pkg("a", "<format><rpm:provides/><rpm:provides/></format>")), "duplicate <provides>", 0},
		{"bad time", primaryDoc("1", pkg("a", `<time file="x" build="1"/>`)), `<time file>: "x"`, 0},
		{"negative time", primaryDoc("1", pkg("a", `<time file="1" build="-1"/>`)), `<time build>`, 0},
		{"time overflow", primaryDoc("1", pkg("a", `<time file="9223372036854775808"/>`)), "out of range", 0},
		{"negative size", primaryDoc("1", pkg("a", `<size package="-1"/>`)), "<size package>", 0},
		{"size overflow", primaryDoc("1", pkg("a", `<size installed="18446744073709551616"/>`)), "<size installed>", 0},
		{"size with space", primaryDoc("1", pkg("a", `<size archive=" 1"/>`)), "<size archive>", 0},
		{"bad header-range", primaryDoc("1", pkg("a", `<format><rpm:header-range start="1" end="e"/></format>`)), "<header-range end>", 0},
		{"entry without name", primaryDoc("1", pkg("a", `<format><rpm:requires><rpm:entry flags="EQ"/></rpm:requires></format>`)), "<requires>: <entry> without a name", 0},
		{"empty file", primaryDoc("1", pkg("a", `<format><file type="dir"></file></format>`)), "empty <file>", 0},
		{"undefined entity", primaryDoc("1", pkg("a", `<summary>&copy;</summary>`)), "entity", 0},
		{"control character", primaryDoc("1", pkg("a", "<summary>\x01</summary>")), "illegal character", 0},
		{"invalid utf-8", primaryDoc("1", pkg("a", "<summary>\xc3</summary>")), "UTF-8", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := ReadPrimary(strings.NewReader(tt.doc), func(*Package) error { n++; return nil })
			if err == nil {
				t.Fatal("ReadPrimary succeeded")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if n != tt.wantN {
				t.Errorf("%d packages delivered before the error, want %d", n, tt.wantN)
			}
		})
	}
}

func TestReadPrimaryErrorContext(t *testing.T) {
	doc := primaryDoc("2", pkg("first", ""), pkg("second", `<size package="x"/>`))
	pr, err := NewPrimaryReader(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = pr.Next()
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"repodata: malformed metadata: primary.xml: package 2 (second): byte ", `<size package>: "x"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	// The error is sticky.
	if _, again := pr.Next(); again != err {
		t.Errorf("second Next = %v, want the same error %v", again, err)
	}
}

func TestReadCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := ReadPrimary(strings.NewReader(primaryFull), func(*Package) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("ReadPrimary = %v after %d calls, want the callback's error after 1", err, n)
	}
	err = ReadFilelists(strings.NewReader(filelistsFull), func(*FilelistsEntry) error { return stop })
	if err != stop {
		t.Errorf("ReadFilelists = %v, want the callback's error", err)
	}
	err = ReadOther(strings.NewReader(otherFull), func(*OtherEntry) error { return stop })
	if err != stop {
		t.Errorf("ReadOther = %v, want the callback's error", err)
	}
}

func TestReadReaderError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		doc  string
		read func(io.Reader) error
	}{
		{"primary", primaryFull, func(r io.Reader) error { return ReadPrimary(r, func(*Package) error { return nil }) }},
		{"filelists", filelistsFull, func(r io.Reader) error { return ReadFilelists(r, func(*FilelistsEntry) error { return nil }) }},
		{"other", otherFull, func(r io.Reader) error { return ReadOther(r, func(*OtherEntry) error { return nil }) }},
	}
	for _, tt := range tests {
		for _, cut := range []int{0, 10, 300, len(tt.doc) - 5} {
			err := tt.read(&errReader{data: []byte(tt.doc[:cut]), err: boom})
			if !errors.Is(err, boom) || errors.Is(err, ErrFormat) {
				t.Errorf("%s cut at %d: error %v, want the reader's error and not ErrFormat", tt.name, cut, err)
			}
		}
	}
}

const filelistsFull = `<?xml version="1.0" encoding="UTF-8"?>
<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="3">
<package pkgid="` + pkgidA + `" name="Archer" arch="x86_64">
  <version epoch="2" ver="3.4.5" rel="6"/>
  <file>/usr/bin/complex_a</file>
  <file type="dir">/usr/share/doc/Archer-3.4.5</file>
  <file type="ghost">/var/log/archer &amp; co</file>
  <unknown>x</unknown>
  <file>/usr/share/doc/Archer-3.4.5/README</file>
</package>
<package pkgid="` + pkgidB + `" name="fake_bash" arch="x86_64">
  <version epoch="0" ver="1.1.1" rel="1"/>
</package>
<package pkgid="x"/>
</filelists>
`

func TestReadFilelists(t *testing.T) {
	var got []*FilelistsEntry
	fr, err := NewFilelistsReader(strings.NewReader(filelistsFull))
	if err != nil {
		t.Fatal(err)
	}
	if fr.Count() != 3 {
		t.Errorf("Count() = %d", fr.Count())
	}
	for {
		e, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	want := []*FilelistsEntry{
		{PkgID: pkgidA, Name: "Archer", Arch: "x86_64", Epoch: "2", Version: "3.4.5", Release: "6", Files: []File{
			{Path: "/usr/bin/complex_a"},
			{Path: "/usr/share/doc/Archer-3.4.5", Type: FileDir},
			{Path: "/var/log/archer & co", Type: FileGhost},
			{Path: "/usr/share/doc/Archer-3.4.5/README"},
		}},
		{PkgID: pkgidB, Name: "fake_bash", Arch: "x86_64", Epoch: "0", Version: "1.1.1", Release: "1"},
		{PkgID: "x"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

const otherFull = `<?xml version="1.0" encoding="UTF-8"?>
<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="2">
<package pkgid="` + pkgidA + `" name="Archer" arch="x86_64">
  <version epoch="2" ver="3.4.5" rel="6"/>
  <changelog author="Tomas Mlcoch &lt;tmlcoch@redhat.com&gt; - 1.1.1-1" date="1334664000">- First changelog.</changelog>
  <changelog author="B" date="1334750400">- line 1
- line 2 &amp; more</changelog>
  <changelog>no author, no date</changelog>
</package>
<package pkgid="` + pkgidB + `" name="fake_bash" arch="x86_64">
  <version epoch="0" ver="1.1.1" rel="1"/>
</package>
</otherdata>
`

func TestReadOther(t *testing.T) {
	var got []*OtherEntry
	if err := ReadOther(strings.NewReader(otherFull), func(e *OtherEntry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []*OtherEntry{
		{PkgID: pkgidA, Name: "Archer", Arch: "x86_64", Epoch: "2", Version: "3.4.5", Release: "6", Changelogs: []Changelog{
			{Author: "Tomas Mlcoch <tmlcoch@redhat.com> - 1.1.1-1", Date: 1334664000, Text: "- First changelog."},
			{Author: "B", Date: 1334750400, Text: "- line 1\n- line 2 & more"},
			{Text: "no author, no date"},
		}},
		{PkgID: pkgidB, Name: "fake_bash", Arch: "x86_64", Epoch: "0", Version: "1.1.1", Release: "1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestReadFilelistsOtherMalformed(t *testing.T) {
	fl := func(count, body string) string {
		return `<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="` + count + `">` + body + `</filelists>`
	}
	ot := func(count, body string) string {
		return `<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="` + count + `">` + body + `</otherdata>`
	}
	readFL := func(doc string) error {
		return ReadFilelists(strings.NewReader(doc), func(*FilelistsEntry) error { return nil })
	}
	readOT := func(doc string) error {
		return ReadOther(strings.NewReader(doc), func(*OtherEntry) error { return nil })
	}
	tests := []struct {
		name, doc, want string
		read            func(string) error
	}{
		{"filelists: primary root", primaryDoc("0"), "root element is <metadata>", readFL},
		{"filelists: no pkgid", fl("1", `<package name="a"/>`), "without a pkgid", readFL},
		{"filelists: count", fl("2", `<package pkgid="a"/>`), "declares 2 packages, found 1", readFL},
		{"filelists: more", fl("0", `<package pkgid="a"/>`), "more than the 0 packages", readFL},
		{"filelists: duplicate version", fl("1", `<package pkgid="a"><version/><version/></package>`), "duplicate <version>", readFL},
		{"filelists: empty file", fl("1", `<package pkgid="a"><file/></package>`), "empty <file>", readFL},
		{"filelists: unclosed", fl("1", `<package pkgid="a"><file>/x`), "closed by </filelists>", readFL},
		{"other: filelists root", fl("0", ""), "root element is <filelists>", readOT},
		{"other: no pkgid", ot("1", `<package pkgid=""/>`), "without a pkgid", readOT},
		{"other: count", ot("0", `<package pkgid="a"/>`), "more than the 0 packages", readOT},
		{"other: bad date", ot("1", `<package pkgid="a"><changelog date="yesterday"/></package>`), `<changelog date>: "yesterday"`, readOT},
		{"other: duplicate version", ot("1", `<package pkgid="a"><version/><version/></package>`), "duplicate <version>", readOT},
		{"other: error names the package", ot("2", `<package pkgid="a" name="n1"/><package pkgid="b" name="n2"><changelog date="-1"/></package>`), "package 2 (n2)", readOT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.read(tt.doc)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v, want ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// BenchmarkReadPrimary reads a primary.xml of 1,000 packages like the
// first one of primaryFull.
func BenchmarkReadPrimary(b *testing.B) {
	start := strings.Index(primaryFull, `<package type="rpm">`)
	end := start + strings.Index(primaryFull[start:], `</package>`) + len(`</package>`)
	one := primaryFull[start:end]
	const n = 1000
	doc := primaryDoc("1000", slices.Repeat([]string{one}, n)...)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ReadPrimary(strings.NewReader(doc), func(*Package) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/package")
}
