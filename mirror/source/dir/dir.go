// Package dir is a source.Source over a local directory of RPM files,
// searched recursively: build outputs, a copy of a repository, an
// NFS-mounted Koji volume.
//
// Every regular file whose name ends in ".rpm" is a candidate, published
// at its path relative to the directory. Symbolic links are skipped
// unless Config.FollowSymlinks is set; then links to files and to
// directories are followed wherever they point, and a file reached by
// several paths is a candidate at each (per-arch trees that link their
// noarch packages to one copy publish it in every arch). A link to a
// directory the walk is already inside (a loop) is not followed. Beware
// links that lead far: a Koji repository's "toplink" reaches the whole
// Koji tree, so point Path below it.
//
// List reads the name, epoch, version, release, arch and build time of
// each package from its header, with a few small reads that stop at the
// header's index (a syncer filters on them before it fetches anything),
// and remembers them by path, size, modification time and inode for as
// long as the Source lives: a long-running process re-reads only what
// changed, a fresh one reads every header once (on NFS, a round trip or
// two per package). A file without a readable RPM header is left out
// with a warning. Candidates carry no Checksum and no Package: the
// caller hashes and parses the whole file when it fetches it.
package dir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

// Config says which directory to read.
type Config struct {
	// Path is the directory.
	Path string
	// FollowSymlinks follows symbolic links to files and directories.
	FollowSymlinks bool
}

// Source lists and reads a directory tree. It is safe for concurrent
// use.
type Source struct {
	root   string // absolute, clean
	follow bool
	log    logrus.FieldLogger

	mu    sync.Mutex
	cache map[file]nevra // headers read by earlier Lists
}

var _ source.Source = (*Source)(nil)

// New returns a Source for cfg. The directory must exist now (an NFS
// mount point that is not mounted is usually an empty directory: New
// cannot tell, and a syncer should treat a source that suddenly lists
// nothing with suspicion). log may be nil.
func New(cfg Config, log logrus.FieldLogger) (*Source, error) {
	if cfg.Path == "" {
		return nil, errors.New("dir: no path")
	}
	root, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("dir: %s is not a directory", root)
	}
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	return &Source{root: root, follow: cfg.FollowSymlinks, log: log.WithField("source", "dir:"+root)}, nil
}

// file is one RPM found by the walk. Equal files have equal headers.
type file struct {
	rel      string // '/'-separated, relative to root
	size     int64
	mtime    int64 // nanoseconds
	dev, ino uint64
}

func newFile(rel string, fi fs.FileInfo) file {
	f := file{rel: rel, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.dev, f.ino = uint64(st.Dev), st.Ino
	}
	return f
}

// walk finds every RPM under root, sorted by relative path. An
// unreadable directory is an error (leaving its packages out would look
// like their removal); a file that vanishes during the walk is not.
func (s *Source) walk(ctx context.Context) ([]file, error) {
	var files []file
	// The directories the walk is inside, when following links: a link
	// to one of them is a loop.
	var stack []dirID
	var walkDir func(abs, rel string) error
	walkDir = func(abs, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.follow {
			id, err := idOf(abs)
			if err != nil {
				return fmt.Errorf("dir: %w", err)
			}
			for _, up := range stack {
				if up == id {
					s.log.WithField("key", rel).Debug("symbolic link loop: not followed")
					return nil
				}
			}
			stack = append(stack, id)
			defer func() { stack = stack[:len(stack)-1] }()
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return fmt.Errorf("dir: read directory %s: %w", abs, err)
		}
		for _, e := range entries {
			name := e.Name()
			full := filepath.Join(abs, name)
			relName := name
			if rel != "" {
				relName = rel + "/" + name
			}
			mode := e.Type()
			var fi fs.FileInfo
			if mode&fs.ModeSymlink != 0 {
				if !s.follow {
					continue
				}
				fi, err = os.Stat(full)
				if err != nil {
					s.log.WithField("key", relName).WithError(err).Debug("dangling symbolic link: skipped")
					continue
				}
				mode = fi.Mode().Type()
			}
			switch {
			case mode.IsDir():
				if err := walkDir(full, relName); err != nil {
					return err
				}
			case mode.IsRegular() && strings.HasSuffix(name, ".rpm"):
				if fi == nil {
					if fi, err = e.Info(); err != nil {
						if errors.Is(err, fs.ErrNotExist) {
							continue // removed since ReadDir
						}
						return fmt.Errorf("dir: %w", err)
					}
				}
				files = append(files, newFile(relName, fi))
			}
		}
		return nil
	}
	if err := walkDir(s.root, ""); err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

// dirID identifies a directory however it is reached.
type dirID struct {
	dev, ino uint64
	path     string // where there are no inode numbers: the resolved path
}

func idOf(path string) (dirID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return dirID{}, err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return dirID{dev: uint64(st.Dev), ino: st.Ino}, nil
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return dirID{}, err
	}
	return dirID{path: real}, nil
}

// Fingerprint is a digest of the path, size and modification time of
// every RPM, from a walk that stats files but reads none.
func (s *Source) Fingerprint(ctx context.Context) (string, error) {
	files, err := s.walk(ctx)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "dir %s follow=%t\n", s.root, s.follow)
	for _, f := range files {
		// NUL cannot occur in a path: the records cannot run together.
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f.rel, f.size, f.mtime)
	}
	return fmt.Sprintf("dir files=%d sha256=%s", len(files), hex.EncodeToString(h.Sum(nil))), nil
}

// List returns every RPM under the directory, sorted by Href (see the
// package comment). A file whose path cannot be an href (e.g. it
// contains '%', '?' or '#') or whose header cannot be read is left out
// with a warning; one that vanishes meanwhile is left out silently.
func (s *Source) List(ctx context.Context) ([]source.Candidate, error) {
	files, err := s.walk(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	old := s.cache
	s.mu.Unlock()
	open, done, err := s.opener()
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	defer done()
	heads := make([]nevra, len(files))
	errs := make([]error, len(files))
	g, gctx := errgroup.WithContext(ctx)
	// Reading headers waits on the disk or the network far more than
	// on the CPU.
	g.SetLimit(8)
	for i, f := range files {
		if h, ok := old[f]; ok {
			heads[i] = h
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			heads[i], errs[i] = readHeader(open, f)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	cache := make(map[file]nevra, len(files))
	out := make([]source.Candidate, 0, len(files))
	for i, f := range files {
		log := s.log.WithField("pkg", f.rel)
		if err := errs[i]; err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.WithError(err).Warn("left out: cannot read its RPM header")
			}
			continue
		}
		h := heads[i]
		cache[f] = h
		if err := repodata.CheckHref(f.rel); err != nil {
			log.WithError(err).Warn("left out: its path cannot be published")
			continue
		}
		out = append(out, source.Candidate{
			Href: f.rel, Name: h.name, Epoch: h.epoch, Version: h.version, Release: h.release, Arch: h.arch,
			BuildTime: h.buildTime, Size: f.size, Origin: filepath.Join(s.root, filepath.FromSlash(f.rel)),
			Token: fmt.Sprintf("%d:%d:%d:%d", f.dev, f.ino, f.size, f.mtime),
		})
	}
	s.mu.Lock()
	s.cache = cache
	s.mu.Unlock()
	return out, nil
}

func readHeader(open func(string) (*os.File, error), f file) (nevra, error) {
	fh, err := open(f.rel)
	if err != nil {
		return nevra{}, err
	}
	defer fh.Close()
	h, err := readNEVRA(fh, f.size)
	if err != nil {
		return nevra{}, fmt.Errorf("%s: %w", f.rel, err)
	}
	return h, nil
}

// Fetch copies the file at c.Href from offset on. The file must still
// have c.Size bytes (when c.Size >= 0) and must not change while it is
// copied; otherwise the error wraps source.ErrVerify. A file removed
// since List gives an error wrapping fs.ErrNotExist.
func (s *Source) Fetch(ctx context.Context, c *source.Candidate, offset int64, w io.Writer) error {
	if err := repodata.CheckHref(c.Href); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	open, done, err := s.opener()
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	f, err := open(c.Href)
	done()
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if !before.Mode().IsRegular() {
		return fmt.Errorf("dir: %s is not a regular file", c.Origin)
	}
	size := before.Size()
	if c.Size >= 0 && size != c.Size {
		return fmt.Errorf("dir: %s: %w: it has %d bytes, %d when listed", c.Href, source.ErrVerify, size, c.Size)
	}
	if offset < 0 || offset > size {
		return fmt.Errorf("dir: %s: %w: offset %d outside the file's %d bytes", c.Href, source.ErrVerify, offset, size)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	cw := &countWriter{w: w}
	n, err := io.CopyBuffer(cw, io.LimitReader(&ctxReader{ctx: ctx, r: f}, size-offset), make([]byte, 128<<10))
	switch {
	case cw.err != nil:
		return fmt.Errorf("dir: writing %s: %w", c.Href, cw.err)
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("dir: reading %s: %w", c.Href, err)
	case n < size-offset:
		return fmt.Errorf("dir: %s: %w: it shrank while being copied (%d of %d bytes)", c.Href, source.ErrVerify, offset+n, size)
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); m > 0 {
		return fmt.Errorf("dir: %s: %w: it grew while being copied", c.Href, source.ErrVerify)
	}
	after, err := f.Stat()
	if err != nil {
		return fmt.Errorf("dir: %w", err)
	}
	if after.Size() != size || !after.ModTime().Equal(before.ModTime()) {
		return fmt.Errorf("dir: %s: %w: it was modified while being copied", c.Href, source.ErrVerify)
	}
	return nil
}

// opener returns a function that opens hrefs below the root, and its
// cleanup. Without FollowSymlinks it goes through os.Root, so that no
// path can lead outside the directory.
func (s *Source) opener() (func(href string) (*os.File, error), func(), error) {
	if s.follow {
		return func(href string) (*os.File, error) {
			return os.Open(filepath.Join(s.root, filepath.FromSlash(href)))
		}, func() {}, nil
	}
	r, err := os.OpenRoot(s.root)
	if err != nil {
		return nil, nil, err
	}
	return func(href string) (*os.File, error) { return r.Open(filepath.FromSlash(href)) }, func() { r.Close() }, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// countWriter keeps the writer's error apart from the reader's.
type countWriter struct {
	w   io.Writer
	err error
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		cw.err = err
	}
	return n, err
}
