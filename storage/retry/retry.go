// Package retry is a storage.Backend decorator that retries operations
// failing with transient errors (network errors, timeouts, HTTP 5xx and
// 429, S3 SlowDown), with exponential backoff and jitter. Other errors,
// such as storage.ErrNotExist, ErrExist, ErrInvalidKey, ErrSizeMismatch,
// an HTTP 4xx or a cancelled context, are returned at once.
//
// What is retried, per method:
//
//   - Put: the whole upload, after seeking the reader back to its start.
//     Replacing an object is idempotent, so a retry after an attempt whose
//     outcome was lost is harmless.
//   - PutIfAbsent (when the wrapped backend has it): the same, but it is
//     not idempotent. If an attempt created the object and only its
//     response was lost (a timeout, a reset connection, a 5xx from a
//     proxy), the next attempt finds the object and fails with ErrExist.
//     That error then also wraps ErrUncertain: the object may be the
//     caller's own. A caller for which the difference matters, such as a
//     publish lock, writes a token unique to itself into the object and,
//     on an error wrapping both, reads the object back to see whose token
//     it holds. ErrExist without ErrUncertain means another writer's.
//   - Open: opening, not reading; a read error after Open returned is the
//     caller's to handle (re-Open and start again).
//   - Stat and Delete: the call (Delete of a missing key succeeds, so a
//     retried Delete is harmless).
//   - List: resumed after the last object fn accepted, relying on List's
//     lexical order, so fn never sees an object twice. An error returned
//     by fn is never retried and is returned unchanged.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/storage"
)

// ErrUncertain is wrapped, together with storage.ErrExist, by the error of
// a PutIfAbsent that found the object only after an earlier attempt of
// its own had an unknown outcome: the object may be the one that attempt
// created. See the package documentation.
var ErrUncertain = errors.New("retry: an earlier attempt may have created the object")

// Options control the retries.
type Options struct {
	// MaxAttempts is the number of attempts, the first included; 1 means
	// no retry.
	MaxAttempts int
	// InitialBackoff is the wait before the second attempt; each further
	// wait doubles, up to MaxBackoff. Every wait is drawn at random from
	// [backoff/2, backoff] so that clients failing together do not retry
	// together.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// DefaultOptions returns the options New uses for zero fields: 6
// attempts over about 8 seconds at most.
func DefaultOptions() Options {
	return Options{MaxAttempts: 6, InitialBackoff: 250 * time.Millisecond, MaxBackoff: 4 * time.Second}
}

// Backend retries the operations of the backend it wraps.
type Backend struct {
	b   storage.Backend
	opt Options
	log logrus.FieldLogger
	// sleep waits d or until ctx is done; replaced in tests.
	sleep func(ctx context.Context, d time.Duration) error
}

// conditionalBackend is the Backend of a wrapped backend that implements
// storage.ConditionalPutter.
type conditionalBackend struct {
	*Backend
	cp storage.ConditionalPutter
}

var (
	_ storage.Backend           = (*Backend)(nil)
	_ storage.ConditionalPutter = (*conditionalBackend)(nil)
)

// New wraps b. The result implements storage.ConditionalPutter when b
// does. Zero fields of opt take their DefaultOptions value. Each retry is
// logged at warning level with the operation, key, attempt and error.
func New(b storage.Backend, opt Options, log logrus.FieldLogger) storage.Backend {
	def := DefaultOptions()
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = def.MaxAttempts
	}
	if opt.InitialBackoff <= 0 {
		opt.InitialBackoff = def.InitialBackoff
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = max(def.MaxBackoff, opt.InitialBackoff)
	}
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	r := &Backend{b: b, opt: opt, log: log, sleep: sleep}
	if cp, ok := b.(storage.ConditionalPutter); ok {
		return &conditionalBackend{Backend: r, cp: cp}
	}
	return r
}

// Unwrap returns the wrapped backend.
func (r *Backend) Unwrap() storage.Backend { return r.b }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// backoff returns the wait after failed attempt n (1-based).
func (r *Backend) backoff(n int) time.Duration {
	d := r.opt.InitialBackoff
	for i := 1; i < n && d < r.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.opt.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// do runs op until it succeeds, fails with an error that is not
// retryable, or has been attempted MaxAttempts times. It returns the last
// error and the number of attempts.
func (r *Backend) do(ctx context.Context, name, key string, op func(attempt int) error) (int, error) {
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return attempt - 1, fmt.Errorf("retry: %s %s: %w", name, key, err)
		}
		err := op(attempt)
		if err == nil {
			return attempt, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if !errors.Is(err, ctxErr) {
				err = fmt.Errorf("%w (%w)", err, ctxErr)
			}
			return attempt, err
		}
		if !Retryable(err) {
			return attempt, err
		}
		if attempt >= r.opt.MaxAttempts {
			return attempt, fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		wait := r.backoff(attempt)
		r.log.WithFields(logrus.Fields{
			"op": name, "key": key, "attempt": attempt, "max_attempts": r.opt.MaxAttempts,
			"backoff": wait.Round(time.Millisecond).String(),
		}).WithError(err).Warn("storage operation failed, retrying")
		if serr := r.sleep(ctx, wait); serr != nil {
			return attempt, fmt.Errorf("%w (while waiting to retry after: %w)", serr, err)
		}
	}
}

// Put implements storage.Backend.
func (r *Backend) Put(ctx context.Context, key string, rd io.ReadSeeker, size int64, opt storage.PutOptions) error {
	_, err := r.do(ctx, "put", key, func(int) error {
		if _, err := rd.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("retry: put %s: rewind: %w", key, err)
		}
		return r.b.Put(ctx, key, rd, size, opt)
	})
	return err
}

// PutIfAbsent implements storage.ConditionalPutter.
func (c *conditionalBackend) PutIfAbsent(ctx context.Context, key string, rd io.ReadSeeker, size int64, opt storage.PutOptions) error {
	n, err := c.do(ctx, "put-if-absent", key, func(int) error {
		if _, err := rd.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("retry: put %s: rewind: %w", key, err)
		}
		return c.cp.PutIfAbsent(ctx, key, rd, size, opt)
	})
	if n > 1 && errors.Is(err, storage.ErrExist) {
		return fmt.Errorf("%w (%w)", err, ErrUncertain)
	}
	return err
}

// Open implements storage.Backend.
func (r *Backend) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	_, err := r.do(ctx, "open", key, func(int) error {
		var err error
		rc, err = r.b.Open(ctx, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// Stat implements storage.Backend.
func (r *Backend) Stat(ctx context.Context, key string) (storage.Object, error) {
	var o storage.Object
	_, err := r.do(ctx, "stat", key, func(int) error {
		var err error
		o, err = r.b.Stat(ctx, key)
		return err
	})
	return o, err
}

// Delete implements storage.Backend.
func (r *Backend) Delete(ctx context.Context, key string) error {
	_, err := r.do(ctx, "delete", key, func(int) error { return r.b.Delete(ctx, key) })
	return err
}

// List implements storage.Backend.
func (r *Backend) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	var (
		last  string
		seen  bool
		fnErr error
	)
	_, err := r.do(ctx, "list", prefix, func(int) error {
		err := r.b.List(ctx, prefix, func(o storage.Object) error {
			if seen && o.Key <= last {
				return nil // reported before the failed attempt
			}
			if err := fn(o); err != nil {
				fnErr = err
				return err
			}
			last, seen = o.Key, true
			return nil
		})
		if fnErr != nil {
			return errFnFailed // whatever fn's error is, never retry it
		}
		return err
	})
	if fnErr != nil {
		return fnErr
	}
	return err
}

// errFnFailed stops the retries of a List whose fn failed; Retryable
// does not know it, so it is final.
var errFnFailed = errors.New("retry: list callback failed")
