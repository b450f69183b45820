package syncer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// PruneResult says what Prune removed from the pool, or would remove in
// a dry run.
type PruneResult struct {
	Packages int   // pooled packages no repository links to
	Partial  int   // abandoned partial downloads
	Bytes    int64 // their sizes
	// Removed lists the removed (or, in a dry run, removable) files,
	// relative to the pool.
	Removed []string
}

// Prune removes from the package pool what no repository needs any
// more, so that the cache does not grow with every version upstream
// ever published:
//
//   - a pooled package that no repository tree links to (nor a directory
//     target on the same file system, which publishing hard-links), once
//     that has been so for at least grace: its link count is 1 and its
//     inode has not changed for grace (removing a link changes the
//     inode's ctime, so the clock starts when the last tree let go);
//   - a partial download untouched for grace and not being fetched.
//
// The trees of every repository in the cache count, configured or not:
// removing a repository's directory under CacheDir/repos releases its
// packages. A package pruned and wanted again later is fetched again.
// With the syncer's DryRun, nothing is removed and the result says what
// would be. Errors on single files are logged and skipped; the error
// returned is the first of them, after everything else was done.
func (s *Syncer) Prune(ctx context.Context, grace time.Duration) (*PruneResult, error) {
	return prunePool(ctx, filepath.Join(s.opt.CacheDir, "pool"), time.Now(), grace, s.opt.DryRun, s.log)
}

func prunePool(ctx context.Context, dir string, now time.Time, grace time.Duration, dryRun bool, log logrus.FieldLogger) (*PruneResult, error) {
	res := &PruneResult{}
	var firstErr error
	fail := func(err error) {
		log.WithError(err).Warn("pool prune")
		if firstErr == nil {
			firstErr = err
		}
	}
	old := func(t time.Time) bool { return now.Sub(t) >= grace }
	remove := func(path string, size int64, partial bool) {
		if !dryRun {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fail(err)
				return
			}
		}
		rel, _ := filepath.Rel(dir, path)
		res.Removed = append(res.Removed, filepath.ToSlash(rel))
		res.Bytes += size
		if partial {
			res.Partial++
		} else {
			res.Packages++
		}
	}

	shards, err := os.ReadDir(filepath.Join(dir, "sha256"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("pool prune: %w", err)
	}
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		shard := filepath.Join(dir, "sha256", sh.Name())
		entries, err := os.ReadDir(shard)
		if err != nil {
			fail(err)
			continue
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if !strings.HasSuffix(e.Name(), ".rpm") {
				continue
			}
			path := filepath.Join(shard, e.Name())
			var st unix.Stat_t
			if err := unix.Lstat(path, &st); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					fail(&os.PathError{Op: "lstat", Path: path, Err: err})
				}
				continue
			}
			if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 || !old(time.Unix(st.Ctim.Unix())) {
				continue
			}
			remove(path, st.Size, false)
		}
	}

	partials, err := os.ReadDir(filepath.Join(dir, "partial"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fail(err)
	}
	for _, e := range partials {
		path := filepath.Join(dir, "partial", e.Name())
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !old(fi.ModTime()) {
			continue
		}
		// A run fetching it holds its lock (pool.ingest); removed while
		// locked here, so that such a run cannot start in between.
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			remove(path, fi.Size(), true)
		}
		f.Close()
	}
	return res, firstErr
}
