package repo

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

const repomdPath = "/repodata/repomd.xml"

// checkRepo runs Fingerprint, List, Fetch of every candidate and
// Metadata with FetchRecord of every record against r, which serves dir.
func checkRepo(t *testing.T, r *Repo, dir, mirror string) {
	t.Helper()
	ctx := t.Context()
	repomd := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
	fp, err := r.Fingerprint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fp != sha256hex(repomd) {
		t.Errorf("fingerprint %s, want the sha256 of repomd.xml %s", fp, sha256hex(repomd))
	}
	cands, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != len(rpmtest.Demo()) {
		t.Fatalf("%d candidates, want %d", len(cands), len(rpmtest.Demo()))
	}
	var nevras []string
	for i := range cands {
		c := &cands[i]
		nevras = append(nevras, c.NEVRA())
		file := readFile(t, filepath.Join(dir, c.Href))
		if c.Size != int64(len(file)) || c.Checksum != (repodata.Checksum{Type: "sha256", Value: sha256hex(file)}) {
			t.Errorf("%s: size %d checksum %v, the file has %d bytes and sha256 %s", c.Href, c.Size, c.Checksum, len(file), sha256hex(file))
		}
		if !strings.HasPrefix(c.Href, "Packages/") || c.Package == nil || c.Package.Name != c.Name || c.Origin != mirror+c.Href {
			t.Errorf("candidate %+v", c)
		}
		b, err := fetchVerify(ctx, r, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, file) {
			t.Errorf("%s: fetched bytes differ", c.Href)
		}
	}
	for _, s := range rpmtest.Demo() {
		if !slices.Contains(nevras, s.NEVRA()) {
			t.Errorf("%s not listed (got %v)", s.NEVRA(), nevras)
		}
	}

	snap, err := r.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap.RepomdXML, repomd) || snap.Fingerprint != fp || snap.Mirror != mirror {
		t.Errorf("snapshot: %d bytes of repomd.xml, fingerprint %s, mirror %s", len(snap.RepomdXML), snap.Fingerprint, snap.Mirror)
	}
	if asc := readFile(t, filepath.Join(dir, "repodata", "repomd.xml.asc")); !bytes.Equal(snap.RepomdAsc, asc) {
		t.Error("repomd.xml.asc differs")
	}
	var types []string
	for _, rec := range snap.Additional() {
		types = append(types, rec.Type)
	}
	if !slices.Equal(types, []string{"group", "group_gz", "updateinfo"}) {
		t.Errorf("additional records %v, want group, group_gz, updateinfo", types)
	}
	for i := range snap.Repomd.Records {
		rec := &snap.Repomd.Records[i]
		var buf bytes.Buffer
		if err := snap.FetchRecord(ctx, rec, &buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), readFile(t, filepath.Join(dir, rec.Href))) {
			t.Errorf("record %s: bytes differ", rec.Type)
		}
	}
	if ents, _ := os.ReadDir(r.cfg.TempDir); len(ents) != 0 {
		t.Errorf("%d files left in TempDir", len(ents))
	}
}

func TestBaseURL(t *testing.T) {
	dir := demoRepo(t, "gz")
	s := newServer(t, dir)
	r := baseRepo(t, s.URL+"/")
	checkRepo(t, r, dir, s.URL+"/")
	for _, p := range []string{repomdPath, repomdPath + ".asc"} {
		reqs := s.requests(p)
		if len(reqs) != 1 || reqs[0].Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: %d requests, want 1 with Cache-Control: no-cache", p, len(reqs))
		}
	}
}

// TestBaseURLWithoutSlash checks that a base URL without a trailing
// slash names the directory, as dnf reads it.
func TestBaseURLWithoutSlash(t *testing.T) {
	dir := demoRepo(t, "gz")
	mux := http.NewServeMux()
	mux.Handle("/sub/", http.StripPrefix("/sub/", http.FileServer(http.Dir(dir))))
	s := newServer(t, "")
	s.mu.Lock()
	s.fallback = mux
	s.mu.Unlock()
	r := baseRepo(t, s.URL+"/sub")
	checkRepo(t, r, dir, s.URL+"/sub/")
}

func TestCompressionTypes(t *testing.T) {
	for _, comp := range []string{"xz", "bz2"} {
		t.Run(comp, func(t *testing.T) {
			dir := demoRepo(t, comp)
			s := newServer(t, dir)
			r := baseRepo(t, s.URL+"/")
			cands, err := r.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != len(rpmtest.Demo()) {
				t.Errorf("%d candidates", len(cands))
			}
			md, _ := r.Metadata(t.Context())
			if h := md.Repomd.Record("primary").Href; compress.FromFilename(h).String() != comp {
				t.Errorf("primary %s is not %s", h, comp)
			}
		})
	}
}

func TestMirrorList(t *testing.T) {
	dir := demoRepo(t, "gz")
	good := newServer(t, dir)
	bad := always500(t)
	list := newServer(t, "")
	list.serve("/mirrorlist", fmt.Appendf(nil, `# repo = demo arch = x86_64 country = global
  %s

ftp://ftp.example.invalid/demo/
rsync://rsync.example.invalid/demo/
%s
%s/$basearch/
	%s/   
`, deadURL(t), bad.URL+"/", good.URL, good.URL))
	cfg := testConfig()
	cfg.MirrorList = list.URL + "/mirrorlist"
	r := newRepo(t, cfg)
	checkRepo(t, r, dir, good.URL+"/")
	if reqs := list.requests("/mirrorlist"); len(reqs) != 1 || reqs[0].Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("mirrorlist: %d requests", len(reqs))
	}
	// The 500 mirror was given 1 + Retries attempts at repomd.xml, and is
	// asked again only after the good one failed.
	if n := len(bad.requests(repomdPath)); n != 3 {
		t.Errorf("failing mirror: %d repomd.xml requests, want 3", n)
	}
	if n := bad.count(); n != 3 {
		t.Errorf("failing mirror: %d requests in all, want 3", n)
	}
}

func TestMirrorListExpand(t *testing.T) {
	dir := demoRepo(t, "gz")
	good := newServer(t, "")
	good.mu.Lock()
	good.fallback = http.StripPrefix("/x86_64", http.FileServer(http.Dir(dir)))
	good.mu.Unlock()
	list := newServer(t, "")
	list.serve("/ml", []byte(good.URL+"/$basearch/\n"))
	cfg := testConfig()
	cfg.MirrorList = list.URL + "/ml"
	cfg.Expand = func(s string) string { return strings.ReplaceAll(s, "$basearch", "x86_64") }
	r := newRepo(t, cfg)
	checkRepo(t, r, dir, good.URL+"/x86_64/")
}

func TestMirrorListErrors(t *testing.T) {
	list := newServer(t, "")
	list.serve("/html", []byte("<html><body>Service unavailable</body></html>\n"))
	list.serve("/empty", []byte("# nothing here\n"))
	for path, want := range map[string][]string{
		"/html":    {"line 1", "is not a URL"},
		"/empty":   {"no mirror URL"},
		"/missing": {"404"},
	} {
		cfg := testConfig()
		cfg.MirrorList = list.URL + path
		r := newRepo(t, cfg)
		_, err := r.Fingerprint(t.Context())
		wantErr(t, err, nil, want...)
	}
}

// metalinkFor returns a MirrorManager-style metalink for repomd.xml
// versions (the first the current one) and mirror base URLs with their
// preferences.
func metalinkFor(versions [][]byte, mirrors map[string]int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" pubdate="Thu, 21 May 2026 19:54:04 GMT" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
`)
	details := func(indent string, v []byte) {
		fmt.Fprintf(&b, "%s<mm0:timestamp>%d</mm0:timestamp>\n%s<size>%d</size>\n%s<verification>\n", indent, 1700000000+len(v), indent, len(v), indent)
		for _, typ := range []string{"md5", "sha1", "sha256", "sha512"} {
			h := hashOf(typ, v)
			fmt.Fprintf(&b, "%s <hash type=%q>%s</hash>\n", indent, typ, h)
		}
		fmt.Fprintf(&b, "%s</verification>\n", indent)
	}
	details("   ", versions[0])
	if len(versions) > 1 {
		b.WriteString("   <mm0:alternates>\n")
		for _, v := range versions[1:] {
			b.WriteString("    <mm0:alternate>\n")
			details("      ", v)
			b.WriteString("    </mm0:alternate>\n")
		}
		b.WriteString("   </mm0:alternates>\n")
	}
	b.WriteString("   <resources maxconnections=\"1\">\n")
	b.WriteString("    <url protocol=\"rsync\" type=\"rsync\" location=\"US\" preference=\"100\">rsync://rsync.example.invalid/demo/repodata/repomd.xml</url>\n")
	keys := make([]string, 0, len(mirrors))
	for k := range mirrors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, base := range keys {
		fmt.Fprintf(&b, "    <url protocol=\"http\" type=\"http\" location=\"DE\" preference=\"%d\">%srepodata/repomd.xml</url>\n", mirrors[base], base)
	}
	b.WriteString("   </resources>\n  </file>\n </files>\n</metalink>\n")
	return b.Bytes()
}

func hashOf(typ string, b []byte) string {
	if typ == "md5" {
		// The parser skips nothing it knows: give it a well-formed value.
		return strings.Repeat("0", 32)
	}
	h, err := repodata.NewHash(typ)
	if err != nil {
		panic(err)
	}
	h.Write(b)
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestMetalink(t *testing.T) {
	dir := demoRepo(t, "gz")
	repomd := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
	good, bad := newServer(t, dir), always500(t)
	ml := newServer(t, "")
	ml.serve("/metalink", metalinkFor([][]byte{repomd}, map[string]int{bad.URL + "/": 100, good.URL + "/": 50, deadURL(t): 99}))
	cfg := testConfig()
	cfg.Metalink = ml.URL + "/metalink"
	r := newRepo(t, cfg)
	checkRepo(t, r, dir, good.URL+"/")
	snap, _ := r.Metadata(t.Context())
	if snap.MetalinkVersion != 0 {
		t.Errorf("MetalinkVersion %d, want 0", snap.MetalinkVersion)
	}
	if n := len(bad.requests(repomdPath)); n != 3 {
		t.Errorf("preferred failing mirror: %d requests, want 3", n)
	}
	if reqs := ml.requests("/metalink"); len(reqs) != 1 || reqs[0].Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("metalink: %d requests", len(reqs))
	}
}

func TestMetalinkMismatch(t *testing.T) {
	dir := demoRepo(t, "gz")
	repomd := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
	a, b := newServer(t, dir), newServer(t, dir)
	for name, versions := range map[string][][]byte{
		"other content":                  {[]byte("<repomd>a different one</repomd>")},
		"other content of the same size": {append([]byte(" "), repomd[:len(repomd)-1]...)},
	} {
		t.Run(name, func(t *testing.T) {
			ml := newServer(t, "")
			ml.serve("/metalink", metalinkFor(versions, map[string]int{a.URL + "/": 100, b.URL + "/": 90}))
			cfg := testConfig()
			cfg.Metalink = ml.URL + "/metalink"
			r := newRepo(t, cfg)
			_, err := r.Fingerprint(t.Context())
			wantErr(t, err, source.ErrVerify, "matches none of the 1 versions", "all 2 mirrors failed")
			if _, err := r.List(t.Context()); !errors.Is(err, source.ErrVerify) {
				t.Errorf("List after a failed Fingerprint: %v", err)
			}
			if n := len(a.requests("/repodata/repomd.xml.asc")); n != 0 {
				t.Errorf("%d requests for the .asc of a rejected repomd.xml", n)
			}
		})
	}
}

// TestMetalinkAlternate: a mirror that serves an older repomd.xml listed
// among the metalink's alternates is accepted, but one serving the
// current version is preferred when there is one.
func TestMetalinkAlternate(t *testing.T) {
	dir := demoRepo(t, "gz")
	old := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
	cur := bytes.Replace(old, []byte("<revision>1700000000</revision>"), []byte("<revision>1700000001</revision>"), 1)
	if bytes.Equal(cur, old) {
		t.Fatal("no revision to change")
	}
	oldMirror := newServer(t, dir)
	t.Run("only the older version", func(t *testing.T) {
		ml := newServer(t, "")
		ml.serve("/metalink", metalinkFor([][]byte{cur, old}, map[string]int{oldMirror.URL + "/": 100}))
		cfg := testConfig()
		cfg.Metalink = ml.URL + "/metalink"
		r := newRepo(t, cfg)
		checkRepo(t, r, dir, oldMirror.URL+"/")
		snap, _ := r.Metadata(t.Context())
		if snap.MetalinkVersion != 1 {
			t.Errorf("MetalinkVersion %d, want 1", snap.MetalinkVersion)
		}
	})
	t.Run("the current version on a less preferred mirror", func(t *testing.T) {
		curMirror := newServer(t, dir)
		curMirror.serve(repomdPath, cur)
		ml := newServer(t, "")
		ml.serve("/metalink", metalinkFor([][]byte{cur, old}, map[string]int{oldMirror.URL + "/": 100, curMirror.URL + "/": 90}))
		cfg := testConfig()
		cfg.Metalink = ml.URL + "/metalink"
		r := newRepo(t, cfg)
		fp, err := r.Fingerprint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		snap, _ := r.Metadata(t.Context())
		if fp != sha256hex(cur) || snap.MetalinkVersion != 0 || snap.Mirror != curMirror.URL+"/" {
			t.Errorf("accepted version %d from %s", snap.MetalinkVersion, snap.Mirror)
		}
	})
}

func TestMetalinkErrors(t *testing.T) {
	ml := newServer(t, "")
	ml.serve("/v4", []byte(`<?xml version="1.0"?><metalink xmlns="urn:ietf:params:xml:ns:metalink"/>`))
	ml.serve("/none", metalinkFor([][]byte{[]byte("x")}, nil))
	for path, want := range map[string][]string{
		"/v4":      {"Metalink 4"},
		"/none":    {"no usable mirror URL", "rsync"},
		"/missing": {"404"},
	} {
		cfg := testConfig()
		cfg.Metalink = ml.URL + path
		r := newRepo(t, cfg)
		_, err := r.Fingerprint(t.Context())
		wantErr(t, err, nil, want...)
	}
}

func TestRepomdFailover(t *testing.T) {
	dir := demoRepo(t, "gz")
	good := newServer(t, dir)
	for name, first := range map[string]func(testing.TB) string{
		"down": deadURL,
		"500":  func(t testing.TB) string { return always500(t).URL + "/" },
		"404":  func(t testing.TB) string { return newServer(t, "").URL + "/" },
		"malformed": func(t testing.TB) string {
			s := newServer(t, dir)
			s.serve(repomdPath, []byte("<repomd>"))
			return s.URL + "/"
		},
		"asc 500": func(t testing.TB) string {
			s := newServer(t, dir)
			s.handle(repomdPath+".asc", status(500))
			return s.URL + "/"
		},
	} {
		t.Run(name, func(t *testing.T) {
			r := baseRepo(t, first(t), good.URL+"/")
			checkRepo(t, r, dir, good.URL+"/")
		})
	}
}

func TestRepomdErrors(t *testing.T) {
	dir := demoRepo(t, "gz")
	for name, tt := range map[string]struct {
		h       http.HandlerFunc
		want    error
		mention []string
	}{
		"malformed": {func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<repomd><data></repomd>")) }, repodata.ErrFormat, []string{"repomd.xml"}},
		"not XML":   {func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, repodata.ErrFormat, nil},
		"bad href": {func(w http.ResponseWriter, r *http.Request) {
			b := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
			w.Write(bytes.Replace(b, []byte(`href="repodata/`), []byte(`href="../../`), 1))
		}, repodata.ErrFormat, []string{"outside the repository"}},
		"404":       {status(404), ErrNotFound, []string{"repodata/repomd.xml", "404"}},
		"too large": {func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, maxRepomdSize+1)) }, ErrTooLarge, nil},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, dir)
			s.handle(repomdPath, tt.h)
			r := baseRepo(t, s.URL+"/")
			_, err := r.Fingerprint(t.Context())
			t.Log(err)
			wantErr(t, err, tt.want, tt.mention...)
		})
	}
}

// hostileRepo serves dir with its primary.xml rewritten by edit (on the
// uncompressed XML) and the primary record by editRec, under a new name
// and with a matching repomd.xml.
func hostileRepo(t *testing.T, dir string, edit func(string) string, editRec func(*repodata.Record, []byte)) *server {
	t.Helper()
	md, err := repodata.ParseRepomd(bytes.NewReader(readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))))
	if err != nil {
		t.Fatal(err)
	}
	rec := md.Record("primary")
	zr, err := gzip.NewReader(bytes.NewReader(readFile(t, filepath.Join(dir, rec.Href))))
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		xml = []byte(edit(string(xml)))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(xml)
	zw.Close()
	rec.Href = "repodata/" + sha256hex(gz.Bytes()) + "-primary.xml.gz"
	rec.Checksum = repodata.Checksum{Type: "sha256", Value: sha256hex(gz.Bytes())}
	rec.OpenChecksum = repodata.Checksum{Type: "sha256", Value: sha256hex(xml)}
	rec.Size, rec.OpenSize = int64(gz.Len()), int64(len(xml))
	served := rec.Href
	if editRec != nil {
		editRec(rec, gz.Bytes())
	}
	var repomd bytes.Buffer
	if err := repodata.WriteRepomd(&repomd, md); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, dir)
	s.serve(repomdPath, repomd.Bytes())
	s.handle(repomdPath+".asc", status(404))
	s.serve("/"+served, gz.Bytes())
	return s
}

func TestListHostile(t *testing.T) {
	dir := demoRepo(t, "gz")
	const hello = `href="Packages/rpmirror-demo-hello-1.0-1.noarch.rpm"`
	replaceHref := func(to string) func(string) string {
		return func(s string) string {
			if !strings.Contains(s, hello) {
				t.Fatalf("no %s in primary.xml", hello)
			}
			return strings.Replace(s, hello, to, 1)
		}
	}
	bomb := func(string) string {
		return `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="0">
<!-- ` + strings.Repeat("boom ", 2<<20) + ` -->
</metadata>
`
	}
	tests := []struct {
		name    string
		edit    func(string) string
		editRec func(*repodata.Record, []byte)
		want    error
		mention []string
	}{
		{"href with ..", replaceHref(`href="../../../etc/passwd"`), nil, repodata.ErrFormat, []string{"rpmirror-demo-hello", "../../../etc/passwd", "outside the repository"}},
		{"href with .. inside", replaceHref(`href="Packages/../../x.rpm"`), nil, repodata.ErrFormat, []string{"Packages/../../x.rpm"}},
		{"absolute URL href", replaceHref(`href="http://evil.example/x.rpm"`), nil, repodata.ErrFormat, []string{"http://evil.example/x.rpm"}},
		{"absolute path href", replaceHref(`href="/etc/passwd"`), nil, repodata.ErrFormat, []string{"absolute path"}},
		{"xml:base not http", replaceHref(`xml:base="file:///srv/" ` + hello), nil, repodata.ErrFormat, []string{"xml:base", "file:///srv/"}},
		{"duplicate href", func(s string) string {
			return strings.Replace(s, `href="Packages/rpmirror-demo-docs-1.0-1.noarch.rpm"`, hello, 1)
		}, nil, repodata.ErrFormat, []string{"share href"}},
		{"md5 package checksum", func(s string) string {
			i := strings.Index(s, `<checksum type="sha256" pkgid="YES">`)
			return s[:i] + `<checksum type="md5" pkgid="YES">` + strings.Repeat("a", 32) + s[i+len(`<checksum type="sha256" pkgid="YES">`)+64:]
		}, nil, source.ErrVerify, []string{"md5"}},
		{"primary checksum mismatch", nil, func(rec *repodata.Record, gz []byte) {
			rec.Checksum.Value = strings.Repeat("0", 64)
		}, source.ErrVerify, []string{"primary", "repomd.xml says 0000"}},
		{"primary size mismatch", nil, func(rec *repodata.Record, gz []byte) {
			rec.Size--
		}, source.ErrVerify, []string{"primary"}},
		{"primary missing", nil, func(rec *repodata.Record, gz []byte) {
			rec.Href = "repodata/" + strings.Repeat("1", 64) + "-primary.xml.gz"
		}, ErrNotFound, []string{"repodata/1111", "404"}},
		{"primary checksum md5", nil, func(rec *repodata.Record, gz []byte) {
			rec.Checksum = repodata.Checksum{Type: "md5", Value: strings.Repeat("0", 32)}
		}, source.ErrVerify, []string{"md5"}},
		{"primary zchunk", nil, func(rec *repodata.Record, gz []byte) {
			rec.Href = strings.TrimSuffix(rec.Href, ".gz") + ".zck"
		}, nil, []string{"zchunk"}},
		// Stopped after the declared open-size, far below the
		// configured maximum.
		{"decompression bomb", bomb, func(rec *repodata.Record, gz []byte) {
			rec.OpenSize = 1000 // lies
		}, compress.ErrTooLarge, []string{"primary", "open-size 1000"}},
		{"decompression bomb, no open-size", bomb, func(rec *repodata.Record, gz []byte) {
			rec.OpenSize = -1
		}, compress.ErrTooLarge, []string{"primary"}},
		{"declared open-size too large", bomb, nil, compress.ErrTooLarge, []string{"open-size"}},
		{"not primary.xml", func(string) string { return "<html>oops</html>" }, nil, repodata.ErrFormat, []string{"primary"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostileRepo(t, dir, tt.edit, tt.editRec)
			cfg := testConfig()
			cfg.BaseURLs = []string{s.URL + "/"}
			cfg.MaxMetadataSize = 1 << 20
			r := newRepo(t, cfg)
			cands, err := r.List(t.Context())
			t.Log(err)
			wantErr(t, err, tt.want, tt.mention...)
			if cands != nil {
				t.Errorf("%d candidates returned with the error", len(cands))
			}
			if ents, _ := os.ReadDir(r.cfg.TempDir); len(ents) != 0 {
				t.Errorf("%d files left in TempDir", len(ents))
			}
		})
	}
}

// TestListXMLBase: a package whose location has an xml:base is fetched
// from there and published under its href.
func TestListXMLBase(t *testing.T) {
	dir := demoRepo(t, "gz")
	const href = "Packages/rpmirror-demo-hello-1.0-1.noarch.rpm"
	elsewhere := newServer(t, "")
	elsewhere.serve("/koji/"+href, readFile(t, filepath.Join(dir, href)))
	base := elsewhere.URL + "/koji/"
	s := hostileRepo(t, dir, func(x string) string {
		return strings.Replace(x, `<location href="`+href+`"/>`, `<location xml:base="`+base+`" href="`+href+`"/>`, 1)
	}, nil)
	s.handle("/"+href, status(404)) // not on the mirror
	r := baseRepo(t, s.URL+"/")
	cands, err := r.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cands, func(c source.Candidate) bool { return c.Href == href })
	if i < 0 {
		t.Fatal("package not listed")
	}
	c := &cands[i]
	if c.Origin != base+href || c.Package.LocationBase != base {
		t.Errorf("origin %s base %s", c.Origin, c.Package.LocationBase)
	}
	if _, err := fetchVerify(t.Context(), r, c); err != nil {
		t.Fatal(err)
	}
	if len(elsewhere.requests("/koji/"+href)) != 1 || len(s.requests("/"+href)) != 0 {
		t.Error("not fetched from xml:base only")
	}
}

// TestFetchRecordVerifies: a record whose bytes differ on the first
// mirror is fetched from the next one, and w receives only verified
// bytes.
func TestFetchRecordVerifies(t *testing.T) {
	dir := demoRepo(t, "gz")
	bad, good := newServer(t, dir), newServer(t, dir)
	r := baseRepo(t, bad.URL+"/", good.URL+"/")
	snap, err := r.Metadata(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec := snap.Repomd.Record("updateinfo")
	orig := readFile(t, filepath.Join(dir, rec.Href))
	bad.serve("/"+rec.Href, bytes.Repeat([]byte{'x'}, len(orig)))
	var buf bytes.Buffer
	if err := snap.FetchRecord(t.Context(), rec, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), orig) {
		t.Error("wrong bytes")
	}
	good.serve("/"+rec.Href, bytes.Repeat([]byte{'y'}, len(orig)))
	buf.Reset()
	err = snap.FetchRecord(t.Context(), rec, &buf)
	wantErr(t, err, source.ErrVerify, "updateinfo", "all 2 mirrors failed")
	if buf.Len() != 0 {
		t.Errorf("%d unverified bytes written", buf.Len())
	}
	big := *rec
	big.Size = r.cfg.MaxCompressedSize + 1
	wantErr(t, snap.FetchRecord(t.Context(), &big, &buf), ErrTooLarge)
}

// TestSnapshotConsistency: List uses the repomd.xml that Fingerprint
// accepted, and a new Fingerprint replaces it.
func TestSnapshotConsistency(t *testing.T) {
	dir := demoRepo(t, "gz")
	s := newServer(t, dir)
	r := baseRepo(t, s.URL+"/")
	fp1, err := r.Fingerprint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Upstream changes after the fingerprint: List still reads the
	// primary the fingerprinted repomd.xml names.
	s.serve(repomdPath, []byte("<repomd>broken</repomd>"))
	if _, err := r.List(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(s.requests(repomdPath)); n != 1 {
		t.Errorf("List fetched repomd.xml again (%d requests)", n)
	}
	if _, err := r.Fingerprint(t.Context()); err == nil {
		t.Fatal("broken repomd.xml accepted")
	}
	// A failed Fingerprint keeps the last good snapshot.
	snap, _ := r.Metadata(t.Context())
	if snap.Fingerprint != fp1 {
		t.Error("snapshot lost")
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"nothing":          {},
		"two":              {BaseURLs: []string{"http://a/"}, MirrorList: "http://b/"},
		"ftp base":         {BaseURLs: []string{"ftp://a/"}},
		"relative base":    {BaseURLs: []string{"a/b"}},
		"fragment":         {BaseURLs: []string{"http://a/b#c"}},
		"metalink not URL": {Metalink: "mirrors.example"},
		"negative retries": {BaseURLs: []string{"http://a/"}, Retries: -1},
	} {
		if _, err := New(cfg, testLogger(t)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New(Config{BaseURLs: []string{"http://a/"}}, nil); err == nil {
		t.Error("nil logger accepted")
	}
}

// Additional leaves out every form of the package metadata, createrepo_c
// 1.x's filelists_ext included: a mirror that regenerates those must not
// carry the upstream's.
func TestSnapshotAdditionalTypes(t *testing.T) {
	md := &repodata.Repomd{}
	for _, typ := range []string{"primary", "filelists", "other", "primary_db", "other_zck", "filelists_ext", "filelists_ext_zck", "group", "group_gz", "updateinfo_zck", "modules"} {
		md.Records = append(md.Records, repodata.Record{Type: typ, Href: "repodata/" + typ, OpenSize: -1})
	}
	var got []string
	for _, rec := range (&Snapshot{Repomd: md}).Additional() {
		got = append(got, rec.Type)
	}
	if want := []string{"group", "group_gz", "updateinfo_zck", "modules"}; !slices.Equal(got, want) {
		t.Errorf("additional %v, want %v", got, want)
	}
}
