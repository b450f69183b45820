package retry

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/fs"
	"github.com/rpmirror/rpmirror/storage/storagetest"
)

// statusError stands for a backend's HTTP error that classifies itself.
type statusError struct{ status int }

func (e statusError) Error() string   { return fmt.Sprintf("HTTP %d", e.status) }
func (e statusError) Retryable() bool { return e.status >= 500 || e.status == 429 }

func TestRetryable(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://127.0.0.1:1/b/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not exist", fmt.Errorf("s3: open k: %w", storage.ErrNotExist), false},
		{"exist", fmt.Errorf("x: %w", storage.ErrExist), false},
		{"invalid key", storage.ValidKey("a//b"), false},
		{"size mismatch", fmt.Errorf("x: %w", storage.ErrSizeMismatch), false},
		{"canceled", fmt.Errorf("put: %w", context.Canceled), false},
		{"canceled in url.Error", &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, false},
		{"deadline", fmt.Errorf("put: %w", context.DeadlineExceeded), false},
		{"deadline in url.Error", &url.Error{Op: "Get", URL: "u", Err: context.DeadlineExceeded}, false},
		{"503 self-classified", fmt.Errorf("s3: %w", statusError{503}), true},
		{"500 self-classified", statusError{500}, true},
		{"429 self-classified", statusError{429}, true},
		{"403 self-classified", statusError{403}, false},
		{"404 self-classified", statusError{404}, false},
		{"self-classified but not exist", fmt.Errorf("%w: %w", storage.ErrNotExist, statusError{503}), false},
		{"connection refused", refused, true},
		{"connection refused bare", syscall.ECONNREFUSED, true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{"unexpected EOF", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"host unreachable", syscall.EHOSTUNREACH, true},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", Name: "s3", IsTemporary: true}, true},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "s3", IsTimeout: true}, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "s3", IsNotFound: true}, false},
		{"url.Error connection closed", &url.Error{Op: "Put", URL: "u", Err: errors.New("Connection closed by foreign host u. Retry again.")}, true},
		{"unknown authority", &url.Error{Op: "Get", URL: "u", Err: x509.UnknownAuthorityError{}}, false},
		{"hostname mismatch", &url.Error{Op: "Get", URL: "u", Err: x509.HostnameError{Host: "h", Certificate: &x509.Certificate{}}}, false},
		{"disk full", &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}, false},
		{"permission", &os.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, false},
		{"plain", errors.New("something"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Retryable(tc.err); got != tc.want {
				t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// flaky wraps a backend, failing the first fails calls of each method with
// err (or the errors in errs, in turn).
type flaky struct {
	storage.Backend
	mu    sync.Mutex
	calls map[string]int
	fail  func(op, key string, call int) error
}

func newFlaky(b storage.Backend, fail func(op, key string, call int) error) *flaky {
	return &flaky{Backend: b, calls: map[string]int{}, fail: fail}
}

// err counts a call of op on key and returns the error it fails with.
func (f *flaky) err(op, key string) error {
	f.mu.Lock()
	f.calls[op]++
	n := f.calls[op]
	f.mu.Unlock()
	return f.fail(op, key, n)
}

func (f *flaky) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *flaky) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	if err := f.err("put", key); err != nil {
		// Consume some of the reader, as a failed upload does.
		_, _ = io.CopyN(io.Discard, r, 3)
		return err
	}
	return f.Backend.Put(ctx, key, r, size, opt)
}

func (f *flaky) PutIfAbsent(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	err := f.err("putifabsent", key)
	if errors.Is(err, errLostResponse) {
		// The object is created but the caller never hears of it.
		if perr := f.Backend.(storage.ConditionalPutter).PutIfAbsent(ctx, key, r, size, opt); perr != nil {
			return perr
		}
		return err
	}
	if err != nil {
		return err
	}
	return f.Backend.(storage.ConditionalPutter).PutIfAbsent(ctx, key, r, size, opt)
}

func (f *flaky) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := f.err("open", key); err != nil {
		return nil, err
	}
	return f.Backend.Open(ctx, key)
}

func (f *flaky) Stat(ctx context.Context, key string) (storage.Object, error) {
	if err := f.err("stat", key); err != nil {
		return storage.Object{}, err
	}
	return f.Backend.Stat(ctx, key)
}

func (f *flaky) Delete(ctx context.Context, key string) error {
	if err := f.err("delete", key); err != nil {
		return err
	}
	return f.Backend.Delete(ctx, key)
}

// List fails after reporting call objects, on the failing calls.
func (f *flaky) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	ferr := f.err("list", prefix)
	n := 0
	err := f.Backend.List(ctx, prefix, func(o storage.Object) error {
		if ferr != nil && n == f.count("list") {
			return ferr
		}
		n++
		return fn(o)
	})
	if ferr != nil && err == nil {
		return ferr
	}
	return err
}

var (
	errTransient    = &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	errLostResponse = fmt.Errorf("lost response: %w", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded})
)

func failFirst(n int, err error) func(string, string, int) error {
	return func(_, _ string, call int) error {
		if call <= n {
			return err
		}
		return nil
	}
}

func newFS(t *testing.T) storage.Backend {
	b, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newTest returns a retrying backend over f that does not really sleep,
// and the waits it asked for.
func newTest(t *testing.T, f storage.Backend, opt Options) (storage.Backend, *logtest.Hook, *[]time.Duration) {
	log, hook := logtest.NewNullLogger()
	b := New(f, opt, log)
	var waits []time.Duration
	inner := b.(*conditionalBackend).Backend
	inner.sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return b, hook, &waits
}

func TestConformance(t *testing.T) {
	// The decorator over a backend failing the first call of every
	// operation on every key passes the suite: retries are invisible.
	storagetest.Options{AtomicSize: 3 << 20, LargeSize: 4 << 20}.Run(t, func(t *testing.T) storage.Backend {
		var (
			mu    sync.Mutex
			calls = map[string]int{}
		)
		f := newFlaky(newFS(t), func(op, key string, _ int) error {
			mu.Lock()
			defer mu.Unlock()
			calls[op+" "+key]++
			if calls[op+" "+key] == 1 && op != "putifabsent" {
				return errTransient
			}
			return nil
		})
		log := logrus.New()
		log.Out = io.Discard
		return New(f, Options{MaxAttempts: 3, InitialBackoff: time.Microsecond, MaxBackoff: time.Microsecond}, log)
	})
}

func TestRetriesThenSucceeds(t *testing.T) {
	f := newFlaky(newFS(t), failFirst(2, errTransient))
	b, hook, waits := newTest(t, f, Options{MaxAttempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	ctx := context.Background()
	content := []byte("hello, world")
	r := bytes.NewReader(content)
	if err := b.Put(ctx, "k", r, int64(len(content)), storage.PutOptions{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := f.count("put"); got != 3 {
		t.Errorf("Put attempts = %d, want 3", got)
	}
	// The third attempt got the whole content although the failed ones
	// had consumed some of the reader.
	rc, err := b.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Errorf("stored %q, want %q", got, content)
	}
	if len(*waits) < 2 {
		t.Fatalf("waits = %v", *waits)
	}
	w := *waits
	if w[0] < 50*time.Millisecond || w[0] > 100*time.Millisecond || w[1] < 100*time.Millisecond || w[1] > 200*time.Millisecond {
		t.Errorf("backoffs %v, want in [50ms,100ms] then [100ms,200ms]", w[:2])
	}
	if n := len(hook.AllEntries()); n < 2 {
		t.Errorf("%d log entries, want one per retry", n)
	}
	for _, e := range hook.AllEntries() {
		if e.Level != logrus.WarnLevel || e.Data["key"] == nil || e.Data["attempt"] == nil || e.Data[logrus.ErrorKey] == nil {
			t.Errorf("log entry %v %q %v", e.Level, e.Message, e.Data)
		}
	}
}

func TestGivesUpWithLastError(t *testing.T) {
	var last error
	f := newFlaky(newFS(t), func(_, _ string, call int) error {
		last = fmt.Errorf("attempt %d: %w", call, errTransient)
		return last
	})
	b, hook, waits := newTest(t, f, Options{MaxAttempts: 4, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 25 * time.Millisecond})
	_, err := b.Stat(context.Background(), "k")
	if !errors.Is(err, last) || !strings.Contains(err.Error(), "attempt 4") {
		t.Fatalf("Stat error %v, want the last attempt's", err)
	}
	if !strings.Contains(err.Error(), "4 attempts") {
		t.Errorf("error %q does not say how often it tried", err)
	}
	if got := f.count("stat"); got != 4 {
		t.Errorf("attempts = %d, want 4", got)
	}
	if len(*waits) != 3 || len(hook.AllEntries()) != 3 {
		t.Errorf("%d waits, %d log entries; want 3 each", len(*waits), len(hook.AllEntries()))
	}
	for _, w := range *waits {
		if w > 25*time.Millisecond {
			t.Errorf("wait %v above MaxBackoff", w)
		}
	}
}

func TestNoRetryOfFinalErrors(t *testing.T) {
	for _, final := range []error{
		fmt.Errorf("x: %w", storage.ErrNotExist),
		fmt.Errorf("x: %w", storage.ErrSizeMismatch),
		statusError{403},
		&os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC},
	} {
		f := newFlaky(newFS(t), failFirst(10, final))
		b, _, _ := newTest(t, f, Options{MaxAttempts: 5})
		err := b.Delete(context.Background(), "k")
		if !errors.Is(err, final) {
			t.Errorf("Delete: %v, want %v", err, final)
		}
		if got := f.count("delete"); got != 1 {
			t.Errorf("%v: %d attempts, want 1", final, got)
		}
	}
}

func TestCancelledWhileWaiting(t *testing.T) {
	f := newFlaky(newFS(t), failFirst(10, errTransient))
	b := New(f, Options{MaxAttempts: 5, InitialBackoff: time.Hour, MaxBackoff: time.Hour}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.Stat(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errTransient) {
		t.Errorf("Stat: %v, want the deadline and the last error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if got := f.count("stat"); got != 1 {
		t.Errorf("%d attempts", got)
	}
}

func TestPutIfAbsentLostResponse(t *testing.T) {
	f := newFlaky(newFS(t), failFirst(1, errLostResponse))
	b, _, _ := newTest(t, f, Options{MaxAttempts: 3})
	cp, ok := b.(storage.ConditionalPutter)
	if !ok {
		t.Fatal("retry over a ConditionalPutter is not one")
	}
	c := []byte("token-1")
	err := cp.PutIfAbsent(context.Background(), "lock", bytes.NewReader(c), int64(len(c)), storage.PutOptions{})
	if !errors.Is(err, storage.ErrExist) || !errors.Is(err, ErrUncertain) {
		t.Fatalf("PutIfAbsent after a lost response: %v, want ErrExist and ErrUncertain", err)
	}
	// Without a retry, ErrExist is certain: the object is another's.
	f2 := newFlaky(newFS(t), failFirst(0, nil))
	b2, _, _ := newTest(t, f2, Options{})
	cp2 := b2.(storage.ConditionalPutter)
	for i := range 2 {
		err := cp2.PutIfAbsent(context.Background(), "lock", bytes.NewReader(c), int64(len(c)), storage.PutOptions{})
		if i == 1 && (!errors.Is(err, storage.ErrExist) || errors.Is(err, ErrUncertain)) {
			t.Errorf("plain ErrExist: %v", err)
		}
	}
}

func TestNotConditional(t *testing.T) {
	type plain struct{ storage.Backend }
	b := New(plain{newFS(t)}, Options{}, nil)
	if _, ok := b.(storage.ConditionalPutter); ok {
		t.Error("retry over a backend without PutIfAbsent claims to have it")
	}
}

// A List that fails midway resumes after the last object fn accepted.
func TestListResumes(t *testing.T) {
	inner := newFS(t)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if err := inner.Put(ctx, k, bytes.NewReader([]byte(k)), 1, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Call n fails after reporting n objects: the first attempt after
	// "a", the second after "a", "b" (already seen: skipped) ...
	f := newFlaky(inner, failFirst(3, errTransient))
	b, _, _ := newTest(t, f, Options{MaxAttempts: 5})
	var got []string
	if err := b.List(ctx, "", func(o storage.Object) error { got = append(got, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("List reported %q, want each object once, in order", got)
	}

	// fn's error is returned unchanged and never retried, even when it
	// looks transient.
	f2 := newFlaky(inner, failFirst(0, nil))
	b2, _, _ := newTest(t, f2, Options{MaxAttempts: 5})
	err := b2.List(ctx, "", func(storage.Object) error { return errTransient })
	if err != errTransient {
		t.Errorf("List returned %v, want fn's error", err)
	}
	if got := f2.count("list"); got != 1 {
		t.Errorf("List attempted %d times after fn failed", got)
	}
}

func TestDefaults(t *testing.T) {
	b := New(newFS(t), Options{}, nil).(*conditionalBackend)
	if b.opt != DefaultOptions() {
		t.Errorf("options %+v, want %+v", b.opt, DefaultOptions())
	}
	for n := 1; n <= 10; n++ {
		if d := b.backoff(n); d > DefaultOptions().MaxBackoff || d <= 0 {
			t.Errorf("backoff(%d) = %v", n, d)
		}
	}
}
