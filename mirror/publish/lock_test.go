package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/retry"
)

// forBoth runs fn against an fs target and a MinIO target.
func forBoth(t *testing.T, fn func(t *testing.T, tg testTarget)) {
	t.Run("fs", func(t *testing.T) { fn(t, fsTarget(t)) })
	t.Run("minio", func(t *testing.T) { fn(t, s3Target(t, minioServer(t))) })
}

type whoKey struct{}

// recorder wraps a backend: it slows down the Puts of publication
// objects and records which publisher (a context value) wrote what.
type recorder struct {
	storage.Backend
	cp    storage.ConditionalPutter
	delay time.Duration
	// beforePut, if set, runs before every Put of a publication object.
	beforePut func(key string)

	mu     sync.Mutex
	writes []string // "who key" of every successful write
}

func newRecorder(b storage.Backend, delay time.Duration) *recorder {
	return &recorder{Backend: b, cp: b.(storage.ConditionalPutter), delay: delay}
}

func (r *recorder) note(ctx context.Context, key string) {
	who, _ := ctx.Value(whoKey{}).(string)
	r.mu.Lock()
	r.writes = append(r.writes, who+" "+key)
	r.mu.Unlock()
}

func (r *recorder) Put(ctx context.Context, key string, rd io.ReadSeeker, size int64, opt storage.PutOptions) error {
	if !strings.HasPrefix(key, ReservedPrefix) {
		if r.beforePut != nil {
			r.beforePut(key)
		}
		select {
		case <-time.After(r.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := r.Backend.Put(ctx, key, rd, size, opt)
	if err == nil {
		r.note(ctx, key)
	}
	return err
}

func (r *recorder) PutIfAbsent(ctx context.Context, key string, rd io.ReadSeeker, size int64, opt storage.PutOptions) error {
	err := r.cp.PutIfAbsent(ctx, key, rd, size, opt)
	if err == nil {
		r.note(ctx, key)
	}
	return err
}

func (r *recorder) Delete(ctx context.Context, key string) error {
	err := r.Backend.Delete(ctx, key)
	if err == nil {
		r.note(ctx, key)
	}
	return err
}

func testLockConfig(holder string) lockConfig {
	return lockConfig{ttl: 8 * time.Second, holder: holder, poll: 50 * time.Millisecond}
}

// A publisher that finds the target locked fails at once naming the
// holder, or waits for it with LockWait.
func TestLockHeld(t *testing.T) {
	forBoth(t, func(t *testing.T, tg testTarget) {
		ctx := context.Background()
		src := t.TempDir()
		writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 1000)})
		lk, _, err := acquireLock(ctx, tg.b, testLockConfig("holder-A on host-a"), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}

		_, err = Publish(ctx, src, tg.b, DefaultOptions(), testLogger(t))
		var le *LockedError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.Holder.Holder != "holder-A on host-a" ||
			!strings.Contains(err.Error(), "holder-A on host-a") {
			t.Fatalf("publish on a locked target: %v", err)
		}
		if keys := tg.keys(t); len(keys) != 1 {
			t.Errorf("the loser wrote: %v", sortedKeys(keys))
		}

		opt := DefaultOptions()
		opt.LockWait = 30 * time.Second
		opt.lockPoll = 50 * time.Millisecond
		go func(lk *publishLock) {
			time.Sleep(time.Second)
			lk.release(ctx)
		}(lk)
		start := time.Now()
		res := mustPublish(t, src, tg, opt)
		if d := time.Since(start); d < time.Second || !res.RepomdChanged {
			t.Errorf("waited %s; %+v", d, res)
		}

		// A wait that runs out names the holder too.
		lk, _, err = acquireLock(ctx, tg.b, testLockConfig("holder-B"), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer lk.release(ctx)
		opt.LockWait = 300 * time.Millisecond
		_, err = Publish(ctx, src, tg.b, opt, testLogger(t))
		if !errors.As(err, &le) || le.Holder.Holder != "holder-B" || le.Waited < 300*time.Millisecond {
			t.Errorf("publish after a wait: %v", err)
		}
	})
}

// putLock stores a lock as another publisher would have.
func putLock(t *testing.T, b storage.Backend, info LockInfo) {
	t.Helper()
	data, _ := json.Marshal(info)
	if err := putBytes(context.Background(), b, LockKey, data, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// The lock of a publisher that crashed is taken over once it expires.
func TestLockExpiredTakeover(t *testing.T) {
	forBoth(t, func(t *testing.T, tg testTarget) {
		ctx := context.Background()
		src := t.TempDir()
		writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 1000)})
		crashed := LockInfo{Token: newToken(), Holder: "crashed publisher", Acquired: time.Now().Add(-time.Hour), Expires: time.Now().Add(-time.Second)}
		putLock(t, tg.b, crashed)
		res := mustPublish(t, src, tg, DefaultOptions())
		if !res.RepomdChanged {
			t.Errorf("%+v", res)
		}
		keys := tg.keys(t)
		if _, ok := keys[LockKey]; ok {
			t.Error("lock not released")
		}
		if _, ok := keys[takeoverPrefix+crashed.Token]; !ok {
			t.Errorf("no takeover marker: %v", sortedKeys(keys))
		}

		// Not yet expired: not taken.
		alive := LockInfo{Token: newToken(), Holder: "live publisher", Acquired: time.Now(), Expires: time.Now().Add(time.Minute)}
		putLock(t, tg.b, alive)
		if _, err := Publish(ctx, src, tg.b, DefaultOptions(), testLogger(t)); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "live publisher") {
			t.Errorf("publish on a live lock: %v", err)
		}
		tg.b.Delete(ctx, LockKey)

		// Garbage in the lock object is not taken for a lock, nor removed.
		putBytes(ctx, tg.b, LockKey, []byte("not json"), storage.PutOptions{})
		if _, err := Publish(ctx, src, tg.b, DefaultOptions(), testLogger(t)); err == nil || !strings.Contains(err.Error(), "not an rpmirror lock") {
			t.Errorf("publish on a garbage lock: %v", err)
		}
	})
}

// Of several publishers that find the same expired lock, exactly one
// takes it over.
func TestLockTakeoverRace(t *testing.T) {
	forBoth(t, func(t *testing.T, tg testTarget) {
		ctx := context.Background()
		for round := range 5 {
			putLock(t, tg.b, LockInfo{Token: newToken(), Holder: "crashed", Expires: time.Now().Add(-time.Second)})
			const n = 4
			var held atomic.Int32
			var locks [n]*publishLock
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					lk, _, err := acquireLock(ctx, tg.b, testLockConfig(fmt.Sprint("racer-", i)), testLogger(t))
					switch {
					case err == nil:
						held.Add(1)
						locks[i] = lk
					case !errors.Is(err, ErrLocked):
						t.Errorf("racer %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if held.Load() != 1 {
				t.Errorf("round %d: %d racers hold the lock", round, held.Load())
			}
			for _, lk := range locks {
				if lk != nil {
					lk.release(ctx)
				}
			}
		}
	})
}

// Two publishers started together on one target: with no wait, one
// publishes and the other fails naming it; with a wait, both publish,
// one after the other, never interleaving their writes.
func TestConcurrentPublishers(t *testing.T) {
	forBoth(t, func(t *testing.T, tg testTarget) {
		srcs := [2]string{t.TempDir(), t.TempDir()}
		writeRepo(t, srcs[0], []rpmtest.Spec{pkg("alpha", "1", "1", 1000), pkg("bravo", "1", "1", 1000)})
		writeRepo(t, srcs[1], []rpmtest.Spec{pkg("charlie", "1", "1", 1000), pkg("delta", "1", "1", 1000)})
		rec := newRecorder(tg.b, 250*time.Millisecond)

		run := func(wait time.Duration) [2]error {
			var errs [2]error
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Go(func() {
					opt := DefaultOptions()
					opt.LockHolder = fmt.Sprint("publisher-", i)
					opt.LockWait = wait
					opt.lockPoll = 50 * time.Millisecond
					ctx := context.WithValue(context.Background(), whoKey{}, fmt.Sprint(i))
					_, errs[i] = Publish(ctx, srcs[i], rec, opt, testLogger(t))
				})
			}
			wg.Wait()
			return errs
		}

		errs := run(0)
		switch {
		case errs[0] == nil && errs[1] == nil:
			t.Error("both publishers succeeded without waiting")
		case errs[0] != nil && errs[1] != nil:
			t.Errorf("both failed: %v; %v", errs[0], errs[1])
		}
		for i, err := range errs {
			if err != nil && (!errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprint("publisher-", 1-i))) {
				t.Errorf("publisher %d: %v", i, err)
			}
		}

		rec.writes = nil
		errs = run(time.Minute)
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("with a wait: %v; %v", errs[0], errs[1])
		}
		// Every write of one publisher, lock included, comes before every
		// write of the other.
		var order []string
		for _, w := range rec.writes {
			who, _, _ := strings.Cut(w, " ")
			if len(order) == 0 || order[len(order)-1] != who {
				order = append(order, who)
			}
		}
		if len(order) != 2 {
			t.Errorf("writes interleaved: %v", rec.writes)
		}
	})
}

// A publisher whose lock is taken from it stops before the switch.
func TestLockLost(t *testing.T) {
	forBoth(t, func(t *testing.T, tg testTarget) {
		ctx := context.Background()
		src := t.TempDir()
		writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 1000), pkg("bravo", "1", "1", 1000), pkg("charlie", "1", "1", 1000)})
		rec := newRecorder(tg.b, 0)
		var once sync.Once
		rec.beforePut = func(key string) {
			// While the first package uploads, another publisher takes
			// the lock, and the heartbeat notices.
			once.Do(func() {
				putLock(t, tg.b, LockInfo{Token: newToken(), Holder: "usurper", Expires: time.Now().Add(time.Hour)})
				time.Sleep(3 * time.Second)
			})
		}
		opt := DefaultOptions()
		opt.LockTTL = 4 * time.Second // refreshed every second
		opt.Parallelism = 1
		_, err := Publish(ctx, src, rec, opt, testLogger(t))
		if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "usurper") {
			t.Errorf("publish that lost its lock: %v", err)
		}
		if _, err := tg.b.Stat(ctx, "repodata/repomd.xml"); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("switched without the lock: %v", err)
		}
		if got, err := (&publishLock{b: tg.b}).read(ctx); err != nil || got.Holder != "usurper" {
			t.Errorf("the usurper's lock was touched: %+v %v", got, err)
		}
	})
}

// uncertain makes the first PutIfAbsent of the lock succeed but report
// what storage/retry reports when an attempt's response was lost.
type uncertain struct {
	storage.Backend
	cp   storage.ConditionalPutter
	once sync.Once
}

func (u *uncertain) PutIfAbsent(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	err := u.cp.PutIfAbsent(ctx, key, r, size, opt)
	if err == nil && key == LockKey {
		u.once.Do(func() { err = fmt.Errorf("put-if-absent %s: %w (%w)", key, storage.ErrExist, retry.ErrUncertain) })
	}
	return err
}

// A lock created by an attempt whose response was lost is recognised as
// ours by its token.
func TestLockUncertainCreate(t *testing.T) {
	forBoth(t, func(t *testing.T, tg testTarget) {
		ctx := context.Background()
		u := &uncertain{Backend: tg.b, cp: tg.b.(storage.ConditionalPutter)}
		lk, _, err := acquireLock(ctx, u, testLockConfig("me"), testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		got, err := lk.read(ctx)
		if err != nil || got.Token != lk.info.Token {
			t.Errorf("lock %+v, %v", got, err)
		}
		lk.release(ctx)
		if _, err := tg.b.Stat(ctx, LockKey); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("not released: %v", err)
		}
	})
}

// The heartbeat keeps a lock alive well past its TTL.
func TestLockHeartbeat(t *testing.T) {
	tg := fsTarget(t)
	ctx := context.Background()
	cfg := testLockConfig("long publish")
	cfg.ttl = 4 * time.Second
	lk, lctx, err := acquireLock(ctx, tg.b, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	lk.mu.Lock()
	first := lk.info.Expires
	lk.mu.Unlock()
	time.Sleep(6 * time.Second)
	if lctx.Err() != nil {
		t.Fatalf("lock lost: %v", context.Cause(lctx))
	}
	got, err := lk.read(ctx)
	if err != nil || !got.Expires.After(first.Add(time.Second)) {
		t.Errorf("not refreshed: %+v (first expiry %s), %v", got, first, err)
	}
	other, _, err := acquireLock(ctx, tg.b, testLockConfig("other"), testLogger(t))
	if !errors.Is(err, ErrLocked) {
		t.Errorf("a refreshed lock was taken: %v", err)
		other.release(ctx)
	}
	lk.release(ctx)
}
