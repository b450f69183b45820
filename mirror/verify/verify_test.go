package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/verify"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/faultproxy"
	"github.com/rpmirror/rpmirror/storage/fs"
	"github.com/rpmirror/rpmirror/storage/httpsrc"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

// repo is a repository made by createrepo from the demo packages, held
// in memory so that each test case can upload it to a fresh target.
type repo struct {
	files     map[string][]byte // key → content
	md        *repodata.Repomd
	pkgs      []string // package keys, sorted
	primary   string   // keys of the metadata files
	filelists string
	other     string
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.Out = io.Discard
	return l
}

// makeRepo runs createrepo over the demo packages in dir, with opt
// adjusting the options, and reads the result.
func makeRepo(t *testing.T, adjust func(*createrepo.Options)) *repo {
	t.Helper()
	dir := t.TempDir()
	if _, err := rpmtest.WriteAll(dir, rpmtest.Demo()); err != nil {
		t.Fatal(err)
	}
	o := createrepo.DefaultOptions(dir)
	o.Workers = 2
	o.Revision = "1700000000"
	o.SetTimestampToRevision = true
	if adjust != nil {
		adjust(&o)
	}
	if _, err := createrepo.Run(context.Background(), o, quietLog(), nil); err != nil {
		t.Fatal(err)
	}
	r := &repo{files: map[string][]byte{}}
	err := filepath.WalkDir(dir, func(path string, d iofs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key, _ := filepath.Rel(dir, path)
		r.files[filepath.ToSlash(key)] = b
		if strings.HasSuffix(key, ".rpm") {
			r.pkgs = append(r.pkgs, key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(r.pkgs)
	r.md, err = repodata.ParseRepomd(bytes.NewReader(r.files[verify.RepomdKey]))
	if err != nil {
		t.Fatal(err)
	}
	r.primary, r.filelists, r.other = r.md.Record("primary").Href, r.md.Record("filelists").Href, r.md.Record("other").Href
	if len(r.pkgs) != 8 || len(r.files) != 12 {
		t.Fatalf("demo repository has %d packages, %d files", len(r.pkgs), len(r.files))
	}
	return r
}

// upload puts every file of r into w, key by key: packages, then
// metadata files, repomd.xml last, as a publisher would.
func (r *repo) upload(t *testing.T, w storage.Backend) {
	t.Helper()
	keys := make([]string, 0, len(r.files))
	for k := range r.files {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		switch {
		case k == verify.RepomdKey:
			return 2
		case strings.HasPrefix(k, "repodata/"):
			return 1
		}
		return 0
	}
	slices.SortFunc(keys, func(a, b string) int {
		if d := rank(a) - rank(b); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		put(t, w, k, r.files[k])
	}
}

func put(t *testing.T, w storage.Backend, key string, b []byte) {
	t.Helper()
	sum := sha256.Sum256(b)
	if err := w.Put(context.Background(), key, bytes.NewReader(b), int64(len(b)), storage.PutOptions{SHA256: hex.EncodeToString(sum[:])}); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, w storage.Backend, key string) {
	t.Helper()
	if err := w.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

// flip returns b with one byte changed in the middle: same size, other
// content.
func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)/2] ^= 0x55
	return c
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// breakage is one way to break a repository, and the problems Verify
// must report for it, with and without checksums.
type breakage struct {
	name  string
	apply func(t *testing.T, w storage.Backend, r *repo)
	want  func(r *repo) []verify.Problem
	// wantSizes is what Verify reports without Checksums, when it
	// differs from want.
	wantSizes func(r *repo) []verify.Problem
	packages  int // packages checked (-1: all 8)
}

func breakages() []breakage {
	none := func(*repo) []verify.Problem { return nil }
	return []breakage{
		{name: "intact", apply: func(*testing.T, storage.Backend, *repo) {}, want: none, packages: -1},
		{
			name:  "package deleted",
			apply: func(t *testing.T, w storage.Backend, r *repo) { del(t, w, r.pkgs[2]) },
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.pkgs[2], Kind: verify.Missing}}
			},
			packages: -1,
		},
		{
			name: "package truncated",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				put(t, w, r.pkgs[0], r.files[r.pkgs[0]][:1000])
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.pkgs[0], Kind: verify.SizeMismatch,
					Detail: fmt.Sprintf("size 1000, want %d", len(r.files[r.pkgs[0]]))}}
			},
			packages: -1,
		},
		{
			name: "package corrupt, same size",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				put(t, w, r.pkgs[5], flip(r.files[r.pkgs[5]]))
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.pkgs[5], Kind: verify.ChecksumMismatch,
					Detail: fmt.Sprintf("checksum sha256 %s, want %s", sha(flip(r.files[r.pkgs[5]])), sha(r.files[r.pkgs[5]]))}}
			},
			wantSizes: none, // only a download sees it
			packages:  -1,
		},
		{
			name: "metadata file corrupt",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				put(t, w, r.filelists, flip(r.files[r.filelists]))
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.filelists, Kind: verify.ChecksumMismatch,
					Detail: fmt.Sprintf("checksum sha256 %s, want %s", sha(flip(r.files[r.filelists])), sha(r.files[r.filelists]))}}
			},
			packages: -1,
		},
		{
			name: "metadata file truncated",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				put(t, w, r.other, r.files[r.other][:100])
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.other, Kind: verify.SizeMismatch,
					Detail: fmt.Sprintf("size 100, want %d", len(r.files[r.other]))}}
			},
			packages: -1,
		},
		{
			name:  "metadata file deleted",
			apply: func(t *testing.T, w storage.Backend, r *repo) { del(t, w, r.other) },
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.other, Kind: verify.Missing}}
			},
			packages: -1,
		},
		{
			// The packages cannot be checked without primary: said so.
			name: "primary corrupt",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				put(t, w, r.primary, flip(r.files[r.primary]))
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{
					{Key: r.primary, Kind: verify.ChecksumMismatch,
						Detail: fmt.Sprintf("checksum sha256 %s, want %s", sha(flip(r.files[r.primary])), sha(r.files[r.primary]))},
					{Key: r.primary, Kind: verify.BadMetadata, Detail: "packages not checked: *"},
				}
			},
			packages: 0,
		},
		{
			name:  "primary deleted",
			apply: func(t *testing.T, w storage.Backend, r *repo) { del(t, w, r.primary) },
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: r.primary, Kind: verify.Missing}}
			},
			packages: 0,
		},
		{
			name: "repomd.xml corrupt",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				b := r.files[verify.RepomdKey]
				put(t, w, verify.RepomdKey, b[:len(b)/2])
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: verify.RepomdKey, Kind: verify.BadMetadata, Detail: "repodata: malformed metadata: repomd.xml*"}}
			},
			packages: 0,
		},
		{
			name:  "repomd.xml deleted",
			apply: func(t *testing.T, w storage.Backend, r *repo) { del(t, w, verify.RepomdKey) },
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{{Key: verify.RepomdKey, Kind: verify.Missing}}
			},
			packages: 0,
		},
		{
			name: "several at once",
			apply: func(t *testing.T, w storage.Backend, r *repo) {
				del(t, w, r.pkgs[7])
				del(t, w, r.pkgs[1])
				put(t, w, r.pkgs[3], append(bytes.Clone(r.files[r.pkgs[3]]), "trailing"...))
				del(t, w, r.filelists)
			},
			want: func(r *repo) []verify.Problem {
				return []verify.Problem{ // sorted by key
					{Key: r.filelists, Kind: verify.Missing},
					{Key: r.pkgs[1], Kind: verify.Missing},
					{Key: r.pkgs[3], Kind: verify.SizeMismatch, Detail: fmt.Sprintf("size %d, want %d", len(r.files[r.pkgs[3]])+8, len(r.files[r.pkgs[3]]))},
					{Key: r.pkgs[7], Kind: verify.Missing},
				}
			},
			packages: -1,
		},
	}
}

// sameProblems compares problems; a Detail ending in '*' in want is a
// prefix.
func sameProblems(got, want []verify.Problem) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if p, ok := strings.CutSuffix(w.Detail, "*"); ok && strings.HasPrefix(g.Detail, p) {
			g.Detail = w.Detail
		}
		if g != w {
			return false
		}
	}
	return true
}

// env is a kind of target: new returns a writer and the backend Verify
// reads, over a fresh target holding r.
type env struct {
	name string
	new  func(t *testing.T, r *repo) (w, b storage.Backend)
}

func fsEnv() env {
	return env{"fs", func(t *testing.T, r *repo) (storage.Backend, storage.Backend) {
		b, err := fs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		r.upload(t, b)
		return b, b
	}}
}

// httpFSEnv serves a directory the way nginx would.
func httpFSEnv() env {
	return env{"http-dir", func(t *testing.T, r *repo) (storage.Backend, storage.Backend) {
		dir := t.TempDir()
		w, err := fs.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		r.upload(t, w)
		srv := httptest.NewServer(http.StripPrefix("/el9", http.FileServer(http.Dir(dir))))
		t.Cleanup(srv.Close)
		return w, httpBackend(t, srv.URL+"/el9/")
	}}
}

func httpBackend(t *testing.T, url string) storage.Backend {
	t.Helper()
	cfg := httpsrc.DefaultConfig()
	cfg.URL = url
	b, err := httpsrc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runBreakages(t *testing.T, e env) {
	r := makeRepo(t, nil)
	for _, bk := range breakages() {
		t.Run(bk.name, func(t *testing.T) {
			w, b := e.new(t, r)
			bk.apply(t, w, r)
			for _, checksums := range []bool{false, true} {
				want := bk.want(r)
				if !checksums && bk.wantSizes != nil {
					want = bk.wantSizes(r)
				}
				rep, err := verify.Verify(context.Background(), b, verify.Options{Checksums: checksums}, quietLog())
				if err != nil {
					t.Fatal(err)
				}
				if !sameProblems(rep.Problems, want) {
					t.Errorf("checksums %v: problems\n  %v\nwant\n  %v", checksums, rep.Problems, want)
				}
				wantPkgs := bk.packages
				if wantPkgs < 0 {
					wantPkgs = len(r.pkgs)
				}
				if rep.Packages != wantPkgs || rep.OK() != (len(want) == 0) {
					t.Errorf("checksums %v: %d packages checked, want %d; %s", checksums, rep.Packages, wantPkgs, rep.Summary())
				}
				if bk.packages != 0 && (rep.Metadata != 3 || rep.Revision != "1700000000") {
					t.Errorf("checksums %v: %d metadata files, revision %q", checksums, rep.Metadata, rep.Revision)
				}
			}
		})
	}
}

func TestBreakagesFS(t *testing.T)      { runBreakages(t, fsEnv()) }
func TestBreakagesHTTPDir(t *testing.T) { runBreakages(t, httpFSEnv()) }

func TestSummary(t *testing.T) {
	rep := &verify.Report{Packages: 8, Metadata: 3, Problems: []verify.Problem{
		{Key: "a.rpm", Kind: verify.Missing}, {Key: "b.rpm", Kind: verify.SizeMismatch, Detail: "size 1, want 2"}, {Key: "c.rpm", Kind: verify.Missing},
	}}
	if got, want := rep.Summary(), "8 packages, 3 metadata files: 3 problems (2 missing, 1 size mismatch)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got := rep.Problems[1].String(); got != "b.rpm: size mismatch: size 1, want 2" {
		t.Errorf("String = %q", got)
	}
	if got := (&verify.Report{Packages: 1, Metadata: 3, External: 2}).Summary(); got != "1 packages, 3 metadata files (2 elsewhere, not checked): no problems" {
		t.Errorf("Summary = %q", got)
	}
}

// The report does not depend on the order objects were checked in.
func TestDeterministic(t *testing.T) {
	r := makeRepo(t, nil)
	w, b := fsEnv().new(t, r)
	for _, k := range r.pkgs {
		del(t, w, k)
	}
	put(t, w, r.other, []byte("x"))
	var first *verify.Report
	for _, par := range []int{1, 2, 8, 64} {
		rep, err := verify.Verify(context.Background(), b, verify.Options{Parallelism: par, Checksums: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = rep
			if len(rep.Problems) != 9 {
				t.Fatalf("problems %v", rep.Problems)
			}
			continue
		}
		if !reflect.DeepEqual(rep, first) {
			t.Errorf("parallelism %d: %+v, want %+v", par, rep, first)
		}
	}
}

// Packages and records with an xml:base live elsewhere: counted, not
// checked.
func TestExternal(t *testing.T) {
	r := makeRepo(t, func(o *createrepo.Options) { o.BaseURL = "https://elsewhere.example.org/el9/" })
	w, b := fsEnv().new(t, r)
	for _, k := range r.pkgs {
		del(t, w, k)
	}
	rep, err := verify.Verify(context.Background(), b, verify.Options{}, nil)
	if err != nil || !rep.OK() || rep.External != 8 || rep.Packages != 0 {
		t.Errorf("%+v, %v", rep, err)
	}
}

func TestMaxMetadataSize(t *testing.T) {
	r := makeRepo(t, nil)
	_, b := fsEnv().new(t, r)
	// Room for every compressed file, not for primary uncompressed.
	limit := int64(0)
	for _, k := range []string{r.primary, r.filelists, r.other} {
		limit = max(limit, int64(len(r.files[k])))
	}
	rep, err := verify.Verify(context.Background(), b, verify.Options{MaxMetadataSize: limit + 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []verify.Problem{{Key: r.primary, Kind: verify.BadMetadata, Detail: fmt.Sprintf("more than %d bytes uncompressed", limit+1)}}
	if !sameProblems(rep.Problems, want) {
		t.Errorf("problems %v, want %v", rep.Problems, want)
	}
	// Smaller than a compressed file.
	rep, err = verify.Verify(context.Background(), b, verify.Options{MaxMetadataSize: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		if p.Kind != verify.BadMetadata || !strings.Contains(p.Detail, "100") {
			t.Errorf("problem %v", p)
		}
	}
	if len(rep.Problems) != 3 {
		t.Errorf("problems %v", rep.Problems)
	}
}

// Entries of primary that cannot be checked are reported as such; the
// rest are checked.
func TestBadPrimaryEntries(t *testing.T) {
	good, md5pkg := []byte("a good package"), []byte("checked with md5")
	entry := func(name, sumType, sum, href string, size int) string {
		return fmt.Sprintf(`<package type="rpm"><name>%s</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/>`+
			`<checksum type="%s" pkgid="YES">%s</checksum><size package="%d" installed="0" archive="0"/>`+
			`<location href="%s"/></package>`, name, sumType, sum, size, href)
	}
	primary := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="4">
` + entry("escape", "sha256", sha(good), "../escape.rpm", len(good)) +
		entry("md5", "md5", strings.Repeat("0", 32), "md5.rpm", len(md5pkg)) +
		entry("good", "sha256", sha(good), "good.rpm", len(good)) +
		entry("good", "sha256", sha(good), "good.rpm", len(good)) + // listed twice: checked once
		"\n</metadata>\n")
	var repomd bytes.Buffer
	err := repodata.WriteRepomd(&repomd, &repodata.Repomd{Revision: "1", Records: []repodata.Record{{
		Type: "primary", Href: "repodata/primary.xml", Size: int64(len(primary)), OpenSize: -1,
		Checksum: repodata.Checksum{Type: "sha256", Value: sha(primary)},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "repodata/primary.xml", primary)
	put(t, b, verify.RepomdKey, repomd.Bytes())
	put(t, b, "good.rpm", good)
	put(t, b, "md5.rpm", md5pkg)

	escape := verify.Problem{Key: "../escape.rpm", Kind: verify.BadMetadata, Detail: "location is not a safe path: *"}
	for _, checksums := range []bool{false, true} {
		want := []verify.Problem{escape}
		if checksums {
			want = append(want, verify.Problem{Key: "md5.rpm", Kind: verify.BadMetadata, Detail: `checksum type "md5" cannot be verified`})
		}
		rep, err := verify.Verify(context.Background(), b, verify.Options{Checksums: checksums}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !sameProblems(rep.Problems, want) || rep.Packages != 2 || rep.Metadata != 1 {
			t.Errorf("checksums %v: %s: %v, want %v", checksums, rep.Summary(), rep.Problems, want)
		}
	}
}

// Over HTTP through a proxy that cuts a package download short once:
// the transfer is tried again and the repository is found whole; cut
// short every time, the package is reported unreadable.
func TestTransientReadErrors(t *testing.T) {
	r := makeRepo(t, nil)
	dir := t.TempDir()
	w, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.upload(t, w)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	p := faultproxy.Start(t, srv.URL, faultproxy.Options{})
	b := httpBackend(t, p.URL()+"/")

	p.Add(faultproxy.Rule{Name: "once", Method: "GET", Key: r.pkgs[4], Times: 1, Fault: faultproxy.TruncateBody(100)})
	p.Add(faultproxy.Rule{Name: "primary once", Method: "GET", Key: r.primary, Times: 1, Fault: faultproxy.TruncateBody(100)})
	rep, err := verify.Verify(context.Background(), b, verify.Options{Checksums: true}, nil)
	if err != nil || !rep.OK() || p.Injected() != 2 {
		t.Errorf("%s; %v; events %v", rep.Summary(), err, p.Events())
	}

	p.Add(faultproxy.Rule{Name: "always", Method: "GET", Key: r.pkgs[6], Fault: faultproxy.TruncateBody(100)})
	rep, err = verify.Verify(context.Background(), b, verify.Options{Checksums: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []verify.Problem{{Key: r.pkgs[6], Kind: verify.Unreadable, Detail: "httpsrc: read " + r.pkgs[6] + ": unexpected EOF*"}}
	if !sameProblems(rep.Problems, want) || p.InjectedRule("always") != 3 {
		t.Errorf("problems %v, want %v; events %v", rep.Problems, want, p.Events())
	}
}

func TestCancelled(t *testing.T) {
	r := makeRepo(t, nil)
	_, b := fsEnv().new(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := verify.Verify(ctx, b, verify.Options{}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
