// Package storagetest is the conformance suite of storage.Backend: every
// implementation runs it from its own tests,
//
//	func TestConformance(t *testing.T) {
//		storagetest.Options{SHA256: true}.Run(t, func(t *testing.T) storage.Backend { ... })
//	}
//
// newBackend is called once per subtest and must return a backend over an
// empty target (a fresh directory, bucket or prefix) that is cleaned up
// with t.Cleanup. The PutIfAbsent tests run when the backend implements
// storage.ConditionalPutter.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/storage"
)

// Options are the capabilities the suite holds a backend to. A capability
// a backend lacks is still checked for not lying: an attribute it cannot
// keep must be reported as "", never as a wrong value.
type Options struct {
	// SHA256: Stat reports the PutOptions.SHA256 of the object.
	SHA256 bool
	// HTTPHeaders: Stat reports the PutOptions.ContentType and
	// CacheControl of the object.
	HTTPHeaders bool
	// LargeSize is the size of the large-object test (default 40 MiB);
	// it should exceed the backend's multipart part size. The test is
	// skipped with -short.
	LargeSize int64
	// AtomicSize is the size of the objects the atomic-overwrite test
	// replaces while readers read them (default 11 MiB; with the other
	// version 5/8 of that).
	AtomicSize int64
}

// Run runs the suite with default Options: no capability required.
func Run(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	Options{}.Run(t, newBackend)
}

// Run runs the suite against the backends newBackend returns.
func (o Options) Run(t *testing.T, newBackend func(t *testing.T) storage.Backend) {
	if o.LargeSize == 0 {
		o.LargeSize = 40 << 20
	}
	if o.AtomicSize == 0 {
		o.AtomicSize = 11 << 20
	}
	s := &suite{o: o, newBackend: newBackend}
	tests := []struct {
		name string
		fn   func(t *testing.T, b storage.Backend)
	}{
		{"RoundTrip", s.testRoundTrip},
		{"Overwrite", s.testOverwrite},
		{"PutSeeksToStart", s.testPutSeeksToStart},
		{"AtomicOverwrite", s.testAtomicOverwrite},
		{"SizeMismatch", s.testSizeMismatch},
		{"NotExist", s.testNotExist},
		{"Delete", s.testDelete},
		{"List", s.testList},
		{"ListFnError", s.testListFnError},
		{"InvalidKeys", s.testInvalidKeys},
		{"Cancelled", s.testCancelled},
		{"CancelDuringPut", s.testCancelDuringPut},
		{"ConcurrentDistinctKeys", s.testConcurrentDistinctKeys},
		{"ConcurrentSameKey", s.testConcurrentSameKey},
		{"PutIfAbsent", s.testPutIfAbsent},
		{"PutIfAbsentRace", s.testPutIfAbsentRace},
		{"Empty", s.testEmpty},
		{"SpecialKeys", s.testSpecialKeys},
		{"Large", s.testLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBackend(t)) })
	}
}

type suite struct {
	o          Options
	newBackend func(t *testing.T) storage.Backend
}

// data returns n deterministic pseudo-random bytes for seed.
func data(seed uint64, n int64) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24), 'r', 'p', 'm'})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func put(t testing.TB, b storage.Backend, key string, content []byte, opt storage.PutOptions) {
	t.Helper()
	if err := b.Put(context.Background(), key, bytes.NewReader(content), int64(len(content)), opt); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(content), err)
	}
}

func read(t testing.TB, b storage.Backend, key string) []byte {
	t.Helper()
	rc, err := b.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close(%q): %v", key, err)
	}
	return got
}

func checkContent(t testing.TB, b storage.Backend, key string, want []byte) {
	t.Helper()
	got := read(t, b, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("content of %q: got %d bytes (sha256 %s), want %d bytes (sha256 %s)",
			key, len(got), sum(got)[:12], len(want), sum(want)[:12])
	}
}

func list(t testing.TB, b storage.Backend, prefix string) []storage.Object {
	t.Helper()
	var objs []storage.Object
	err := b.List(context.Background(), prefix, func(o storage.Object) error {
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return objs
}

func keys(objs []storage.Object) []string {
	k := make([]string, len(objs))
	for i, o := range objs {
		k[i] = o.Key
	}
	return k
}

// checkObject checks what Stat (or List, when listed) reports of key
// against what was put.
func (s *suite) checkObject(t testing.TB, got storage.Object, key string, content []byte, opt storage.PutOptions, listed bool) {
	t.Helper()
	if got.Key != key {
		t.Errorf("Key = %q, want %q", got.Key, key)
	}
	if got.Size != int64(len(content)) {
		t.Errorf("%s: Size = %d, want %d", key, got.Size, len(content))
	}
	if got.ModTime.IsZero() {
		t.Errorf("%s: zero ModTime", key)
	} else if d := time.Since(got.ModTime); d > 10*time.Minute || d < -10*time.Minute {
		t.Errorf("%s: ModTime %v is %v away from now", key, got.ModTime, d)
	}
	required := s.o.SHA256 && !listed
	if got.SHA256 != opt.SHA256 && (required || got.SHA256 != "") {
		t.Errorf("%s: SHA256 = %q, want %q", key, got.SHA256, opt.SHA256)
	}
	required = s.o.HTTPHeaders && !listed
	if opt.ContentType != "" && got.ContentType != opt.ContentType && (required || got.ContentType != "") {
		t.Errorf("%s: ContentType = %q, want %q", key, got.ContentType, opt.ContentType)
	}
	if got.CacheControl != opt.CacheControl && (required || got.CacheControl != "") {
		t.Errorf("%s: CacheControl = %q, want %q", key, got.CacheControl, opt.CacheControl)
	}
}

func (s *suite) testRoundTrip(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	content := []byte("<repomd>round trip</repomd>\n")
	key := "repodata/repomd.xml"
	opt := storage.PutOptions{SHA256: sum(content), ContentType: "text/xml", CacheControl: "no-cache"}
	put(t, b, key, content, opt)
	checkContent(t, b, key, content)
	o, err := b.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	s.checkObject(t, o, key, content, opt, false)
	objs := list(t, b, "")
	if len(objs) != 1 {
		t.Fatalf("List: %d objects %q, want 1", len(objs), keys(objs))
	}
	s.checkObject(t, objs[0], key, content, opt, true)

	// Replacing the object replaces its attributes too: no stale SHA256
	// or headers survive a Put without them.
	content2 := []byte("<repomd>second version</repomd>\n")
	opt2 := storage.PutOptions{ContentType: "application/xml"}
	put(t, b, key, content2, opt2)
	o, err = b.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	s.checkObject(t, o, key, content2, opt2, false)
	if o.SHA256 != "" {
		t.Errorf("SHA256 after a Put without one = %q, want \"\"", o.SHA256)
	}

	opt3 := storage.PutOptions{SHA256: sum(content), CacheControl: "public, max-age=31536000, immutable"}
	put(t, b, key, content, opt3)
	o, err = b.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	s.checkObject(t, o, key, content, opt3, false)
}

func (s *suite) testOverwrite(t *testing.T, b storage.Backend) {
	key := "Packages/a/acme-1.0-1.x86_64.rpm"
	v1, v2, v3 := data(1, 3000), data(2, 100), data(3, 5000)
	for _, v := range [][]byte{v1, v2, v3} {
		put(t, b, key, v, storage.PutOptions{SHA256: sum(v)})
		checkContent(t, b, key, v)
		o, err := b.Stat(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		s.checkObject(t, o, key, v, storage.PutOptions{SHA256: sum(v)}, false)
	}
	if objs := list(t, b, ""); len(objs) != 1 {
		t.Fatalf("List after overwrites: %q, want one object", keys(objs))
	}
}

// A reader positioned anywhere must be stored from its start.
func (s *suite) testPutSeeksToStart(t *testing.T, b storage.Backend) {
	content := data(4, 1000)
	r := bytes.NewReader(content)
	if _, err := r.Seek(0, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(context.Background(), "seek", r, int64(len(content)), storage.PutOptions{}); err != nil {
		t.Fatalf("Put of a reader at its end: %v", err)
	}
	checkContent(t, b, "seek", content)
}

func (s *suite) testSizeMismatch(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	small := data(20, 1000)
	big := data(21, s.o.AtomicSize) // multipart-sized on S3
	for _, tc := range []struct {
		name    string
		content []byte
		size    int64
	}{
		{"short", small, 1001},
		{"long", small, 999},
		{"zero-for-some", small, 0},
		{"some-for-zero", nil, 10},
		{"big-short", big, int64(len(big)) + 1},
		{"big-long", big, int64(len(big)) - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "mismatch/" + tc.name
			err := b.Put(ctx, key, bytes.NewReader(tc.content), tc.size, storage.PutOptions{})
			if !errors.Is(err, storage.ErrSizeMismatch) {
				t.Fatalf("Put of %d bytes as %d: %v, want ErrSizeMismatch", len(tc.content), tc.size, err)
			}
			if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
				t.Fatalf("Stat after a failed Put: %v, want ErrNotExist", err)
			}
			// A failed Put leaves the previous object as it was.
			old := data(22, 2000)
			put(t, b, key, old, storage.PutOptions{SHA256: sum(old)})
			err = b.Put(ctx, key, bytes.NewReader(tc.content), tc.size, storage.PutOptions{})
			if !errors.Is(err, storage.ErrSizeMismatch) {
				t.Fatalf("second Put: %v, want ErrSizeMismatch", err)
			}
			checkContent(t, b, key, old)
			o, err := b.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			s.checkObject(t, o, key, old, storage.PutOptions{SHA256: sum(old)}, false)
		})
	}
	if objs := list(t, b, ""); len(objs) != 6 {
		t.Errorf("List: %q, want the 6 objects put after the failures", keys(objs))
	}
}

func (s *suite) testNotExist(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	put(t, b, "dir/sub/file", []byte("x"), storage.PutOptions{})
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/sub", "di", "dir/sub/file/below", "nodir/file"} {
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Stat(%q): %v, want ErrNotExist", key, err)
		}
		rc, err := b.Open(ctx, key)
		if !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Open(%q): %v, want ErrNotExist", key, err)
		}
		if rc != nil {
			t.Errorf("Open(%q) returned a reader with its error", key)
			_ = rc.Close()
		}
	}
}

func (s *suite) testDelete(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	put(t, b, "a/b/c", []byte("c"), storage.PutOptions{})
	put(t, b, "a/b/d", []byte("d"), storage.PutOptions{})
	for _, key := range []string{"missing", "a", "a/b", "a/b/c/d", "x/y/z"} {
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of no object: %v", key, err)
		}
	}
	if got := keys(list(t, b, "")); !slices.Equal(got, []string{"a/b/c", "a/b/d"}) {
		t.Fatalf("after deleting non-objects: %q", got)
	}
	if err := b.Delete(ctx, "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "a/b/c"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat after Delete: %v, want ErrNotExist", err)
	}
	if err := b.Delete(ctx, "a/b/c"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if got := keys(list(t, b, "")); !slices.Equal(got, []string{"a/b/d"}) {
		t.Fatalf("after Delete: %q", got)
	}
	checkContent(t, b, "a/b/d", []byte("d"))
	// The key can be written again.
	put(t, b, "a/b/c", []byte("again"), storage.PutOptions{})
	checkContent(t, b, "a/b/c", []byte("again"))
}

// listKeys avoids a key that is also the "directory" of another key, which
// a file tree cannot hold.
var listKeys = []string{
	"B/upper", "a-b", "a.b", "a/b", "a/c/d", "a/c/e", "a0", "ab",
	"repodata/1234-primary.xml.gz", "repodata/repomd.xml", "repodata/repomd.xml.asc",
	"é/x", "z z", "~tilde",
}

func (s *suite) testList(t *testing.T, b storage.Backend) {
	if got := list(t, b, ""); len(got) != 0 {
		t.Fatalf("List of an empty backend: %q", keys(got))
	}
	// Put in an order unlike the lexical one.
	sizes := map[string]int{}
	for i, k := range slices.Backward(listKeys) {
		sizes[k] = i * 7
		put(t, b, k, data(uint64(i), int64(i*7)), storage.PutOptions{})
	}
	sorted := slices.Clone(listKeys)
	slices.Sort(sorted)
	for _, prefix := range []string{
		"", "a", "a/", "a/c", "a/c/", "a/c/d", "a/b", "a-", "repodata/repomd.xml", "repodata/", "repo",
		"é", "z ", "~", "b", "B", "nothing", "a/c/d/", "zz", "\xff",
	} {
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		objs := list(t, b, prefix)
		if got := keys(objs); !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q", prefix, got, want)
		}
		for _, o := range objs {
			if o.Size != int64(sizes[o.Key]) {
				t.Errorf("List(%q): %s has size %d, want %d", prefix, o.Key, o.Size, sizes[o.Key])
			}
		}
	}
	// No valid key starts with these; they must not reach outside the
	// backend either.
	for _, prefix := range []string{"/", "../", "./a", "a//", "a/../", "..", "\\"} {
		var got []string
		err := b.List(context.Background(), prefix, func(o storage.Object) error {
			got = append(got, o.Key)
			return nil
		})
		if err != nil && !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("List(%q): %v", prefix, err)
		}
		if len(got) != 0 {
			t.Errorf("List(%q) = %q, want nothing", prefix, got)
		}
	}
}

// goid returns the current goroutine's id, to check where fn runs.
func goid() string {
	var buf [64]byte
	s := string(buf[:runtime.Stack(buf[:], false)])
	s, _, _ = strings.Cut(strings.TrimPrefix(s, "goroutine "), " ")
	return s
}

func (s *suite) testListFnError(t *testing.T, b storage.Backend) {
	for i := range 5 {
		put(t, b, fmt.Sprintf("k/%d", i), []byte{byte(i)}, storage.PutOptions{})
	}
	stop := errors.New("stop here")
	me := goid()
	calls := 0
	err := b.List(context.Background(), "k/", func(o storage.Object) error {
		if g := goid(); g != me {
			t.Errorf("fn called from goroutine %s, List from %s", g, me)
		}
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("List returned %v, want fn's error unchanged", err)
	}
	if calls != 2 {
		t.Errorf("fn called %d times after returning an error on call 2", calls)
	}
}

var invalidKeys = []string{"", "/", "/a", "a/", "a//b", ".", "..", "./a", "a/.", "a/../b", "../a", "a\\b", "a\x00b"}

func (s *suite) testInvalidKeys(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	cp, _ := b.(storage.ConditionalPutter)
	for _, key := range invalidKeys {
		if err := b.Put(ctx, key, bytes.NewReader([]byte("x")), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
		}
		if cp != nil {
			if err := cp.PutIfAbsent(ctx, key, bytes.NewReader([]byte("x")), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("PutIfAbsent(%q): %v, want ErrInvalidKey", key, err)
			}
		}
		if rc, err := b.Open(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Open(%q): %v, want ErrInvalidKey", key, err)
			if rc != nil {
				_ = rc.Close()
			}
		}
		if _, err := b.Stat(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Stat(%q): %v, want ErrInvalidKey", key, err)
		}
		if err := b.Delete(ctx, key); !errors.Is(err, storage.ErrInvalidKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidKey", key, err)
		}
	}
	if objs := list(t, b, ""); len(objs) != 0 {
		t.Errorf("objects after invalid Puts: %q", keys(objs))
	}
}

func (s *suite) testEmpty(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	opt := storage.PutOptions{SHA256: sum(nil), ContentType: "application/octet-stream"}
	if err := b.Put(ctx, "empty", bytes.NewReader(nil), 0, opt); err != nil {
		t.Fatalf("Put of an empty object: %v", err)
	}
	checkContent(t, b, "empty", []byte{})
	o, err := b.Stat(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	s.checkObject(t, o, "empty", nil, opt, false)
	objs := list(t, b, "")
	if len(objs) != 1 {
		t.Fatalf("List: %q", keys(objs))
	}
	s.checkObject(t, objs[0], "empty", nil, opt, true)
	// Replace a non-empty object by an empty one.
	put(t, b, "was-full", []byte("full"), storage.PutOptions{})
	put(t, b, "was-full", nil, storage.PutOptions{})
	checkContent(t, b, "was-full", []byte{})
}

// Keys as RPM file names and mirrored paths have them: spaces, UTF-8, and
// characters that URLs and S3 signatures treat specially.
var specialKeys = []string{
	"with space/a b.rpm",
	"utf8/ünïcödé-€-日本.rpm",
	"plus/c++-libs-1.0+git20230101-1.x86_64.rpm",
	"caret/abirin-8.22^20230253git4e17ace-2.el9.noarch.rpm",
	"tilde/pkg-2.0~rc1-1.el9.x86_64.rpm",
	"percent/100%25 %zz.rpm",
	"query/a?b=c&d=e.rpm",
	"hash/a#b.rpm",
	"punct/!$'()*,;:@[].rpm",
	"dots/...rpm",
	"dots/..a",
	"dots/a..",
}

func (s *suite) testSpecialKeys(t *testing.T, b storage.Backend) {
	ctx := context.Background()
	for i, key := range specialKeys {
		c := data(uint64(300+i), int64(10+i))
		put(t, b, key, c, storage.PutOptions{SHA256: sum(c), ContentType: "application/x-rpm"})
		checkContent(t, b, key, c)
		o, err := b.Stat(ctx, key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		s.checkObject(t, o, key, c, storage.PutOptions{SHA256: sum(c), ContentType: "application/x-rpm"}, false)
		if got := keys(list(t, b, key)); !slices.Equal(got, []string{key}) {
			t.Errorf("List(%q) = %q", key, got)
		}
	}
	want := slices.Clone(specialKeys)
	slices.Sort(want)
	if got := keys(list(t, b, "")); !slices.Equal(got, want) {
		t.Errorf("List = %q\nwant %q", got, want)
	}
	for _, key := range specialKeys {
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q): %v", key, err)
		}
	}
	if got := keys(list(t, b, "")); len(got) != 0 {
		t.Errorf("after Delete: %q", got)
	}
}

func (s *suite) testLarge(t *testing.T, b storage.Backend) {
	if testing.Short() {
		t.Skip("-short")
	}
	content := data(400, s.o.LargeSize)
	opt := storage.PutOptions{SHA256: sum(content), ContentType: "application/x-rpm", CacheControl: "public, max-age=3600"}
	key := "Packages/l/large-1.0-1.x86_64.rpm"
	start := time.Now()
	put(t, b, key, content, opt)
	t.Logf("Put of %d MiB: %v", s.o.LargeSize>>20, time.Since(start).Round(time.Millisecond))
	o, err := b.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	s.checkObject(t, o, key, content, opt, false)
	checkContent(t, b, key, content)
	// And replaced by a small one.
	put(t, b, key, []byte("small"), storage.PutOptions{})
	checkContent(t, b, key, []byte("small"))
}
