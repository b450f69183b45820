package syncer

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage/fs"
)

// memSource is a test source serving packages from memory. It can lie
// about checksums and cut a fetch short, to drive the failure paths; the
// real sources are tested in their own packages and end to end.
type memSource struct {
	mu       sync.Mutex
	files    map[string][]byte // href -> content
	lie      map[string]bool   // href -> announce a wrong checksum
	cutOnce  map[string]int    // href -> fail the first fetch after n bytes
	fetches  map[string][]int64
	fpSuffix string
}

func newMemSource(t *testing.T, specs []rpmtest.Spec) *memSource {
	m := &memSource{files: map[string][]byte{}, lie: map[string]bool{}, cutOnce: map[string]int{}, fetches: map[string][]int64{}}
	for _, s := range specs {
		b, err := rpmtest.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		m.files["Packages/"+s.RelPath()] = b
	}
	return m
}

func (m *memSource) Fingerprint(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var keys []string
	for k, v := range m.files {
		keys = append(keys, fmt.Sprintf("%s:%x", k, sha256.Sum256(v)))
	}
	sort.Strings(keys)
	return fmt.Sprint(keys) + m.fpSuffix, nil
}

func (m *memSource) List(ctx context.Context) ([]source.Candidate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []source.Candidate
	for href, b := range m.files {
		sum := sha256.Sum256(b)
		hexsum := hex.EncodeToString(sum[:])
		if m.lie[href] {
			hexsum = hex.EncodeToString(make([]byte, 32))
		}
		pkg, err := readPkg(b)
		if err != nil {
			return nil, err
		}
		out = append(out, source.Candidate{Href: href, Name: pkg.Name, Epoch: pkg.Epoch, Version: pkg.Version,
			Release: pkg.Release, Arch: pkg.Arch, BuildTime: pkg.BuildTime, Size: int64(len(b)),
			Checksum: repodata.Checksum{Type: "sha256", Value: hexsum}, Origin: "mem:" + href})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Href < out[j].Href })
	return out, nil
}

func (m *memSource) Fetch(ctx context.Context, c *source.Candidate, offset int64, w io.Writer) error {
	m.mu.Lock()
	b := m.files[c.Href]
	m.fetches[c.Href] = append(m.fetches[c.Href], offset)
	cut, doCut := m.cutOnce[c.Href]
	delete(m.cutOnce, c.Href)
	m.mu.Unlock()
	if b == nil {
		return fmt.Errorf("%s: 404", c.Href)
	}
	if doCut {
		w.Write(b[offset:cut])
		return errors.New("connection reset by peer")
	}
	_, err := w.Write(b[offset:])
	return err
}

func readPkg(b []byte) (*repodata.Package, error) {
	return rpmfile.Read(bytes.NewReader(b), rpmfile.Options{ChangelogLimit: 10})
}

func testLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if testing.Verbose() {
		l.SetOutput(os.Stderr)
	}
	return l
}

func newRepo(t *testing.T, src *memSource, target string) *Repo {
	be, err := fs.New(target)
	if err != nil {
		t.Fatal(err)
	}
	md := createrepo.DefaultOptions("")
	po := publish.DefaultOptions()
	return &Repo{Name: "demo", Sources: []NamedSource{{"mem", src}}, Targets: []Target{{"fs", be}},
		Metadata: md, Publish: po, ConfigDigest: "v1"}
}

// readRepomd parses dir's repodata/repomd.xml.
func readRepomd(t *testing.T, dir string) *repodata.Repomd {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// publishedPackages reads the target's primary.xml: href -> pkgid.
func publishedPackages(t *testing.T, target string) map[string]string {
	t.Helper()
	md := readRepomd(t, target)
	f, err := os.Open(filepath.Join(target, md.Record("primary").Href))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = repodata.ReadPrimary(zr, func(p *repodata.Package) error {
		out[p.LocationHref] = p.Checksum.Value
		data, err := os.ReadFile(filepath.Join(target, filepath.FromSlash(p.LocationHref)))
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.Checksum.Value {
			return fmt.Errorf("%s: published bytes do not match pkgid", p.LocationHref)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSyncIncremental(t *testing.T) {
	demo := rpmtest.Demo()
	src := newMemSource(t, demo[:5])
	target := t.TempDir()
	s, err := New(Options{CacheDir: t.TempDir(), Parallelism: 3}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, src, target)
	ctx := context.Background()

	res, err := s.Sync(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched != 5 || res.Reused != 0 || len(res.Published) != 1 {
		t.Fatalf("first sync: %+v", res)
	}
	if got := publishedPackages(t, target); len(got) != 5 {
		t.Fatalf("published %d packages", len(got))
	}
	repomd1, _ := os.ReadFile(filepath.Join(target, "repodata", "repomd.xml"))

	res, err = s.Sync(ctx, repo)
	if err != nil || !res.Unchanged {
		t.Fatalf("second sync: %+v, %v", res, err)
	}

	// A configuration change forces a run, which fetches nothing and
	// leaves repomd.xml byte-identical.
	repo.ConfigDigest = "v2"
	res, err = s.Sync(ctx, repo)
	if err != nil || res.Unchanged || res.Fetched != 0 || res.Reused != 5 {
		t.Fatalf("forced sync: %+v, %v", res, err)
	}
	repomd2, _ := os.ReadFile(filepath.Join(target, "repodata", "repomd.xml"))
	if !bytes.Equal(repomd1, repomd2) {
		t.Error("repomd.xml changed although nothing did")
	}

	// One package added, one removed: one fetch.
	src.mu.Lock()
	delete(src.files, "Packages/"+demo[0].RelPath())
	b, _ := rpmtest.Build(demo[5])
	src.files["Packages/"+demo[5].RelPath()] = b
	src.mu.Unlock()
	res, err = s.Sync(ctx, repo)
	if err != nil || res.Fetched != 1 || res.Reused != 4 {
		t.Fatalf("changed sync: %+v, %v", res, err)
	}
	got := publishedPackages(t, target)
	if _, ok := got["Packages/"+demo[0].RelPath()]; ok || len(got) != 5 {
		t.Errorf("published after change: %v", got)
	}
}

// One bad package does not stop the others; it is reported and never
// published. A transfer cut short is resumed on the next run.
func TestSyncBadAndResumed(t *testing.T) {
	demo := rpmtest.Demo()
	src := newMemSource(t, demo[:4])
	bad := "Packages/" + demo[1].RelPath()
	cut := "Packages/" + demo[2].RelPath()
	src.lie[bad] = true
	src.cutOnce[cut] = 700
	target := t.TempDir()
	s, _ := New(Options{CacheDir: t.TempDir()}, testLog(), nil)
	repo := newRepo(t, src, target)

	res, err := s.Sync(context.Background(), repo)
	if !errors.Is(err, ErrPartial) || len(res.Failed) != 2 {
		t.Fatalf("err %v, failed %v", err, res.Failed)
	}
	var verify int
	for _, f := range res.Failed {
		if errors.Is(f, source.ErrVerify) {
			verify++
		}
	}
	if verify != 1 {
		t.Errorf("want one verification failure: %v", res.Failed)
	}
	got := publishedPackages(t, target)
	if _, ok := got[bad]; ok || len(got) != 2 {
		t.Errorf("published %v", got)
	}

	src.mu.Lock()
	src.lie[bad] = false
	src.mu.Unlock()
	res, err = s.Sync(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if offs := src.fetches[cut]; len(offs) != 2 || offs[1] != 700 {
		t.Errorf("fetch offsets of the cut package: %v, want [0 700]", offs)
	}
	if got := publishedPackages(t, target); len(got) != 4 {
		t.Errorf("published %d after the retry", len(got))
	}
}

func TestFilter(t *testing.T) {
	c := func(name, arch, v string, bt int64) source.Candidate {
		return source.Candidate{Name: name, Arch: arch, Epoch: "0", Version: v, Release: "1", BuildTime: bt}
	}
	all := []source.Candidate{
		c("a", "x86_64", "1.0", 10), c("a", "x86_64", "1.10", 20), c("a", "x86_64", "1.9", 30),
		c("a", "aarch64", "1.0", 10), c("a", "noarch", "2", 10), c("a", "src", "1.10", 10),
		c("a-debuginfo", "x86_64", "1.10", 10), c("b", "x86_64", "1~rc1", 5), c("b", "x86_64", "1", 5),
	}
	names := func(cs []source.Candidate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+"-"+c.Version+"."+c.Arch)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want int
	}{
		{"zero", Filter{}, 9},
		{"arches", Filter{Arches: []string{"x86_64"}}, 7},
		{"arches no noarch", Filter{Arches: []string{"x86_64"}, ExcludeNoarch: true}, 6},
		{"exclude source and debug", Filter{ExcludeSource: true, ExcludeDebuginfo: true}, 7},
		{"include", Filter{Include: []string{"b*"}}, 2},
		{"exclude", Filter{Exclude: []string{"a*"}}, 2},
		{"newest 1", Filter{KeepNewest: 1, Arches: []string{"x86_64"}, ExcludeNoarch: true, ExcludeDebuginfo: true}, 2},
		{"min build time", Filter{MinBuildTime: time.Unix(20, 0)}, 2},
	} {
		got := tc.f.Apply(all)
		if len(got) != tc.want {
			t.Errorf("%s: %v", tc.name, names(got))
		}
	}
	got := (&Filter{KeepNewest: 1, Arches: []string{"x86_64"}, ExcludeNoarch: true, ExcludeDebuginfo: true}).Apply(all)
	if n := names(got); len(n) != 2 || n[0] != "a-1.10.x86_64" || n[1] != "b-1.x86_64" {
		t.Errorf("newest: %v (1.10 beats 1.9, 1 beats 1~rc1)", n)
	}
}

// A source that suddenly offers nothing (an unmounted NFS export) is not
// published over a repository that had packages, unless forced.
func TestSyncRefusesSuddenlyEmpty(t *testing.T) {
	src := newMemSource(t, rpmtest.Demo()[:2])
	target := t.TempDir()
	s, _ := New(Options{CacheDir: t.TempDir()}, testLog(), nil)
	repo := newRepo(t, src, target)
	if _, err := s.Sync(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.files = map[string][]byte{}
	src.mu.Unlock()
	if _, err := s.Sync(context.Background(), repo); err == nil || !strings.Contains(err.Error(), "refusing to publish an empty repository") {
		t.Fatalf("err = %v", err)
	}
	if got := publishedPackages(t, target); len(got) != 2 {
		t.Errorf("the published repository changed: %v", got)
	}
	forced, _ := New(Options{CacheDir: s.opt.CacheDir, Force: true}, testLog(), nil)
	if _, err := forced.Sync(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if got := publishedPackages(t, target); len(got) != 0 {
		t.Errorf("forced: %v", got)
	}
}

// addSource is a memSource with additional records (comps, updateinfo).
type addSource struct {
	*memSource
	mu   sync.Mutex
	recs map[string][]byte // type -> content
}

func (a *addSource) Additional(ctx context.Context) ([]repodata.Record, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []repodata.Record
	for _, typ := range []string{"group", "updateinfo"} {
		b, ok := a.recs[typ]
		if !ok {
			continue
		}
		sum := sha256.Sum256(b)
		out = append(out, repodata.Record{Type: typ, Href: "repodata/" + typ + ".xml", Size: int64(len(b)), OpenSize: -1,
			Checksum: repodata.Checksum{Type: "sha256", Value: hex.EncodeToString(sum[:])}})
	}
	return out, nil
}

func (a *addSource) FetchAdditional(ctx context.Context, rec *repodata.Record, w io.Writer) error {
	a.mu.Lock()
	b := a.recs[rec.Type]
	a.mu.Unlock()
	_, err := w.Write(b)
	return err
}

// A record the source withdraws (an updateinfo pulled upstream) leaves
// the published metadata with it; one it keeps stays.
func TestSyncAdditionalWithdrawn(t *testing.T) {
	src := &addSource{memSource: newMemSource(t, rpmtest.Demo()[:2]), recs: map[string][]byte{
		"group":      []byte(`<?xml version="1.0"?><comps></comps>`),
		"updateinfo": []byte(`<?xml version="1.0"?><updates></updates>`),
	}}
	target := t.TempDir()
	s, err := New(Options{CacheDir: t.TempDir()}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, src.memSource, target)
	repo.Sources = []NamedSource{{"mem", src}}
	types := func() []string {
		var out []string
		for _, r := range readRepomd(t, target).Records {
			out = append(out, r.Type)
		}
		sort.Strings(out)
		return out
	}
	if _, err := s.Sync(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if got := types(); !slices.Contains(got, "updateinfo") || !slices.Contains(got, "group") {
		t.Fatalf("first sync published %v", got)
	}
	src.mu.Lock()
	delete(src.recs, "updateinfo")
	src.mu.Unlock()
	src.memSource.fpSuffix = "-updateinfo-withdrawn"
	if _, err := s.Sync(context.Background(), repo); err != nil {
		t.Fatal(err)
	}
	if got := types(); slices.Contains(got, "updateinfo") || !slices.Contains(got, "group") {
		t.Errorf("after the updateinfo was withdrawn: %v", got)
	}
}
