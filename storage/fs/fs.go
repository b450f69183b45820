// Package fs is the storage.Backend of a local directory, the tree an
// HTTP server such as nginx serves a repository from.
//
// Every Put writes a hidden temporary file (".rpmirror-tmp-*") in the
// object's directory, syncs it and renames it over the key, then syncs the
// directory: a reader sees the old file or the new one, never a partial
// one, and a crash leaves at worst a stray temporary file, which List
// ignores. PutIfAbsent links the temporary file to the key instead of
// renaming it, which fails if the key exists. Link (storage.Linker)
// stores a local file by hard-linking it, without copying its bytes.
//
// The SHA-256 given to Put is kept in the extended attribute
// user.rpmirror.sha256 when the file system supports user xattrs (Stat and
// List report "" otherwise). ContentType and CacheControl are not stored:
// the HTTP server in front of the directory decides those headers.
//
// Restrictions of a file tree, beyond storage.ValidKey: a key cannot be
// both an object and the directory of other objects ("a" and "a/b"), and a
// key with an element starting with ".rpmirror-tmp" is invalid.
package fs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/rpmirror/rpmirror/storage"
)

// tmpPrefix starts the name of every temporary file; List skips names
// with it, and keys with an element starting with it are invalid.
const tmpPrefix = ".rpmirror-tmp"

const (
	filePerm = 0o644
	dirPerm  = 0o755
)

// Backend stores objects as files under a root directory.
type Backend struct {
	root string
	// mkdirMu serialises the creation of parent directories, so that a Put
	// never relies on a directory that another Put created but has not
	// yet made durable by syncing its parent.
	mkdirMu sync.Mutex

	// unsynced are the directories that Link changed since the last
	// Flush.
	unsyncedMu sync.Mutex
	unsynced   map[string]bool
}

var (
	_ storage.Backend           = (*Backend)(nil)
	_ storage.ConditionalPutter = (*Backend)(nil)
	_ storage.Linker            = (*Backend)(nil)
)

// New returns a Backend storing objects under root, which is created
// (with its parents) when missing.
func New(root string) (*Backend, error) {
	if root == "" {
		return nil, errors.New("fs: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("fs: root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirPerm); err != nil {
		return nil, fmt.Errorf("fs: create root: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("fs: root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("fs: root %s is not a directory", abs)
	}
	return &Backend{root: abs}, nil
}

// Root returns the absolute path of the root directory.
func (b *Backend) Root() string { return b.root }

// String describes the backend for logs.
func (b *Backend) String() string { return "fs:" + b.root }

// checkKey validates key and returns its file name.
func (b *Backend) checkKey(key string) (string, error) {
	if err := storage.ValidKey(key); err != nil {
		return "", fmt.Errorf("fs: %w", err)
	}
	for _, el := range strings.Split(key, "/") {
		if strings.HasPrefix(el, tmpPrefix) {
			return "", fmt.Errorf("fs: %w %q: element starts with %s (reserved for temporary files)", storage.ErrInvalidKey, key, tmpPrefix)
		}
	}
	return filepath.Join(b.root, filepath.FromSlash(key)), nil
}

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	return b.put(ctx, key, r, size, opt, false)
}

// PutIfAbsent implements storage.ConditionalPutter.
func (b *Backend) PutIfAbsent(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	return b.put(ctx, key, r, size, opt, true)
}

func (b *Backend) put(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions, exclusive bool) error {
	name, err := b.checkKey(key)
	if err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("fs: put %s: negative size %d", key, size)
	}
	if opt.SHA256 != "" && !validSHA256(opt.SHA256) {
		return fmt.Errorf("fs: put %s: SHA256 %q is not 64 lower-case hex digits", key, opt.SHA256)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	dir := filepath.Dir(name)
	if err := b.mkdirAll(dir); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	tmp, err := b.writeTemp(ctx, dir, r, size, opt.SHA256)
	if err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	tmpGone := false
	defer func() {
		if !tmpGone {
			_ = os.Remove(tmp)
		}
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	if exclusive {
		// link(2) fails with EEXIST if name exists, whatever it is: the
		// check and the creation are one atomic step.
		if err := os.Link(tmp, name); err != nil {
			if errors.Is(err, iofs.ErrExist) {
				if fi, statErr := os.Lstat(name); statErr == nil && fi.IsDir() {
					return fmt.Errorf("fs: put %s: a directory of that name exists", key)
				}
				return fmt.Errorf("fs: put %s: %w", key, storage.ErrExist)
			}
			return fmt.Errorf("fs: put %s: %w", key, err)
		}
		// Remove the temporary name before the directory sync below, so
		// that the sync covers both directory entries.
		tmpGone = true
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("fs: put %s: remove temporary file: %w", key, err)
		}
	} else {
		if err := os.Rename(tmp, name); err != nil {
			return fmt.Errorf("fs: put %s: %w", key, err)
		}
		tmpGone = true
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("fs: put %s: %w", key, err)
	}
	return nil
}

// Link implements storage.Linker: the file is hard-linked under a
// temporary name in the key's directory, given the SHA-256 attribute
// and the published mode, and renamed over the key; the directory is
// synced by the next Flush, once for all the links made in it (a
// directory sync per package was most of the time of publishing a
// synced repository). The file's inode is shared, so its mode and attribute change
// for every name it has. A file on another file system, or a file
// system without hard links, is errors.ErrUnsupported.
func (b *Backend) Link(ctx context.Context, key, path string, size int64, opt storage.PutOptions) error {
	name, err := b.checkKey(key)
	if err != nil {
		return err
	}
	if opt.SHA256 != "" && !validSHA256(opt.SHA256) {
		return fmt.Errorf("fs: link %s: SHA256 %q is not 64 lower-case hex digits", key, opt.SHA256)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("fs: link %s: %s is not a regular file", key, path)
	}
	if fi.Size() != size {
		return fmt.Errorf("fs: link %s: %w: %s has %d bytes, want %d", key, storage.ErrSizeMismatch, path, fi.Size(), size)
	}
	dir := filepath.Dir(name)
	if err := b.mkdirAll(dir); err != nil {
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	// rename(2) of a name onto another name of the same inode does
	// nothing and leaves both; so that case is handled before.
	if cur, err := os.Lstat(name); err == nil && os.SameFile(cur, fi) {
		if err := b.finishLink(name, opt.SHA256, size); err != nil {
			return fmt.Errorf("fs: link %s: %w", key, err)
		}
		return nil
	}
	tmp := filepath.Join(dir, tmpPrefix+"-"+rand.Text())
	if err := os.Link(path, tmp); err != nil {
		if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EMLINK) {
			return fmt.Errorf("fs: link %s: %w: %w", key, errors.ErrUnsupported, err)
		}
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	if err := b.finishLink(tmp, opt.SHA256, size); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("fs: link %s: %w", key, err)
	}
	b.unsyncedMu.Lock()
	if b.unsynced == nil {
		b.unsynced = map[string]bool{}
	}
	b.unsynced[dir] = true
	b.unsyncedMu.Unlock()
	return nil
}

// Flush implements storage.Linker: it syncs each directory that Link
// changed, and the linked files' inodes (their link counts and
// attributes) with them.
func (b *Backend) Flush(ctx context.Context) error {
	b.unsyncedMu.Lock()
	dirs := b.unsynced
	b.unsynced = nil
	b.unsyncedMu.Unlock()
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := ctx.Err(); err != nil {
			b.requeue(dirs)
			return fmt.Errorf("fs: flush: %w", err)
		}
		if err := syncDir(d); err != nil {
			b.requeue(dirs)
			return fmt.Errorf("fs: flush: %w", err)
		}
		delete(dirs, d)
	}
	return nil
}

// requeue puts back directories a failed Flush did not sync.
func (b *Backend) requeue(dirs map[string]bool) {
	b.unsyncedMu.Lock()
	defer b.unsyncedMu.Unlock()
	if b.unsynced == nil {
		b.unsynced = map[string]bool{}
	}
	for d := range dirs {
		b.unsynced[d] = true
	}
}

// finishLink gives a linked file the SHA-256 attribute and the mode of a
// published file.
func (b *Backend) finishLink(name, sha string, size int64) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if sha != "" {
		if err := setSHA256(f, sha, size); err != nil {
			return err
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm() != filePerm {
		return f.Chmod(filePerm)
	}
	return nil
}

// writeTemp writes exactly size bytes of r to a new, synced, 0644
// temporary file in dir and returns its name. On error nothing is left.
func (b *Backend) writeTemp(ctx context.Context, dir string, r io.ReadSeeker, size int64, sha string) (name string, err error) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("seek to start: %w", err)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, size))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", ctxErr
		}
		return "", err
	}
	if n != size {
		return "", fmt.Errorf("%w: read %d bytes, want %d", storage.ErrSizeMismatch, n, size)
	}
	// r must end exactly at size.
	var probe [1]byte
	if m, err := io.ReadFull(r, probe[:]); m > 0 {
		return "", fmt.Errorf("%w: more than %d bytes", storage.ErrSizeMismatch, size)
	} else if err != nil && err != io.EOF {
		return "", err
	}
	if sha != "" {
		if err := setSHA256(f, sha, size); err != nil {
			return "", err
		}
	}
	// CreateTemp makes the file 0600; published files are world-readable
	// whatever the umask.
	if err := f.Chmod(filePerm); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// mkdirAll creates dir and its missing parents (under the root), each
// 0755, syncing the parent of every directory it creates.
func (b *Backend) mkdirAll(dir string) error {
	b.mkdirMu.Lock()
	defer b.mkdirMu.Unlock()
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	rel, err := filepath.Rel(b.root, dir)
	if err != nil {
		return err
	}
	cur := b.root
	for _, el := range strings.Split(rel, string(filepath.Separator)) {
		parent := cur
		cur = filepath.Join(cur, el)
		err := os.Mkdir(cur, dirPerm)
		if errors.Is(err, iofs.ErrExist) {
			fi, statErr := os.Stat(cur)
			if statErr != nil {
				return statErr
			}
			if !fi.IsDir() {
				return fmt.Errorf("%s exists and is not a directory", cur)
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Chmod(cur, dirPerm); err != nil { // whatever the umask
			return err
		}
		if err := syncDir(parent); err != nil {
			return err
		}
	}
	return nil
}

// Open implements storage.Backend.
func (b *Backend) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := b.checkKey(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fs: open %s: %w", key, err)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("fs: open %s: %w", key, mapNotExist(err))
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("fs: open %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("fs: open %s: %w (not a regular file)", key, storage.ErrNotExist)
	}
	return f, nil
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (storage.Object, error) {
	name, err := b.checkKey(key)
	if err != nil {
		return storage.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Object{}, fmt.Errorf("fs: stat %s: %w", key, err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		return storage.Object{}, fmt.Errorf("fs: stat %s: %w", key, mapNotExist(err))
	}
	if !fi.Mode().IsRegular() {
		return storage.Object{}, fmt.Errorf("fs: stat %s: %w (not a regular file)", key, storage.ErrNotExist)
	}
	return object(key, name, fi), nil
}

func object(key, name string, fi os.FileInfo) storage.Object {
	return storage.Object{
		Key:     key,
		Size:    fi.Size(),
		ModTime: fi.ModTime(),
		SHA256:  getSHA256(name, fi),
	}
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	name, err := b.checkKey(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: delete %s: %w", key, err)
	}
	// unlink(2), not os.Remove: a directory is not an object and must not
	// be removed. The directory is not synced: a deletion undone by a
	// crash leaves an old file behind, which no publish order relies on.
	err = syscall.Unlink(name)
	switch {
	case err == nil, errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.EISDIR):
		return nil
	default:
		return fmt.Errorf("fs: delete %s: %w", key, &os.PathError{Op: "unlink", Path: name, Err: err})
	}
}

// List implements storage.Backend.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fs: list %q: %w", prefix, err)
	}
	// Start in the deepest directory the prefix names completely. If
	// those elements do not form a valid key, no valid key has the prefix
	// (and the walk must not leave the root).
	dirKey := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey = prefix[:i]
		if _, err := b.checkKey(dirKey); err != nil {
			return nil
		}
	}
	if strings.ContainsAny(prefix, "\\\x00") {
		return nil
	}
	dir := filepath.Join(b.root, filepath.FromSlash(dirKey))
	var keyPrefix string
	if dirKey != "" {
		keyPrefix = dirKey + "/"
	}
	err := b.walk(ctx, dir, keyPrefix, prefix, fn)
	var stop stopError
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return fmt.Errorf("fs: list %q: %w", prefix, err)
	}
	return nil
}

// stopError carries fn's error through the walk unchanged.
type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }

// walk lists dir, whose objects have keys starting with keyPrefix, in
// lexical key order.
func (b *Backend) walk(ctx context.Context, dir, keyPrefix, prefix string, fn func(storage.Object) error) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil
		}
		return err
	}
	type item struct {
		key  string // sort key: a directory's key ends with '/'
		name string
		dir  bool
	}
	items := make([]item, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&iofs.ModeSymlink != 0 {
			// Follow links to files; links to directories are not
			// walked (they could loop).
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
		} else if !isDir && !e.Type().IsRegular() {
			continue
		}
		key := keyPrefix + name
		if isDir {
			key += "/"
			// Prune directories that cannot hold a key with the prefix.
			if !strings.HasPrefix(key, prefix) && !strings.HasPrefix(prefix, key) {
				continue
			}
		} else if !strings.HasPrefix(key, prefix) {
			continue
		}
		items = append(items, item{key, name, isDir})
	}
	// Sorting directories by name+"/" gives the order of the keys inside
	// them: "a-b" < "a/x" < "a0", as byte-wise key order wants.
	slices.SortFunc(items, func(x, y item) int { return strings.Compare(x.key, y.key) })
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		full := filepath.Join(dir, it.name)
		if it.dir {
			if err := b.walk(ctx, full, it.key, prefix, fn); err != nil {
				return err
			}
			continue
		}
		if storage.ValidKey(it.key) != nil {
			continue // a file name no key can address, e.g. with a backslash
		}
		fi, err := os.Stat(full)
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				continue // deleted during the List
			}
			return err
		}
		if err := fn(object(it.key, full, fi)); err != nil {
			return stopError{err}
		}
	}
	return nil
}

// mapNotExist turns the errors of a missing file (or of a path through a
// regular file) into storage.ErrNotExist, keeping the cause.
func mapNotExist(err error) error {
	if errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %w", storage.ErrNotExist, err)
	}
	return err
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ctxReader fails reads once ctx is done, so a long copy stops promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
