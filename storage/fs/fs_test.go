package fs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/fs"
	"github.com/rpmirror/rpmirror/storage/storagetest"
)

// xattrSupported reports whether dir's file system keeps user xattrs.
func xattrSupported(t *testing.T, dir string) bool {
	p := filepath.Join(dir, "probe")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	return unix.Setxattr(p, "user.rpmirror.probe", []byte("1"), 0) == nil
}

func newBackend(t *testing.T) *fs.Backend {
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConformance(t *testing.T) {
	sha := xattrSupported(t, t.TempDir())
	if !sha {
		t.Log("the temporary directory's file system has no user xattrs: SHA256 is not required")
	}
	storagetest.Options{SHA256: sha}.Run(t, func(t *testing.T) storage.Backend {
		b := newBackend(t)
		t.Cleanup(func() { checkNoTemp(t, b.Root()) })
		return b
	})
}

// checkNoTemp fails if a temporary file was left under root.
func checkNoTemp(t *testing.T, root string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".rpmirror-tmp") {
			t.Errorf("temporary file left behind: %s", p)
		}
		return nil
	})
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestLayoutAndPermissions(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	b := newBackend(t)
	ctx := context.Background()
	content := []byte("rpm")
	if err := b.Put(ctx, "Packages/a/acme.rpm", bytes.NewReader(content), 3, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{
		"Packages":            os.ModeDir | 0o755,
		"Packages/a":          os.ModeDir | 0o755,
		"Packages/a/acme.rpm": 0o644,
	} {
		fi, err := os.Stat(filepath.Join(b.Root(), p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v (whatever the umask)", p, fi.Mode(), want)
		}
	}
	got, err := os.ReadFile(filepath.Join(b.Root(), "Packages", "a", "acme.rpm"))
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("file content %q, %v", got, err)
	}
}

func TestTemporaryFilesAreInvisible(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	if err := b.Put(ctx, "repodata/repomd.xml", bytes.NewReader([]byte("x")), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// What a crash in the middle of Puts leaves behind.
	for _, p := range []string{"repodata/.rpmirror-tmp-123", ".rpmirror-tmp-9", ".rpmirror-tmp-dir/x"} {
		full := filepath.Join(b.Root(), filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := b.List(ctx, "", func(o storage.Object) error { got = append(got, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "repodata/repomd.xml" {
		t.Errorf("List = %q, want only repodata/repomd.xml", got)
	}
	for _, key := range []string{".rpmirror-tmp-9", "repodata/.rpmirror-tmp-123", ".rpmirror-tmp-dir/x", "a/.rpmirror-tmpfoo"} {
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q): %v, want ErrInvalidKey", key, err)
		}
		if err := b.Put(ctx, key, bytes.NewReader(nil), 0, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestSHA256Xattr(t *testing.T) {
	b := newBackend(t)
	if !xattrSupported(t, b.Root()) {
		t.Skip("no user xattrs on the temporary directory's file system")
	}
	ctx := context.Background()
	content := []byte("content")
	key := "Packages/x.rpm"
	if err := b.Put(ctx, key, bytes.NewReader(content), int64(len(content)), storage.PutOptions{SHA256: sum(content)}); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(b.Root(), "Packages", "x.rpm")
	buf := make([]byte, 256)
	n, err := unix.Getxattr(name, "user.rpmirror.sha256", buf)
	if err != nil {
		t.Fatalf("xattr: %v", err)
	}
	if !strings.HasPrefix(string(buf[:n]), sum(content)+" ") {
		t.Errorf("xattr = %q, want it to start with the SHA-256", buf[:n])
	}
	o, err := b.Stat(ctx, key)
	if err != nil || o.SHA256 != sum(content) {
		t.Fatalf("Stat = %+v, %v", o, err)
	}

	// A file rewritten in place keeps its xattrs (cp does this): the
	// recorded SHA-256 no longer describes it and must not be reported.
	time.Sleep(10 * time.Millisecond) // a distinct mtime even on coarse clocks
	if err := os.WriteFile(name, []byte("CONTENT"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, err := b.Stat(ctx, key); err != nil || o.SHA256 != "" {
		t.Errorf("Stat of a file changed behind the backend = %+v, %v; want SHA256 \"\"", o, err)
	}

	if err := b.Put(ctx, key, bytes.NewReader(content), int64(len(content)), storage.PutOptions{SHA256: "not-hex"}); err == nil {
		t.Error("Put with a malformed SHA256 succeeded")
	}
}

func TestKeyThroughFile(t *testing.T) {
	b := newBackend(t)
	ctx := context.Background()
	if err := b.Put(ctx, "a", bytes.NewReader([]byte("x")), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// A file tree cannot hold "a" and "a/b".
	if err := b.Put(ctx, "a/b", bytes.NewReader([]byte("y")), 1, storage.PutOptions{}); err == nil {
		t.Error("Put of a key below an object succeeded")
	}
	// A directory cannot be replaced by an object either, and a
	// conditional create of it is not ErrExist (there is no object).
	if err := b.Put(ctx, "d/e", bytes.NewReader([]byte("y")), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "d", bytes.NewReader([]byte("z")), 1, storage.PutOptions{}); err == nil {
		t.Error("Put over a directory succeeded")
	}
	if err := b.PutIfAbsent(ctx, "d", bytes.NewReader([]byte("z")), 1, storage.PutOptions{}); err == nil || errors.Is(err, storage.ErrExist) {
		t.Errorf("PutIfAbsent over a directory: %v, want a non-ErrExist error", err)
	}
	checkNoTemp(t, b.Root())
}

func TestNewRoot(t *testing.T) {
	dir := t.TempDir()
	b, err := fs.New(filepath.Join(dir, "new", "root"))
	if err != nil {
		t.Fatalf("New of a missing directory: %v", err)
	}
	if fi, err := os.Stat(b.Root()); err != nil || !fi.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.New(file); err == nil {
		t.Error("New of a regular file succeeded")
	}
	if _, err := fs.New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
}

// List never leaves the root, whatever the prefix.
func TestListStaysInRoot(t *testing.T) {
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "outside"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := fs.New(filepath.Join(parent, "root"))
	if err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"../", "../o", "a/../../", "/", "/etc/"} {
		err := b.List(context.Background(), prefix, func(o storage.Object) error {
			t.Errorf("List(%q) reported %q", prefix, o.Key)
			return nil
		})
		if err != nil {
			t.Errorf("List(%q): %v", prefix, err)
		}
	}
}

func TestLink(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	b, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("an immutable pooled package")
	sum := sha256.Sum256(content)
	opt := storage.PutOptions{SHA256: hex.EncodeToString(sum[:])}
	src := filepath.Join(t.TempDir(), "pooled.rpm")
	if err := os.WriteFile(src, content, 0o600); err != nil {
		t.Fatal(err)
	}
	key := "Packages/a/acme.rpm"
	// Twice: the second finds the same inode at the key.
	for range 2 {
		if err := b.Link(ctx, key, src, int64(len(content)), opt); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // the second has nothing left to sync
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := os.Stat(src)
	got, err := os.Stat(filepath.Join(root, filepath.FromSlash(key)))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, got) {
		t.Error("the object is not a hard link of the file")
	}
	if got.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", got.Mode().Perm())
	}
	o, err := b.Stat(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if xattrSupported(t, root) && o.SHA256 != opt.SHA256 {
		t.Errorf("Stat SHA256 %q, want %q", o.SHA256, opt.SHA256)
	}
	entries, _ := os.ReadDir(filepath.Join(root, "Packages", "a"))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the object only", len(entries))
	}

	// Replacing a linked object by Put leaves the linked file alone.
	if err := b.Put(ctx, key, bytes.NewReader([]byte("new")), 3, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(src); !bytes.Equal(b, content) {
		t.Errorf("the source file changed with the object: %q", b)
	}

	// Wrong size: nothing stored.
	if err := b.Link(ctx, "other.rpm", src, 5, opt); !errors.Is(err, storage.ErrSizeMismatch) {
		t.Errorf("wrong size: %v", err)
	}
	if _, err := b.Stat(ctx, "other.rpm"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("wrong size stored something: %v", err)
	}

	// Another file system: ErrUnsupported, nothing stored, nothing left.
	shm, err := os.MkdirTemp("/dev/shm", "rpmirror-link-")
	if err != nil {
		t.Skip("no /dev/shm for a second file system")
	}
	defer os.RemoveAll(shm)
	var sa, sb unix.Statfs_t
	if unix.Statfs(shm, &sa) != nil || unix.Statfs(root, &sb) != nil || sa.Fsid == sb.Fsid {
		t.Skip("/dev/shm is on the same file system as the test directory")
	}
	far := filepath.Join(shm, "far.rpm")
	if err := os.WriteFile(far, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.Link(ctx, "far.rpm", far, int64(len(content)), opt); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("link across file systems: %v, want ErrUnsupported", err)
	}
	if entries, _ := os.ReadDir(root); len(entries) != 1 {
		t.Errorf("root holds %d entries after a failed link, want 1 (Packages)", len(entries))
	}
}
