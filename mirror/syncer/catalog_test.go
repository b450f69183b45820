package syncer

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

func sum64(c byte) string { return strings.Repeat(string(c), 64) }

func TestCatalogJournalAndIndex(t *testing.T) {
	dir := t.TempDir()
	c, err := openCatalog(dir, "sha256-cl10", false)
	if err != nil {
		t.Fatal(err)
	}
	a := &repodata.Package{Name: "a", Version: "1"}
	b := &repodata.Package{Name: "b", Version: "2"}
	if err := c.record(sum64('a'), "", a); err != nil {
		t.Fatal(err)
	}
	if err := c.record(sum64('b'), "origin:b", b); err != nil {
		t.Fatal(err)
	}
	c.close()
	// A kill during a journal write leaves a torn last line.
	j := filepath.Join(dir, catalogJournal)
	f, err := os.OpenFile(j, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"sum":"` + sum64('c') + `","key":"sha256-cl10","pkg":{"name":"c"`)
	f.Close()

	c, err = openCatalog(dir, "sha256-cl10", false)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.pkg(sum64('a')); p == nil || p.Name != "a" {
		t.Errorf("a from the journal: %+v", p)
	}
	if got := c.sum("origin:b"); got != sum64('b') {
		t.Errorf("identity of b: %q", got)
	}
	if p := c.pkg(sum64('c')); p != nil {
		t.Errorf("torn entry loaded: %+v", p)
	}

	// The index keeps exactly what commit is given; the journal goes.
	if err := c.commit([]catalogEntry{{Sum: sum64('b'), ID: "origin:b", Pkg: b}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j); !os.IsNotExist(err) {
		t.Errorf("journal still there after commit: %v", err)
	}
	c.close()
	c, err = openCatalog(dir, "sha256-cl10", false)
	if err != nil {
		t.Fatal(err)
	}
	if c.pkg(sum64('a')) != nil || c.pkg(sum64('b')) == nil || c.sum("origin:b") != sum64('b') {
		t.Errorf("after commit: a %v, b %v, id %q", c.pkg(sum64('a')), c.pkg(sum64('b')), c.sum("origin:b"))
	}

	// Other parse options: the metadata is not valid for them, the
	// identities still are.
	other, err := openCatalog(dir, "sha512-cl5", true)
	if err != nil {
		t.Fatal(err)
	}
	if other.pkg(sum64('b')) != nil || other.sum("origin:b") != sum64('b') {
		t.Errorf("other parse options: pkg %v, id %q", other.pkg(sum64('b')), other.sum("origin:b"))
	}
	// Read-only (dry run) catalogs write nothing.
	other.record(sum64('d'), "", a)
	if err := other.commit(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j); !os.IsNotExist(err) {
		t.Errorf("a read-only catalog wrote its journal: %v", err)
	}
}

// A lost catalog (the index and journal removed, as after a crash of
// the machine) costs local reparses, never a download, and the
// metadata comes out the same.
func TestSyncCatalogLost(t *testing.T) {
	demo := rpmtest.Demo()
	src := newMemSource(t, demo[:5])
	target := t.TempDir()
	cache := t.TempDir()
	s, err := New(Options{CacheDir: cache, Parallelism: 3}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, src, target)
	ctx := context.Background()
	if res, err := s.Sync(ctx, repo); err != nil || res.Fetched != 5 {
		t.Fatalf("first sync: %+v, %v", res, err)
	}
	repomd1, _ := os.ReadFile(filepath.Join(target, "repodata", "repomd.xml"))
	for _, n := range []string{catalogIndex, catalogJournal} {
		os.Remove(filepath.Join(s.repoDir("demo"), n))
	}
	src.fetches = map[string][]int64{}
	repo.ConfigDigest = "v2"
	res, err := s.Sync(ctx, repo)
	if err != nil || res.Fetched != 0 || res.Reused != 5 || len(src.fetches) != 0 {
		t.Fatalf("sync without a catalog: %+v, %v, fetched %v", res, err, src.fetches)
	}
	repomd2, _ := os.ReadFile(filepath.Join(target, "repodata", "repomd.xml"))
	if !bytes.Equal(repomd1, repomd2) {
		t.Errorf("metadata from reparsed packages differs:\n%s\n%s", repomd1, repomd2)
	}

	// A pooled package gone while the catalog has it: fetched again.
	var gone string
	for href, b := range src.files {
		p, err := readPkg(b)
		if err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		for _, pl := range s.pools {
			if err := os.Remove(pl.path(p.Checksum.Value)); err != nil {
				t.Fatal(err)
			}
		}
		s.mu.Unlock()
		gone = href
		break
	}
	repo.ConfigDigest = "v3"
	res, err = s.Sync(ctx, repo)
	if err != nil || res.Fetched != 1 || res.Reused != 4 {
		t.Fatalf("sync with a package gone from the pool: %+v, %v", res, err)
	}
	if len(src.fetches) != 1 || src.fetches[gone] == nil {
		t.Errorf("fetched %v, want only %s", src.fetches, gone)
	}
	if _, err := os.Stat(filepath.Join(s.repoDir("demo"), catalogIndex)); err != nil {
		t.Errorf("index not rewritten: %v", err)
	}
}

// The index gives back every package exactly: the metadata rendered from
// a package read back equals that rendered from the parse.
func TestCatalogIndexRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c, err := openCatalog(dir, "sha256-cl10", false)
	if err != nil {
		t.Fatal(err)
	}
	var entries []catalogEntry
	for _, spec := range append(rpmtest.Cases(), rpmtest.Demo()...) {
		b, err := rpmtest.Build(spec)
		if err != nil {
			t.Fatal(err)
		}
		pkg, err := readPkg(b)
		if err != nil {
			continue // the catalogue's unreadable cases
		}
		pkg.LocationHref = "Packages/" + spec.RelPath()
		pkg.FileTime = 1700000000
		entries = append(entries, catalogEntry{Sum: pkg.Checksum.Value, Pkg: pkg})
	}
	if len(entries) < 20 {
		t.Fatalf("only %d packages", len(entries))
	}
	if err := c.commit(entries); err != nil {
		t.Fatal(err)
	}
	c.close()
	c, err = openCatalog(dir, "sha256-cl10", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got := c.pkg(e.Sum)
		if got == nil {
			t.Errorf("%s: not in the index", e.Pkg.NEVRA())
			continue
		}
		for _, k := range []repodata.Kind{repodata.Primary, repodata.Filelists, repodata.Other} {
			want, have := k.AppendPackage(nil, e.Pkg), k.AppendPackage(nil, got)
			if !bytes.Equal(want, have) {
				t.Errorf("%s: %s differs after the index:\n%s\n%s", e.Pkg.NEVRA(), k, want, have)
			}
		}
	}
}
