package repo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

var (
	curRepomd = []byte("<repomd>current</repomd>\n")
	oldRepomd = []byte("<repomd>older</repomd>\n")
)

// mmMetalink is shaped like what mirrors.fedoraproject.org serves: four
// hash types, an alternate, rsync URLs, a private mirror, a location.
var mmMetalink = fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Thu, 21 May 2026 19:54:04 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1779326542</mm0:timestamp>
   <size>%d</size>
   <verification>
    <hash type="md5">%s</hash>
    <hash type="sha1">%s</hash>
    <hash type="sha256">%s</hash>
    <hash type="sha512">%s</hash>
   </verification>
   <mm0:alternates>
    <mm0:alternate>
      <mm0:timestamp>1779237150</mm0:timestamp>
      <size>%d</size>
      <verification>
       <hash type="sha256">%s</hash>
      </verification>
    </mm0:alternate>
   </mm0:alternates>
   <resources maxconnections="1">
    <url protocol="https" type="https" location="DE" preference="99">https://b.example.org/pub/epel/9/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="rsync" type="rsync" location="DE" preference="100">rsync://a.example.org/epel/9/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="US" preference="100">https://a.example.org/epel/9/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="http" type="http" location="FR" preference="98" mm0:private="True">http://c.example.org:8080/epel/9/Everything/x86_64/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="US" preference="97">https://a.example.org/epel/9/Everything/x86_64/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>
`, len(curRepomd), strings.Repeat("0", 32), hashOf("sha1", curRepomd), hashOf("sha256", curRepomd), hashOf("sha512", curRepomd),
	len(oldRepomd), hashOf("sha256", oldRepomd))

func TestParseMetalink(t *testing.T) {
	m, err := ParseMetalink(strings.NewReader(mmMetalink))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Versions) != 2 || m.Versions[0].Timestamp != 1779326542 || m.Versions[0].Size != int64(len(curRepomd)) || len(m.Versions[0].Hashes) != 4 {
		t.Errorf("versions %+v", m.Versions)
	}
	if m.Versions[1].Timestamp != 1779237150 || m.Versions[1].Hashes[0] != (repodata.Checksum{Type: "sha256", Value: hashOf("sha256", oldRepomd)}) {
		t.Errorf("alternate %+v", m.Versions[1])
	}
	var bases []string
	for _, mm := range m.Mirrors {
		bases = append(bases, fmt.Sprintf("%d %s", mm.Preference, mm.Base))
	}
	want := []string{
		"100 https://a.example.org/epel/9/Everything/x86_64/",
		"99 https://b.example.org/pub/epel/9/Everything/x86_64/",
		"98 http://c.example.org:8080/epel/9/Everything/x86_64/",
	}
	if !slices.Equal(bases, want) {
		t.Errorf("mirrors\n%q\nwant\n%q", bases, want)
	}
	if m.Mirrors[0].Location != "US" || !strings.HasSuffix(m.Mirrors[0].URL, "/repodata/repomd.xml") {
		t.Errorf("first mirror %+v", m.Mirrors[0])
	}
	if len(m.Skipped) != 1 || !strings.HasPrefix(m.Skipped[0].URL, "rsync://") {
		t.Errorf("skipped %+v", m.Skipped)
	}

	for _, tt := range []struct {
		b    []byte
		want int
	}{{curRepomd, 0}, {oldRepomd, 1}} {
		if v, err := m.Verify(tt.b); v != tt.want || err != nil {
			t.Errorf("Verify(%q) = %d, %v; want %d", tt.b, v, err, tt.want)
		}
	}
	for _, b := range [][]byte{nil, []byte("<repomd>other</repomd>\n"), append(curRepomd, ' ')} {
		if _, err := m.Verify(b); !errors.Is(err, source.ErrVerify) {
			t.Errorf("Verify(%q): %v", b, err)
		}
	}
}

// metalinkDoc wraps a <file> body in a metalink document.
func metalinkDoc(file string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager"><files>` + file + `</files></metalink>`
}

const (
	goodURL  = `<resources><url preference="100">https://m.example/r/repodata/repomd.xml</url></resources>`
	zeroHash = `<verification><hash type="sha256">` + "0000000000000000000000000000000000000000000000000000000000000000" + `</hash></verification>`
)

func TestParseMetalinkStrict(t *testing.T) {
	file := func(body string) string { return metalinkDoc(`<file name="repomd.xml">` + body + `</file>`) }
	tests := map[string]struct {
		doc  string
		want string
	}{
		"empty":               {"", "no <metalink> root element"},
		"not XML":             {"mirrors: a, b", "text before the root element"},
		"HTML":                {"<html><body>502</body></html>", "root element is <html>"},
		"no namespace":        {`<metalink><files/></metalink>`, `want <metalink> in "http://www.metalinker.org/"`},
		"metalink 4":          {`<metalink xmlns="urn:ietf:params:xml:ns:metalink"/>`, "Metalink 4"},
		"truncated":           {metalinkDoc("")[:120], "unexpected EOF"},
		"no repomd.xml":       {metalinkDoc(`<file name="other.xml">` + zeroHash + goodURL + `</file>`), `no <file name="repomd.xml">`},
		"two repomd.xml":      {metalinkDoc(`<file name="repomd.xml">` + zeroHash + goodURL + `</file><file name="repomd.xml"/>`), "more than one"},
		"file without name":   {metalinkDoc(`<file/>`), "<file> without a name"},
		"two files elements":  {strings.Replace(file(zeroHash+goodURL), "</files>", "</files><files/>", 1), "more than one <files>"},
		"no hash":             {file(goodURL), "no sha256 or sha512 hash"},
		"md5 only":            {file(`<verification><hash type="md5">` + strings.Repeat("a", 32) + `</hash></verification>` + goodURL), "no sha256 or sha512"},
		"hash without type":   {file(`<verification><hash>abc</hash></verification>` + goodURL), "<hash> without a type"},
		"short hash":          {file(`<verification><hash type="sha256">abc</hash></verification>` + goodURL), "has 3 characters, want 64"},
		"hash not hex":        {file(`<verification><hash type="sha256">` + strings.Repeat("z", 64) + `</hash></verification>` + goodURL), "not hex"},
		"duplicate hash type": {file(`<verification><hash type="sha256">` + strings.Repeat("a", 64) + `</hash><hash type="SHA256">` + strings.Repeat("b", 64) + `</hash></verification>` + goodURL), "duplicate sha256"},
		"bad size":            {file(`<size>-1</size>` + zeroHash + goodURL), "not a non-negative decimal"},
		"huge size":           {file(`<size>99999999999999999999</size>` + zeroHash + goodURL), "out of range"},
		"duplicate size":      {file(`<size>1</size><size>1</size>` + zeroHash + goodURL), "duplicate <size>"},
		"bad timestamp":       {file(`<mm0:timestamp>yesterday</mm0:timestamp>` + zeroHash + goodURL), "not a non-negative decimal"},
		"duplicate resources": {file(zeroHash + goodURL + goodURL), "duplicate <resources>"},
		"bad preference":      {file(zeroHash + `<resources><url preference="101">https://m.example/repodata/repomd.xml</url></resources>`), "preference"},
		"element in text":     {file(zeroHash + `<resources><url>https://m.example/<b/>repodata/repomd.xml</url></resources>`), "<b> inside <url>"},
		"text in file":        {file(`hello` + zeroHash + goodURL), `unexpected text "hello"`},
		"no URL":              {file(zeroHash), "no mirror URL"},
		"only rsync":          {file(zeroHash + `<resources><url>rsync://m.example/r/repodata/repomd.xml</url></resources>`), "no usable mirror URL"},
		"URL not to repomd":   {file(zeroHash + `<resources><url>https://m.example/r/</url></resources>`), "does not end in /repodata/repomd.xml"},
		"URL without host":    {file(zeroHash + `<resources><url>https:///r/repodata/repomd.xml</url></resources>`), "no host"},
		"trailing element":    {file(zeroHash+goodURL) + "<metalink/>", "after the root element"},
		"bad alternate":       {file(zeroHash + goodURL + `<mm0:alternates><mm0:alternate><size>x</size></mm0:alternate></mm0:alternates>`), "<mm0:alternate> 1"},
		"latin-1 declared":    {`<?xml version="1.0" encoding="ISO-8859-1"?>` + file(zeroHash + goodURL)[len(`<?xml version="1.0" encoding="utf-8"?>`):], "ISO-8859-1"},
		"entity":              {file(zeroHash + `<resources><url>&xxe;</url></resources>`), "entity"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			m, err := ParseMetalink(strings.NewReader(tt.doc))
			if err == nil {
				t.Fatalf("no error; parsed %+v", m)
			}
			if !errors.Is(err, ErrMirrorList) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one wrapping ErrMirrorList mentioning %q", err, tt.want)
			}
		})
	}
}

func TestParseMetalinkLenient(t *testing.T) {
	// What real metalinks contain and rpmirror has no use for.
	doc := metalinkDoc(`<file name="other.xml"><size>x</size></file>
<file name="repomd.xml">
  <!-- comment -->
  <mm0:timestamp> 17 </mm0:timestamp>
  <verification>
    <hash type="ripemd160">not checked</hash>
    <hash type="SHA256"> ` + strings.Repeat("AB", 32) + ` </hash>
    <pieces length="1" type="sha1"><hash piece="0">x</hash></pieces>
  </verification>
  <mm0:alternates>
    <mm0:alternate><mm0:timestamp>1</mm0:timestamp></mm0:alternate>
  </mm0:alternates>
  <os>Linux</os>
  <resources maxconnections="1">
    <url protocol="ftp" type="ftp">ftp://m.example/r/repodata/repomd.xml</url>
    <url protocol="https" type="https">HTTPS://m.example/r%20x/repodata/repomd.xml</url>
  </resources>
</file>`)
	m, err := ParseMetalink(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Versions[0]; v.Timestamp != 17 || v.Size != -1 || len(v.Hashes) != 1 || v.Hashes[0].Value != strings.Repeat("ab", 32) {
		t.Errorf("current %+v", v)
	}
	if len(m.Versions) != 2 || m.Versions[1].verifiable() {
		t.Errorf("alternates %+v", m.Versions[1:])
	}
	if len(m.Mirrors) != 1 || m.Mirrors[0].Base != "https://m.example/r%20x/" || m.Mirrors[0].Preference != 0 {
		t.Errorf("mirrors %+v", m.Mirrors)
	}
	if len(m.Skipped) != 1 {
		t.Errorf("skipped %+v", m.Skipped)
	}
}

func TestParseMirrorList(t *testing.T) {
	doc := "\ufeff# repo = epel-9 arch = x86_64 country = DE\n" +
		"\n" +
		"  https://a.example/epel/9/x86_64/  \r\n" +
		"\thttp://b.example:8080/epel/9/x86_64\n" +
		"ftp://c.example/epel/9/x86_64/\n" +
		"rsync://d.example/epel/9/x86_64/\n" +
		"/srv/local/epel\n" +
		"https://e.example/epel/$releasever/$basearch/\n" +
		"HTTPS://a.example/epel/9/x86_64/\n" +
		"https://f.example/r?token=abc\n"
	ml, err := ParseMirrorList(strings.NewReader(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://a.example/epel/9/x86_64/", "http://b.example:8080/epel/9/x86_64/", "https://f.example/r/?token=abc"}
	if !slices.Equal(ml.Bases, want) {
		t.Errorf("bases\n%q\nwant\n%q", ml.Bases, want)
	}
	if len(ml.Skipped) != 4 {
		t.Errorf("skipped %+v", ml.Skipped)
	}
	expand := func(s string) string {
		return strings.NewReplacer("$releasever", "9", "$basearch", "x86_64").Replace(s)
	}
	ml, err = ParseMirrorList(strings.NewReader(doc), expand)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ml.Bases, "https://e.example/epel/9/x86_64/") {
		t.Errorf("expanded line missing: %q", ml.Bases)
	}

	for doc, want := range map[string]string{
		"":                                      "no mirror URL",
		"# only comments\n\n":                   "no mirror URL",
		"ftp://a/\nrsync://b/\n":                "no usable mirror URL (2 skipped",
		"<html>\n<body>Bad gateway</body>\n":    `line 1: "<html>" is not a URL`,
		"https://a/\nmirror.example.org/epel\n": "line 2",
		"https:///no-host/\n":                   "no host",
		"https://a/b#frag\n":                    "fragment",
		"https://a/%zz/\n":                      "not a valid URL",
		strings.Repeat("x", 20000):              "longer than",
	} {
		_, err := ParseMirrorList(strings.NewReader(doc), nil)
		if !errors.Is(err, ErrMirrorList) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40q: error %v, want one mentioning %q", doc, err, want)
		}
	}
}
