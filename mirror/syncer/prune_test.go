package syncer

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// The pool keeps what a tree links to, what changed within the grace
// period and partial downloads being fetched; it removes the rest, or
// only reports it in a dry run.
func TestPrunePool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pool")
	tree := t.TempDir()
	write := func(rel string, n int) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	linked := write("sha256/aa/aa01.rpm", 10)
	if err := os.Link(linked, filepath.Join(tree, "linked.rpm")); err != nil {
		t.Fatal(err)
	}
	write("sha256/bb/bb01.rpm", 20)
	write("sha256/bb/notes.txt", 5)
	write("partial/idle", 7)
	busy := write("partial/busy", 9)
	f, err := os.Open(busy)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	later := time.Now().Add(2 * time.Hour)

	cases := []struct {
		name    string
		now     time.Time
		dryRun  bool
		removed []string
	}{
		{"within the grace period", time.Now(), false, nil},
		{"dry run", later, true, []string{"partial/idle", "sha256/bb/bb01.rpm"}},
		{"past the grace period", later, false, []string{"partial/idle", "sha256/bb/bb01.rpm"}},
		{"again", later, false, nil},
	}
	for _, c := range cases {
		res, err := prunePool(ctx, dir, c.now, time.Hour, c.dryRun, testLog())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		slices.Sort(res.Removed)
		if !slices.Equal(res.Removed, c.removed) {
			t.Errorf("%s: removed %v, want %v", c.name, res.Removed, c.removed)
		}
		if len(c.removed) > 0 && (res.Packages != 1 || res.Partial != 1 || res.Bytes != 27) {
			t.Errorf("%s: %+v", c.name, res)
		}
	}
	for _, rel := range []string{"sha256/aa/aa01.rpm", "sha256/bb/notes.txt", "partial/busy"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	for _, rel := range []string{"sha256/bb/bb01.rpm", "partial/idle"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", rel, err)
		}
	}
	if _, err := prunePool(ctx, filepath.Join(t.TempDir(), "none"), later, time.Hour, false, testLog()); err != nil {
		t.Errorf("no pool yet: %v", err)
	}
}

// After a package leaves a repository (and its target), Prune removes it
// from the pool, and only it: the next run fetches nothing again.
func TestSyncPrune(t *testing.T) {
	demo := rpmtest.Demo()
	src := newMemSource(t, demo[:4])
	target := t.TempDir()
	s, err := New(Options{CacheDir: t.TempDir(), Parallelism: 2}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, src, target)
	repo.Publish.GracePeriod = 0 // the target lets go of retired packages at once
	ctx := context.Background()
	if _, err := s.Sync(ctx, repo); err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune(ctx, 0)
	if err != nil || res.Packages != 0 {
		t.Fatalf("prune with every package in use: %+v, %v", res, err)
	}

	src.mu.Lock()
	delete(src.files, "Packages/"+demo[0].RelPath())
	src.mu.Unlock()
	if _, err := s.Sync(ctx, repo); err != nil {
		t.Fatal(err)
	}
	if res, err = s.Prune(ctx, time.Hour); err != nil || res.Packages != 0 {
		t.Fatalf("prune within the grace period: %+v, %v", res, err)
	}
	res, err = s.Prune(ctx, 0)
	if err != nil || res.Packages != 1 {
		t.Fatalf("prune: %+v, %v", res, err)
	}

	repo.ConfigDigest = "v2"
	sres, err := s.Sync(ctx, repo)
	if err != nil || sres.Fetched != 0 || sres.Reused != 3 {
		t.Fatalf("sync after prune: %+v, %v", sres, err)
	}
	if got := publishedPackages(t, target); len(got) != 3 {
		t.Errorf("published %d packages, want 3", len(got))
	}
}
