package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/storage"
)

// The tests of concurrency, cancellation and conditional creation.

// Readers running while an object is replaced again and again see one
// whole version or the other, never a mix or a short object.
func (s *suite) testAtomicOverwrite(t *testing.T, b storage.Backend) {
	if testing.Short() {
		t.Skip("-short")
	}
	key := "repodata/primary.xml.gz"
	versions := [][]byte{data(10, s.o.AtomicSize), data(11, s.o.AtomicSize*5/8)}
	sums := map[string]int{sum(versions[0]): 0, sum(versions[1]): 1}
	put(t, b, key, versions[0], storage.PutOptions{})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reads, stats atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer cancel() // stops the readers
		for i := 1; i <= 6; i++ {
			v := versions[i%2]
			if err := b.Put(gctx, key, bytes.NewReader(v), int64(len(v)), storage.PutOptions{}); err != nil {
				return fmt.Errorf("Put #%d: %w", i, err)
			}
		}
		return nil
	})
	for range 2 {
		g.Go(func() error {
			for gctx.Err() == nil {
				o, err := b.Stat(gctx, key)
				if err != nil {
					if gctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("Stat during overwrite: %w", err)
				}
				if o.Size != int64(len(versions[0])) && o.Size != int64(len(versions[1])) {
					return fmt.Errorf("Stat during overwrite: size %d is neither version", o.Size)
				}
				stats.Add(1)
				rc, err := b.Open(gctx, key)
				if err != nil {
					if gctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("Open during overwrite: %w", err)
				}
				h := sha256.New()
				n, err := io.Copy(h, rc)
				_ = rc.Close()
				if err != nil {
					if gctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("read during overwrite: %w", err)
				}
				if _, ok := sums[hex.EncodeToString(h.Sum(nil))]; !ok {
					return fmt.Errorf("read during overwrite: %d bytes matching neither version", n)
				}
				reads.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d whole reads and %d stats during 6 overwrites", reads.Load(), stats.Load())
	checkContent(t, b, key, versions[0])
}

func (s *suite) testCancelled(t *testing.T, b storage.Backend) {
	put(t, b, "exists", []byte("old"), storage.PutOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", op, err)
		}
	}
	check("Put", b.Put(ctx, "new", bytes.NewReader([]byte("x")), 1, storage.PutOptions{}))
	check("Put over", b.Put(ctx, "exists", bytes.NewReader([]byte("x")), 1, storage.PutOptions{}))
	if cp, ok := b.(storage.ConditionalPutter); ok {
		check("PutIfAbsent", cp.PutIfAbsent(ctx, "new2", bytes.NewReader([]byte("x")), 1, storage.PutOptions{}))
	}
	rc, err := b.Open(ctx, "exists")
	if rc != nil {
		// An implementation may open lazily; reading must then fail.
		_, err = io.ReadAll(rc)
		_ = rc.Close()
	}
	check("Open", err)
	_, err = b.Stat(ctx, "exists")
	check("Stat", err)
	check("Delete", b.Delete(ctx, "exists"))
	called := false
	err = b.List(ctx, "", func(storage.Object) error { called = true; return nil })
	check("List", err)
	if called {
		t.Error("List with a cancelled context called fn")
	}
	if got := keys(list(t, b, "")); !slices.Equal(got, []string{"exists"}) {
		t.Errorf("objects after cancelled calls: %q, want [exists]", got)
	}
	checkContent(t, b, "exists", []byte("old"))

	// A List cancelled from fn stops before the next object.
	put(t, b, "more1", nil, storage.PutOptions{})
	put(t, b, "more2", nil, storage.PutOptions{})
	ctx, cancel = context.WithCancel(context.Background())
	calls := 0
	err = b.List(ctx, "", func(storage.Object) error { calls++; cancel(); return nil })
	check("List cancelled by fn", err)
	if calls != 1 {
		t.Errorf("fn called %d times after cancelling the List's context", calls)
	}
}

// cancelReader cancels a context once it has been read past n bytes, and
// then slows down, so that the cancellation overtakes the upload rather
// than racing it.
type cancelReader struct {
	*bytes.Reader
	n      int64
	read   atomic.Int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	c.pause()
	n, err := c.Reader.Read(p)
	if c.read.Add(int64(n)) > c.n {
		c.cancel()
	}
	return n, err
}

// ReadAt serves backends that read parts in parallel.
func (c *cancelReader) ReadAt(p []byte, off int64) (int, error) {
	c.pause()
	n, err := c.Reader.ReadAt(p, off)
	if off+int64(n) > c.n {
		c.read.Store(c.n + 1)
		c.cancel()
	}
	return n, err
}

func (c *cancelReader) pause() {
	if c.read.Load() > c.n {
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *suite) testCancelDuringPut(t *testing.T, b storage.Backend) {
	old := []byte("previous content")
	put(t, b, "obj", old, storage.PutOptions{})
	for _, size := range []int64{1 << 20, s.o.AtomicSize} {
		content := data(30, size)
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancelReader{Reader: bytes.NewReader(content), n: size / 3, cancel: cancel}
		err := b.Put(ctx, "obj", r, size, storage.PutOptions{})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Put of %d bytes cancelled after a third: %v, want context.Canceled", size, err)
		}
		checkContent(t, b, "obj", old)
	}
	if got := keys(list(t, b, "")); !slices.Equal(got, []string{"obj"}) {
		t.Errorf("objects after cancelled Puts: %q", got)
	}
}

func (s *suite) testConcurrentDistinctKeys(t *testing.T, b storage.Backend) {
	const n = 32
	g := new(errgroup.Group)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			c := data(uint64(100+i), int64(1000+i*100))
			// Several new directories at once.
			key := fmt.Sprintf("Packages/%c/pkg-%02d.rpm", 'a'+i%5, i)
			return b.Put(context.Background(), key, bytes.NewReader(c), int64(len(c)), storage.PutOptions{SHA256: sum(c)})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("concurrent Put: %v", err)
	}
	objs := list(t, b, "Packages/")
	if len(objs) != n {
		t.Fatalf("List: %d objects, want %d", len(objs), n)
	}
	for i := range n {
		key := fmt.Sprintf("Packages/%c/pkg-%02d.rpm", 'a'+i%5, i)
		checkContent(t, b, key, data(uint64(100+i), int64(1000+i*100)))
	}
}

func (s *suite) testConcurrentSameKey(t *testing.T, b storage.Backend) {
	const n = 8
	contents := map[string]bool{}
	var all [][]byte
	for i := range n {
		c := data(uint64(200+i), int64(50_000+i*1000))
		all = append(all, c)
		contents[sum(c)] = true
	}
	g := new(errgroup.Group)
	for _, c := range all {
		g.Go(func() error {
			return b.Put(context.Background(), "same", bytes.NewReader(c), int64(len(c)), storage.PutOptions{SHA256: sum(c)})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("concurrent Put: %v", err)
	}
	got := read(t, b, "same")
	if !contents[sum(got)] {
		t.Fatalf("after concurrent Puts of one key: %d bytes matching no Put", len(got))
	}
	o, err := b.Stat(context.Background(), "same")
	if err != nil {
		t.Fatal(err)
	}
	s.checkObject(t, o, "same", got, storage.PutOptions{SHA256: sum(got)}, false)
}

func conditional(t *testing.T, b storage.Backend) storage.ConditionalPutter {
	cp, ok := b.(storage.ConditionalPutter)
	if !ok {
		t.Skipf("%T does not implement storage.ConditionalPutter", b)
	}
	return cp
}

func (s *suite) testPutIfAbsent(t *testing.T, b storage.Backend) {
	cp := conditional(t, b)
	ctx := context.Background()
	first := []byte("owner: first")
	opt := storage.PutOptions{SHA256: sum(first), ContentType: "text/plain", CacheControl: "no-store"}
	if err := cp.PutIfAbsent(ctx, "locks/publish", bytes.NewReader(first), int64(len(first)), opt); err != nil {
		t.Fatalf("PutIfAbsent of a new key: %v", err)
	}
	o, err := b.Stat(ctx, "locks/publish")
	if err != nil {
		t.Fatal(err)
	}
	s.checkObject(t, o, "locks/publish", first, opt, false)
	second := []byte("owner: second, longer")
	err = cp.PutIfAbsent(ctx, "locks/publish", bytes.NewReader(second), int64(len(second)), storage.PutOptions{})
	if !errors.Is(err, storage.ErrExist) {
		t.Fatalf("PutIfAbsent of an existing key: %v, want ErrExist", err)
	}
	checkContent(t, b, "locks/publish", first)

	err = cp.PutIfAbsent(ctx, "locks/other", bytes.NewReader(first), int64(len(first))+1, storage.PutOptions{})
	if !errors.Is(err, storage.ErrSizeMismatch) {
		t.Fatalf("PutIfAbsent with a wrong size: %v, want ErrSizeMismatch", err)
	}
	if _, err := b.Stat(ctx, "locks/other"); !errors.Is(err, storage.ErrNotExist) {
		t.Fatalf("Stat after a failed PutIfAbsent: %v, want ErrNotExist", err)
	}

	if err := b.Delete(ctx, "locks/publish"); err != nil {
		t.Fatal(err)
	}
	if err := cp.PutIfAbsent(ctx, "locks/publish", bytes.NewReader(second), int64(len(second)), storage.PutOptions{}); err != nil {
		t.Fatalf("PutIfAbsent after Delete: %v", err)
	}
	checkContent(t, b, "locks/publish", second)
	// Put overwrites what PutIfAbsent created.
	put(t, b, "locks/publish", first, storage.PutOptions{})
	checkContent(t, b, "locks/publish", first)
	if got := keys(list(t, b, "")); !slices.Equal(got, []string{"locks/publish"}) {
		t.Errorf("objects: %q", got)
	}
}

// Exactly one of several concurrent PutIfAbsent calls wins, and the
// object holds the winner's content.
func (s *suite) testPutIfAbsentRace(t *testing.T, b storage.Backend) {
	cp := conditional(t, b)
	ctx := context.Background()
	const callers = 12
	for round := range 4 {
		var (
			mu      sync.Mutex
			winners []int
		)
		g := new(errgroup.Group)
		start := make(chan struct{})
		for i := range callers {
			g.Go(func() error {
				c := []byte(fmt.Sprintf("round %d owner %d", round, i))
				<-start
				err := cp.PutIfAbsent(ctx, "locks/race", bytes.NewReader(c), int64(len(c)), storage.PutOptions{})
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, i)
					mu.Unlock()
				case !errors.Is(err, storage.ErrExist):
					return fmt.Errorf("caller %d: %w", i, err)
				}
				return nil
			})
		}
		close(start)
		if err := g.Wait(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners %v, want exactly 1", round, len(winners), winners)
		}
		checkContent(t, b, "locks/race", []byte(fmt.Sprintf("round %d owner %d", round, winners[0])))
		if err := b.Delete(ctx, "locks/race"); err != nil {
			t.Fatal(err)
		}
	}
}
