package repodata

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

const (
	hex64a = "1cb61ea996355add02b1426ed4c1780ea75ce0c04c5d1107c025c3fbd7d8bcae"
	hex64b = "e1e2ffd2fb1ee76f87b70750d00ca5677a252b397ab6c2389137a0c33e7b359f"
	hex64c = "243baf7c02f5241d46f2e8c237ebc7ea7e257ca993d9cfe1304254c7ba7f6546"
	hex40  = "0093f81510edd71f7b5639e941b253e02c6fe6dc"
)

// A repomd.xml with everything ParseRepomd has to tolerate: records out
// of order and with children out of order, unknown elements, old yum's
// fractional timestamp, whitespace around values, xml:base, tags.
var repomdAll = `<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>rev &amp; 1</revision>
  <repoid type="sha256">whatever</repoid>
  <tags>
    <content>binary-x86_64</content>
    <repo>r1</repo>
    <distro cpeid="cpe:/o:fedoraproject:fedora:40">Fedora 40</distro>
    <distro>no cpe</distro>
    <content>source</content>
    <unknown>x</unknown>
  </tags>
  <data type="primary_zck">
    <checksum type="sha256">` + hex64a + `</checksum>
    <open-checksum type="sha256">` + hex64b + `</open-checksum>
    <header-checksum type="sha256">` + hex64c + `</header-checksum>
    <location href="repodata/p.xml.zck"/>
    <timestamp>1533242352</timestamp>
    <size>269</size>
    <open-size>167</open-size>
    <header-size>132</header-size>
  </data>
  <data type="primary_db">
    <location href="repodata/primary.sqlite.bz2" xml:base="http://example.com/base/"/>
    <checksum type="sha">
      ` + hex40 + `
    </checksum>
    <timestamp>1257935775.0</timestamp>
    <size> 10126790 </size>
    <open-size>43433984</open-size>
    <database_version>10</database_version>
    <future-element a="b"><nested/></future-element>
  </data>
  <data type="group">
    <checksum type="md5">fd2456fb6024f6784de96e945765a648</checksum>
    <location href="repodata/comps.xml"/>
    <timestamp>5</timestamp>
    <size>0</size>
    <database_version>7</database_version>
    <header-size>9</header-size>
  </data>
  <data type="updateinfo">
    <checksum type="sha512">` + strings.Repeat("ab", 64) + `</checksum>
    <location href="repodata/updateinfo.xml.gz"/>
  </data>
</repomd>
`

func TestParseRepomdFields(t *testing.T) {
	md, err := ParseRepomd(strings.NewReader(repomdAll))
	if err != nil {
		t.Fatal(err)
	}
	want := &Repomd{
		Revision: "rev & 1",
		Tags: Tags{
			Content: []string{"binary-x86_64", "source"},
			Repo:    []string{"r1"},
			Distro:  []Distro{{CPEID: "cpe:/o:fedoraproject:fedora:40", Name: "Fedora 40"}, {Name: "no cpe"}},
		},
		Records: []Record{
			{
				Type:           "primary_zck",
				Checksum:       Checksum{"sha256", hex64a},
				OpenChecksum:   Checksum{"sha256", hex64b},
				HeaderChecksum: Checksum{"sha256", hex64c},
				Href:           "repodata/p.xml.zck",
				Timestamp:      1533242352,
				Size:           269,
				OpenSize:       167,
				HeaderSize:     132,
			},
			{
				Type:            "primary_db",
				Checksum:        Checksum{"sha", hex40},
				Href:            "repodata/primary.sqlite.bz2",
				Base:            "http://example.com/base/",
				Timestamp:       1257935775,
				Size:            10126790,
				OpenSize:        43433984,
				DatabaseVersion: 10,
			},
			{
				// database_version and header-size are dropped here, as
				// createrepo_c would not write them for this record.
				Type:      "group",
				Checksum:  Checksum{"md5", "fd2456fb6024f6784de96e945765a648"},
				Href:      "repodata/comps.xml",
				Timestamp: 5,
				OpenSize:  -1,
			},
			{
				Type:     "updateinfo",
				Checksum: Checksum{"sha512", strings.Repeat("ab", 64)},
				Href:     "repodata/updateinfo.xml.gz",
				OpenSize: -1,
			},
		},
	}
	if !reflect.DeepEqual(md, want) {
		t.Errorf("ParseRepomd:\n got %+v\nwant %+v", md, want)
	}
	if r := md.Record("primary_db"); r == nil || r.Size != 10126790 {
		t.Errorf("Record(primary_db) = %+v", r)
	}
	if r := md.Record("primary"); r != nil {
		t.Errorf("Record(primary) = %+v, want nil", r)
	}

	// What WriteRepomd writes reads back as the same model.
	var buf bytes.Buffer
	if err := WriteRepomd(&buf, md); err != nil {
		t.Fatal(err)
	}
	again, err := ParseRepomd(&buf)
	if err != nil {
		t.Fatalf("re-read: %v\n%s", err, buf.Bytes())
	}
	sorted := slices.Clone(want.Records)
	SortRecords(sorted)
	want.Records = sorted
	if !reflect.DeepEqual(again, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", again, want)
	}
}

func TestParseRepomdMalformed(t *testing.T) {
	rec := func(inner string) string {
		return `<repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary">` + inner + `</data></repomd>`
	}
	okChecksum := `<checksum type="sha256">` + hex64a + `</checksum>`
	okLocation := `<location href="repodata/primary.xml.gz"/>`
	withHref := func(href string) string {
		return rec(okChecksum + `<location href="` + href + `"/>`)
	}
	tests := []struct {
		name, doc, want string
	}{
		{"empty", ``, "no <repomd> root"},
		{"not xml", `hello`, "text before the root"},
		{"wrong root", `<metadata xmlns="http://linux.duke.edu/metadata/common"/>`, "root element is <metadata>"},
		{"wrong namespace", `<repomd xmlns="urn:x"/>`, "namespace"},
		{"truncated", `<repomd><data type="primary">`, "unexpected EOF"},
		{"mismatched tags", `<repomd><data type="x"></repomd></data>`, "syntax error"},
		{"undefined entity", `<repomd><revision>&nbsp;</revision></repomd>`, "entity"},
		{"latin-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><repomd/>", "ISO-8859-1"},
		{"invalid utf-8", "<repomd><revision>\xff</revision></repomd>", "UTF-8"},
		{"trailing element", `<repomd/><repomd/>`, "after the root"},
		{"trailing text", `<repomd/>junk`, "after the root"},
		{"duplicate revision", `<repomd><revision>1</revision><revision>2</revision></repomd>`, "duplicate <revision>"},
		{"no type", `<repomd><data>` + okChecksum + okLocation + `</data></repomd>`, "without a type"},
		{"empty type", `<repomd><data type="">` + okChecksum + okLocation + `</data></repomd>`, "without a type"},
		{"duplicate type", `<repomd><data type="primary">` + okChecksum + okLocation + `</data><data type="primary">` + okChecksum + okLocation + `</data></repomd>`, "duplicate record"},
		{"no checksum", rec(okLocation), "no <checksum>"},
		{"no location", rec(okChecksum), "no <location>"},
		{"no href", rec(okChecksum + `<location/>`), "empty"},
		{"duplicate checksum", rec(okChecksum + okChecksum + okLocation), "duplicate <checksum>"},
		{"duplicate location", rec(okChecksum + okLocation + okLocation), "duplicate <location>"},
		{"duplicate size", rec(okChecksum + okLocation + `<size>1</size><size>2</size>`), "duplicate <size>"},
		{"checksum without type", rec(`<checksum>` + hex64a + `</checksum>` + okLocation), "without a type"},
		{"unknown checksum type", rec(`<checksum type="crc32">deadbeef</checksum>` + okLocation), "unknown checksum type"},
		{"upper-case checksum type", rec(`<checksum type="SHA256">` + hex64a + `</checksum>` + okLocation), "unknown checksum type"},
		{"short checksum", rec(`<checksum type="sha256">` + hex64a[1:] + `</checksum>` + okLocation), "has 63 characters"},
		{"sha1 length for sha256", rec(`<checksum type="sha256">` + hex40 + `</checksum>` + okLocation), "has 40 characters"},
		{"upper-case hex", rec(`<checksum type="sha256">` + strings.ToUpper(hex64a) + `</checksum>` + okLocation), "not lower-case hex"},
		{"bad open-checksum", rec(okChecksum + `<open-checksum type="sha256">xyz</open-checksum>` + okLocation), "<open-checksum>"},
		{"bad header-checksum", rec(okChecksum + `<header-checksum type="foo">` + hex64a + `</header-checksum>` + okLocation), "<header-checksum>"},
		{"negative size", rec(okChecksum + okLocation + `<size>-1</size>`), "<size>"},
		{"size not a number", rec(okChecksum + okLocation + `<size>12k</size>`), "<size>"},
		{"size overflow", rec(okChecksum + okLocation + `<size>9223372036854775808</size>`), "out of range"},
		{"empty open-size", rec(okChecksum + okLocation + `<open-size></open-size>`), "<open-size>"},
		{"timestamp exponent", rec(okChecksum + okLocation + `<timestamp>1e9</timestamp>`), "<timestamp>"},
		{"timestamp empty fraction", rec(okChecksum + okLocation + `<timestamp>1.</timestamp>`), "<timestamp>"},
		{"database_version overflow", `<repomd><data type="primary_db">` + okChecksum + okLocation + `<database_version>99999999999</database_version></data></repomd>`, "out of range"},
		{"absolute href", withHref("/etc/passwd"), "absolute"},
		{"parent href", withHref("../primary.xml.gz"), "outside"},
		{"parent only", withHref(".."), "outside"},
		{"inner parent href", withHref("repodata/../../x"), "not a clean path"},
		{"dot segment", withHref("./repodata/x"), "not a clean path"},
		{"empty segment", withHref("repodata//x"), "not a clean path"},
		{"trailing slash", withHref("repodata/"), "not a clean path"},
		{"scheme", withHref("http://evil.example/x"), "scheme"},
		{"file scheme", withHref("file:x"), "scheme"},
		{"drive", withHref("C:x"), "scheme"},
		{"backslash", withHref(`repodata\..\..\x`), "backslash"},
		{"percent", withHref("repodata/%2e%2e/x"), "URL"},
		{"query", withHref("repodata/x?y"), "URL"},
		{"fragment", withHref("repodata/x#y"), "URL"},
		{"control character", withHref("repodata/&#9;x"), "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := ParseRepomd(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("ParseRepomd succeeded: %+v", md)
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %q does not wrap ErrFormat", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if md != nil {
				t.Errorf("got a Repomd with the error")
			}
		})
	}
}

func TestParseRepomdErrorContext(t *testing.T) {
	doc := `<repomd><data type="primary"><checksum type="sha256">` + hex64a +
		`</checksum><location href="/abs"/></data></repomd>`
	_, err := ParseRepomd(strings.NewReader(doc))
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"repodata: malformed metadata", `<data type="primary">`, "byte ", `"/abs"`} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

// errReader fails after returning some bytes.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseRepomdReaderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ParseRepomd(&errReader{data: []byte(repomdAll[:300]), err: boom})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v does not wrap the reader's error", err)
	}
	if errors.Is(err, ErrFormat) {
		t.Errorf("a reader's error %v is reported as malformed metadata", err)
	}
}

func TestCheckHref(t *testing.T) {
	for _, href := range []string{
		"repodata/primary.xml.gz",
		"Packages/a/abc-1.0-1.x86_64.rpm",
		"abc-1.0-1.x86_64.rpm",
		"toplink/packages/foo/1.0/1/noarch/foo-1.0-1.noarch.rpm",
		"a..b/c..rpm",
		"dir/with:colon",
		"g++-1+2.rpm",
		"ünïcode.rpm",
	} {
		if err := CheckHref(href); err != nil {
			t.Errorf("CheckHref(%q) = %v", href, err)
		}
	}
	for _, href := range []string{"", "/x", "..", "../x", "a/../b", "a/..", "./a", "a/.", "a//b", "a/", "http://x/y",
		"c:/x", "a\\b", "a\x00b", "a\nb", "a\x7fb", "a%20b", "a?b", "a#b"} {
		err := CheckHref(href)
		if err == nil {
			t.Errorf("CheckHref(%q) accepted", href)
		} else if !errors.Is(err, ErrFormat) {
			t.Errorf("CheckHref(%q) = %v, not ErrFormat", href, err)
		}
	}
}

func validRecord(typ string) Record {
	return Record{
		Type:      typ,
		Checksum:  Checksum{"sha256", hex64a},
		Href:      "repodata/" + typ + ".xml.gz",
		Timestamp: 1,
		Size:      2,
		OpenSize:  -1,
	}
}

func TestWriteRepomdOrder(t *testing.T) {
	var md Repomd
	for _, typ := range []string{"updateinfo", "other_zck", "group", "primary", "filelists_db", "other", "Zeta",
		"primary_zck", "filelists", "other_db", "modules", "primary_db", "filelists_zck", "group_gz"} {
		md.Records = append(md.Records, validRecord(typ))
	}
	orig := slices.Clone(md.Records)
	var buf bytes.Buffer
	if err := WriteRepomd(&buf, &md); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(md.Records, orig) {
		t.Error("WriteRepomd modified md.Records")
	}
	got, err := ParseRepomd(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range got.Records {
		types = append(types, r.Type)
	}
	want := []string{"primary", "filelists", "other", "primary_db", "filelists_db", "other_db",
		"primary_zck", "filelists_zck", "other_zck", "Zeta", "group", "group_gz", "modules", "updateinfo"}
	if !slices.Equal(types, want) {
		t.Errorf("order\n got %v\nwant %v", types, want)
	}
}

func TestWriteRepomdInvalid(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Repomd)
	}{
		{"no type", func(md *Repomd) { md.Records[0].Type = "" }},
		{"duplicate type", func(md *Repomd) { md.Records[1].Type = md.Records[0].Type }},
		{"no checksum", func(md *Repomd) { md.Records[0].Checksum = Checksum{} }},
		{"bad checksum", func(md *Repomd) { md.Records[0].Checksum.Value = "abc" }},
		{"bad open checksum", func(md *Repomd) { md.Records[0].OpenChecksum = Checksum{"sha256", "x"} }},
		{"bad header checksum", func(md *Repomd) { md.Records[0].HeaderChecksum = Checksum{Type: "sha256"} }},
		{"unsafe href", func(md *Repomd) { md.Records[0].Href = "../x" }},
		{"negative size", func(md *Repomd) { md.Records[0].Size = -1 }},
		{"negative timestamp", func(md *Repomd) { md.Records[0].Timestamp = -1 }},
		{"open-size -2", func(md *Repomd) { md.Records[0].OpenSize = -2 }},
		{"header-size without header-checksum", func(md *Repomd) { md.Records[0].HeaderSize = 5 }},
		{"database_version on primary", func(md *Repomd) { md.Records[0].DatabaseVersion = 10 }},
		{"control character in revision", func(md *Repomd) { md.Revision = "a\x01b" }},
		{"invalid utf-8 in tag", func(md *Repomd) { md.Tags.Repo = []string{"\xff"} }},
		{"invalid cpeid", func(md *Repomd) { md.Tags.Distro = []Distro{{CPEID: "\x00", Name: "x"}} }},
		{"invalid type text", func(md *Repomd) { md.Records[0].Type = "a\x02" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := &Repomd{Revision: "1", Records: []Record{validRecord("primary"), validRecord("other")}}
			tt.edit(md)
			var buf bytes.Buffer
			err := WriteRepomd(&buf, md)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("WriteRepomd = %v, want ErrFormat", err)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// TestWriteRepomdEscaping checks the escaping rules by reading them back;
// TestWriteRepomdCreaterepo checks them byte for byte against libxml2.
func TestWriteRepomdEscaping(t *testing.T) {
	md := &Repomd{
		Revision: "a<b>&\"c'\r\n\t",
		Tags: Tags{
			Content: []string{"", "x&y"},
			Repo:    []string{"é\U0001F600"},
			Distro:  []Distro{{CPEID: "q\"<&>\t\n\r", Name: ""}},
		},
		Records: []Record{validRecord("a\"b<c>&d")},
	}
	md.Records[0].Base = "http://x/?a=1&b=\"2\""
	var buf bytes.Buffer
	if err := WriteRepomd(&buf, md); err != nil {
		t.Fatal(err)
	}
	got, err := ParseRepomd(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	if !reflect.DeepEqual(got, md) {
		t.Errorf("round trip\n got %+v\nwant %+v\n%s", got, md, buf.Bytes())
	}
	for _, s := range []string{
		"<revision>a&lt;b&gt;&amp;\"c'&#13;\n\t</revision>",
		`<content></content>`,
		`<distro cpeid="q&quot;&lt;&amp;&gt;&#9;&#10;&#13;"></distro>`,
		`<data type="a&quot;b&lt;c&gt;&amp;d">`,
	} {
		if !bytes.Contains(buf.Bytes(), []byte(s)) {
			t.Errorf("output lacks %q:\n%s", s, buf.Bytes())
		}
	}
}

// TestWriteRepomdCreaterepo runs the real createrepo_c and modifyrepo_c
// (0.17.3 on the machines this was written on) on RPMs of the corpus with
// options that exercise every element, reads each repomd.xml they write
// and writes it back: the bytes must be identical.
func TestWriteRepomdCreaterepo(t *testing.T) {
	createrepo := testenv.RequireTool(t, "createrepo_c")
	modifyrepo := testenv.RequireTool(t, "modifyrepo_c")
	pkgs := filepath.Join(testenv.RequireCorpus(t), "createrepo_c-testdata", "tests", "testdata", "packages")
	rpms, _ := filepath.Glob(filepath.Join(pkgs, "*.rpm"))
	if len(rpms) == 0 {
		t.Skipf("no RPMs in %s", pkgs)
	}
	run := func(t *testing.T, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		// glib converts arguments from the locale's charset; CHARSET
		// makes that UTF-8 whatever locales are installed.
		cmd.Env = append(os.Environ(), "CHARSET=UTF-8", "LC_ALL=C.UTF-8")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %q: %v\n%s", name, args, err, out)
		}
	}
	newRepo := func(t *testing.T, n int) string {
		dir := t.TempDir()
		for _, p := range rpms[:min(n, len(rpms))] {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	writeFile := func(t *testing.T, dir, name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	tests := []struct {
		name  string
		setup func(t *testing.T) string // returns the repo directory
		check func(t *testing.T, md *Repomd)
	}{
		{"plain", func(t *testing.T) string {
			dir := newRepo(t, 2)
			run(t, createrepo, "--no-database", dir)
			return dir
		}, func(t *testing.T, md *Repomd) {
			if len(md.Records) != 3 || md.Record("primary") == nil || md.Tags.Content != nil {
				t.Errorf("records %+v", md.Records)
			}
		}},
		{"everything", func(t *testing.T) string {
			dir := newRepo(t, len(rpms))
			comps := writeFile(t, t.TempDir(), "comps.xml", "<?xml version=\"1.0\"?>\n<comps></comps>\n")
			run(t, createrepo, "--zck", "--groupfile", comps,
				"--distro", `cpe:/o:a&b"c<d>,Fédora <&> "x"`, "--distro", ",no cpe",
				"--content", "bin&ary<x>", "--content", "", "--content", "src",
				"--repo", "r\"1 é\ttab\rcr\nnl", "--repo", "🙂",
				"--revision", `rev<&>"1`, dir)
			return dir
		}, func(t *testing.T, md *Repomd) {
			if md.Revision != `rev<&>"1` {
				t.Errorf("revision %q", md.Revision)
			}
			wantTags := Tags{
				Content: []string{"bin&ary<x>", "", "src"},
				Repo:    []string{"r\"1 é\ttab\rcr\nnl", "🙂"},
				Distro:  []Distro{{`cpe:/o:a&b"c<d>`, `Fédora <&> "x"`}, {"", "no cpe"}},
			}
			if !reflect.DeepEqual(md.Tags, wantTags) {
				t.Errorf("tags\n got %+v\nwant %+v", md.Tags, wantTags)
			}
			if r := md.Record("primary_db"); r == nil || r.DatabaseVersion != 10 {
				t.Errorf("primary_db %+v", r)
			}
			if r := md.Record("primary_zck"); r == nil || r.HeaderChecksum.Type != "sha256" || r.HeaderSize <= 0 {
				t.Errorf("primary_zck %+v", r)
			}
			// createrepo_c writes no open-checksum for the gz copy of
			// the groupfile.
			if r := md.Record("group_gz"); r == nil || r.OpenChecksum != (Checksum{}) || r.OpenSize != -1 {
				t.Errorf("group_gz %+v", r)
			}
		}},
		{"modifyrepo", func(t *testing.T) string {
			dir := newRepo(t, 1)
			run(t, createrepo, "--no-database", "-s", "sha512", "--simple-md-filenames", dir)
			files := t.TempDir()
			repodata := filepath.Join(dir, "repodata")
			text := "hello world, some text\n"
			run(t, modifyrepo, "--mdtype=zzempty", writeFile(t, files, "empty.txt", ""), repodata)
			run(t, modifyrepo, "--mdtype=aardvark", "--compress-type=xz", writeFile(t, files, "a.xml", text), repodata)
			run(t, modifyrepo, "--mdtype=plain", "--no-compress", "-s", "sha1", writeFile(t, files, "m.yaml", text), repodata)
			run(t, modifyrepo, "--zck", "--mdtype=updateinfo", "--compress-type=bz2", "-s", "sha224", writeFile(t, files, "u.xml", text), repodata)
			run(t, modifyrepo, "--mdtype=old", "-s", "sha", writeFile(t, files, "o.xml", text), repodata)
			run(t, modifyrepo, "--mdtype=weak", "-s", "md5", "--compress-type=gz", writeFile(t, files, "w.xml", text), repodata)
			run(t, modifyrepo, "--mdtype=big", "-s", "sha384", writeFile(t, files, "b.xml", text), repodata)
			return dir
		}, func(t *testing.T, md *Repomd) {
			if r := md.Record("zzempty"); r == nil || r.OpenSize != 0 || r.OpenChecksum.Value == "" {
				t.Errorf("zzempty %+v: want open-size 0 with an open-checksum", r)
			}
			if r := md.Record("plain"); r == nil || r.OpenSize != -1 || r.OpenChecksum != (Checksum{}) || r.Checksum.Type != "sha1" {
				t.Errorf("plain %+v", r)
			}
			if r := md.Record("old"); r == nil || r.Checksum.Type != "sha" {
				t.Errorf("old %+v", r)
			}
			if r := md.Record("primary"); r == nil || r.Href != "repodata/primary.xml.gz" || r.Checksum.Type != "sha512" {
				t.Errorf("primary %+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t)
			want, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
			if err != nil {
				t.Fatal(err)
			}
			md, err := ParseRepomd(bytes.NewReader(want))
			if err != nil {
				t.Fatalf("ParseRepomd: %v\n%s", err, want)
			}
			tt.check(t, md)
			var got bytes.Buffer
			if err := WriteRepomd(&got, md); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("WriteRepomd differs from createrepo_c:\n%s", lineDiff(string(want), got.String()))
			}
		})
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(want, got string) string {
	w, g := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\nwant %q\n got %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}

// TestParseRepomdCorpus reads the repomd.xml files of the corpus (written
// by createrepo_c, yum and others over the years) and checks facts read
// off them by hand.
func TestParseRepomdCorpus(t *testing.T) {
	corpus := testenv.RequireCorpus(t)
	crTest := filepath.Join(corpus, "createrepo_c-testdata", "tests", "testdata")
	dnfTest := filepath.Join(corpus, "libdnf-testdata", "data", "tests")
	parse := func(t *testing.T, dir string) *Repomd {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
		if err != nil {
			t.Skipf("corpus incomplete: %v", err)
		}
		md, err := ParseRepomd(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return md
	}
	types := func(md *Repomd) string {
		var s []string
		for _, r := range md.Records {
			s = append(s, r.Type)
		}
		return strings.Join(s, " ")
	}

	t.Run("repo_00", func(t *testing.T) {
		md := parse(t, filepath.Join(crTest, "repo_00"))
		if md.Revision != "1533242352" || types(md) != "primary filelists other primary_zck filelists_zck other_zck" {
			t.Errorf("revision %q types %q", md.Revision, types(md))
		}
		want := Record{
			Type:           "primary_zck",
			Checksum:       Checksum{"sha256", "e0ac03cd77e95e724dbf90ded0dba664e233315a8940051dd8882c56b9878595"},
			OpenChecksum:   Checksum{"sha256", "e1e2ffd2fb1ee76f87b70750d00ca5677a252b397ab6c2389137a0c33e7b359f"},
			HeaderChecksum: Checksum{"sha256", "243baf7c02f5241d46f2e8c237ebc7ea7e257ca993d9cfe1304254c7ba7f6546"},
			Href:           "repodata/e0ac03cd77e95e724dbf90ded0dba664e233315a8940051dd8882c56b9878595-primary.xml.zck",
			Timestamp:      1533242352,
			Size:           269,
			OpenSize:       167,
			HeaderSize:     132,
		}
		if got := md.Record("primary_zck"); got == nil || *got != want {
			t.Errorf("primary_zck\n got %+v\nwant %+v", got, want)
		}
		if p := md.Record("primary"); p == nil || p.Size != 134 || p.OpenSize != 167 || p.HeaderChecksum != (Checksum{}) || p.HeaderSize != 0 {
			t.Errorf("primary %+v", p)
		}
	})
	t.Run("repo_01", func(t *testing.T) {
		// Old createrepo layout: records in its own order, one-space
		// indentation.
		md := parse(t, filepath.Join(crTest, "repo_01"))
		if md.Revision != "1334667230" || types(md) != "filelists other primary" {
			t.Errorf("revision %q types %q", md.Revision, types(md))
		}
		if p := md.Record("primary"); p == nil || p.Checksum.Value != "6c662d665c24de9a0f62c17d8fa50622307739d7376f0d19097ca96c6d7f5e3e" || p.Size != 782 || p.OpenSize != 2085 {
			t.Errorf("primary %+v", p)
		}
	})
	t.Run("repo_02", func(t *testing.T) {
		md := parse(t, filepath.Join(crTest, "repo_02"))
		if types(md) != "filelists other primary" {
			t.Errorf("types %q", types(md))
		}
		if o := md.Record("other"); o == nil || o.Href != "repodata/ab5d3edeea50f9b4ec5ee13e4d25c147e318e3a433dbabc94d3461f58ac28255-other.xml.gz" || o.Timestamp != 1334670929 {
			t.Errorf("other %+v", o)
		}
	})
	t.Run("repo_03", func(t *testing.T) {
		md := parse(t, filepath.Join(crTest, "repo_03"))
		if len(md.Records) != 7 {
			t.Errorf("types %q", types(md))
		}
		if m := md.Record("modules"); m == nil || m.Timestamp != 1554130302 || m.Size != 1044 || m.OpenSize != 2289 || !strings.HasSuffix(m.Href, "-modules.yaml.xz") {
			t.Errorf("modules %+v", m)
		}
	})
	t.Run("repo_04", func(t *testing.T) {
		md := parse(t, filepath.Join(crTest, "repo_04"))
		if types(md) != "primary filelists other filelists-ext" {
			t.Errorf("types %q", types(md))
		}
		if f := md.Record("filelists-ext"); f == nil || f.OpenChecksum.Value != "5fb360be6e4e5d62f25db2fc7068a76a6df6912843e28af9aabc06498a06fc10" || f.OpenSize != 868 {
			t.Errorf("filelists-ext %+v", f)
		}
	})
	t.Run("repo_with_additional_metadata", func(t *testing.T) {
		md := parse(t, filepath.Join(crTest, "repo_with_additional_metadata"))
		if len(md.Records) != 17 {
			t.Errorf("types %q", types(md))
		}
		for _, typ := range []string{"group", "group_gz", "modules", "updateinfo"} {
			if r := md.Record(typ); r == nil || r.OpenChecksum != (Checksum{}) || r.OpenSize != -1 {
				t.Errorf("%s %+v: want no open-checksum, no open-size", typ, r)
			}
		}
		if r := md.Record("other_db"); r == nil || r.DatabaseVersion != 10 || r.OpenSize != 24576 {
			t.Errorf("other_db %+v", r)
		}
		if r := md.Record("modules_zck"); r == nil || r.HeaderSize != 328 || r.OpenSize != 511344 {
			t.Errorf("modules_zck %+v", r)
		}
	})
	t.Run("hawkey-yum", func(t *testing.T) {
		// An updateinfo record with neither size nor open-checksum.
		md := parse(t, filepath.Join(dnfTest, "hawkey", "yum"))
		if types(md) != "filelists prestodelta other primary updateinfo" {
			t.Errorf("types %q", types(md))
		}
		want := Record{
			Type:      "updateinfo",
			Checksum:  Checksum{"sha256", "3888e1b46e2cb71d6a85f74d1f6d88652a9e3ed2bb85b30ae592aa0c0de91627"},
			Href:      "repodata/updateinfo.xml.gz",
			Timestamp: 1284438472,
			OpenSize:  -1,
		}
		if got := md.Record("updateinfo"); got == nil || *got != want {
			t.Errorf("updateinfo\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("gpg-asc", func(t *testing.T) {
		// Old yum: location first, open-checksum last, float timestamp.
		md := parse(t, filepath.Join(dnfTest, "gpg-asc"))
		want := Record{
			Type:            "primary_db",
			Checksum:        Checksum{"sha256", "3b7612fe14a6fbc06e3484e738edd08ca30ac14c2d86ea72feef8a39cfee757a"},
			OpenChecksum:    Checksum{"sha256", "4981bf8b555f84f392455b5e91f09954b9f9e187f43c33921bce9cd911917210"},
			Href:            "repodata/primary.sqlite.bz2",
			Timestamp:       1257935775,
			Size:            10126790,
			OpenSize:        43433984,
			DatabaseVersion: 10,
		}
		if md.Revision != "1257930816" || len(md.Records) != 1 || md.Records[0] != want {
			t.Errorf("got %+v\nwant record %+v", md, want)
		}
	})
	t.Run("all libdnf repos", func(t *testing.T) {
		n := 0
		err := filepath.WalkDir(dnfTest, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Name() != "repomd.xml" {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			md, err := ParseRepomd(bytes.NewReader(b))
			if bytes.HasPrefix(b, []byte("../")) {
				// gpg-no-asc and gpg-wrong-asc hold a git symlink
				// copied as a file: its target path, not XML.
				if !errors.Is(err, ErrFormat) {
					t.Errorf("%s: a path, not XML, read as %+v, %v", p, md, err)
				}
				n++
				return nil
			}
			if err != nil {
				t.Errorf("%s: %v", p, err)
				return nil
			}
			if md.Record("primary") == nil && md.Record("primary_db") == nil {
				t.Errorf("%s: no primary", p)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 29 {
			t.Errorf("read %d repomd.xml files, want at least 29", n)
		}
	})
}

// TestWriteRepomdCorpus writes back the corpus's repomd.xml files that
// createrepo_c 0.12 or later wrote: the bytes must be identical.
func TestWriteRepomdCorpus(t *testing.T) {
	corpus := testenv.RequireCorpus(t)
	for _, dir := range []string{
		"createrepo_c-testdata/tests/testdata/repo_00",
		"createrepo_c-testdata/tests/testdata/repo_03",
		"createrepo_c-testdata/tests/testdata/repo_04",
		"createrepo_c-testdata/tests/testdata/repo_koji_01",
		"createrepo_c-testdata/tests/testdata/repo_koji_02",
		"createrepo_c-testdata/tests/testdata/repo_with_additional_metadata",
		"createrepo_c-testdata/tests/testdata/repo_with_duplicate_packages",
		"libdnf-testdata/data/tests/advisories",
		"libdnf-testdata/data/tests/modules/modules/_all/x86_64",
		"azurelinux-repo",
	} {
		t.Run(dir, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(corpus, dir, "repodata", "repomd.xml"))
			if err != nil {
				t.Skipf("corpus incomplete: %v", err)
			}
			md, err := ParseRepomd(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteRepomd(&got, md); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("differs:\n%s", lineDiff(string(want), got.String()))
			}
		})
	}
}

var _ io.Reader = (*errReader)(nil)
