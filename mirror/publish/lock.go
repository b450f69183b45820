package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/storage"
)

// ErrLocked is wrapped by the error of a publish that found the target
// locked by another publisher (for longer than Options.LockWait). The
// error is a *LockedError naming the holder.
var ErrLocked = errors.New("publish: target is locked by another publisher")

// ErrLockLost is the error of a publish that could no longer confirm that
// it holds the target's lock (it could not refresh the lock in time, or
// found another publisher's lock in its place). It stops before its next
// write to the target; if that was after the switch, the publication is
// live but its state was not saved, which the next publish repairs.
var ErrLockLost = errors.New("publish: lost the publish lock")

// LockInfo is the content of the lock object, LockKey, as JSON.
type LockInfo struct {
	// Token is unique to one acquisition: a publisher knows its own lock
	// by it.
	Token string `json:"token"`
	// Holder describes the publisher for people: program, host, user, pid.
	Holder   string    `json:"holder"`
	Acquired time.Time `json:"acquired"`
	// Expires is when the lock may be taken over unless its holder
	// refreshes it first.
	Expires time.Time `json:"expires"`
}

// LockedError is the error of a publish that found the target locked.
type LockedError struct {
	Holder LockInfo
	Waited time.Duration
}

func (e *LockedError) Error() string {
	s := fmt.Sprintf("target is locked by %s (token %.8s…, since %s; it expires at %s unless its holder refreshes it)",
		e.Holder.Holder, e.Holder.Token, e.Holder.Acquired.Format(time.RFC3339), e.Holder.Expires.Format(time.RFC3339))
	if e.Waited > 0 {
		s += fmt.Sprintf("; waited %s", e.Waited.Round(time.Second))
	}
	return "publish: " + s
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockConfig configures a publishLock.
type lockConfig struct {
	ttl    time.Duration
	wait   time.Duration
	holder string
	// poll is the wait between two attempts while the lock is held by
	// another publisher.
	poll time.Duration
	// now is the clock of lock times: the real one, whatever Options.Now
	// says, because other publishers read them.
	now func() time.Time
}

// publishLock is a held lock on a target.
//
// Protocol: the lock is the object LockKey, created with PutIfAbsent
// (S3: If-None-Match: *; fs: link(2)), so exactly one of several
// publishers creates it. It holds a LockInfo with a token unique to the
// acquisition and an expiry time, which the holder pushes forward every
// ttl/4 (a read to check the token is still its own, then a Put).
//
//   - A publisher that finds a lock whose expiry has passed (its holder
//     crashed) takes it over: it creates takeoverPrefix+<that lock's
//     token> with PutIfAbsent, and only the one publisher that creates it
//     replaces the lock with its own. Takeover markers are removed when
//     they are a day old.
//   - A holder stops writing (ErrLockLost) once it has failed to refresh
//     the lock for 3/4 of the ttl, i.e. a quarter of the ttl before
//     anyone may take it over: that margin covers clock differences
//     between publishers and the time of one request.
//   - A PutIfAbsent whose outcome was uncertain (storage/retry's
//     ErrUncertain: an earlier attempt may have created the object) is
//     settled by reading the object back and comparing tokens.
//   - Releasing deletes the lock after checking its token.
type publishLock struct {
	b    storage.Backend
	cp   storage.ConditionalPutter
	cfg  lockConfig
	log  logrus.FieldLogger
	mu   sync.Mutex // serialises refreshes
	info LockInfo

	cancel context.CancelCauseFunc
	stop   chan struct{}
	done   chan struct{}
}

// maxLockSize bounds what is read of a lock object.
const maxLockSize = 64 << 10

// markerMaxAge is the age after which a takeover marker is removed. A
// publisher that read an expired lock and then stalled for longer before
// creating the marker could take over a lock a second time.
const markerMaxAge = 24 * time.Hour

func defaultHolder() string {
	host, _ := os.Hostname()
	name := "?"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return fmt.Sprintf("rpmirror publish (pid %d, %s@%s)", os.Getpid(), name, host)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// acquireLock takes the lock of b, waiting up to cfg.wait for another
// holder to release it. The returned context is ctx, cancelled with
// ErrLockLost as its cause if the lock is lost; release stops the
// heartbeat and deletes the lock.
func acquireLock(ctx context.Context, b storage.Backend, cfg lockConfig, log logrus.FieldLogger) (*publishLock, context.Context, error) {
	cp, ok := b.(storage.ConditionalPutter)
	if !ok {
		return nil, nil, fmt.Errorf("publish: the target cannot create objects conditionally, so it cannot be locked")
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.poll <= 0 {
		cfg.poll = time.Second
	}
	if cfg.holder == "" {
		cfg.holder = defaultHolder()
	}
	l := &publishLock{b: b, cp: cp, cfg: cfg, log: log}
	start := time.Now()
	announced := false
	for quick := 0; ; {
		held, cur, err := l.try(ctx)
		if err != nil {
			return nil, nil, err
		}
		if held {
			break
		}
		if cur.Token == "" && quick < 10 {
			quick++ // released between our attempt and our read: try again now
			continue
		}
		quick = 0
		waited := time.Since(start)
		if waited >= cfg.wait {
			return nil, nil, &LockedError{Holder: cur, Waited: waited}
		}
		if !announced {
			announced = true
			log.WithFields(logrus.Fields{"holder": cur.Holder, "expires": cur.Expires.Format(time.RFC3339), "wait": cfg.wait.String()}).
				Info("target is locked by another publisher; waiting")
		}
		t := time.NewTimer(min(cfg.poll, cfg.wait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("publish: waiting for the lock: %w", ctx.Err())
		case <-t.C:
		}
	}
	lctx, cancel := context.WithCancelCause(ctx)
	l.cancel = cancel
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.heartbeat(lctx)
	l.removeOldMarkers(ctx)
	return l, lctx, nil
}

func (l *publishLock) newInfo() LockInfo {
	now := l.cfg.now()
	return LockInfo{Token: newToken(), Holder: l.cfg.holder, Acquired: now.UTC(), Expires: now.Add(l.cfg.ttl).UTC()}
}

// try makes one attempt. It returns held, or the current holder (zero if
// the lock vanished meanwhile).
func (l *publishLock) try(ctx context.Context) (bool, LockInfo, error) {
	mine := l.newInfo()
	err := l.putInfo(ctx, mine, true)
	if err == nil {
		l.info = mine
		return true, mine, nil
	}
	if !errors.Is(err, storage.ErrExist) {
		return false, LockInfo{}, fmt.Errorf("publish: create lock %s: %w", LockKey, err)
	}
	cur, err := l.read(ctx)
	if errors.Is(err, storage.ErrNotExist) {
		return false, LockInfo{}, nil
	}
	if err != nil {
		return false, LockInfo{}, err
	}
	if cur.Token == mine.Token { // our own attempt whose response was lost
		l.info = mine
		return true, mine, nil
	}
	if l.cfg.now().Before(cur.Expires) {
		return false, cur, nil
	}
	return l.takeover(ctx, cur, mine)
}

// takeover replaces the expired lock cur with mine, if this publisher is
// the one that creates cur's takeover marker.
func (l *publishLock) takeover(ctx context.Context, cur, mine LockInfo) (bool, LockInfo, error) {
	marker := takeoverPrefix + cur.Token
	tok := []byte(mine.Token)
	err := l.cp.PutIfAbsent(ctx, marker, bytes.NewReader(tok), int64(len(tok)), storage.PutOptions{SHA256: sha256Hex(tok)})
	if errors.Is(err, storage.ErrExist) {
		got, rerr := l.readAll(ctx, marker)
		if rerr != nil || !bytes.Equal(got, tok) {
			return false, cur, nil // another publisher is taking it over
		}
	} else if err != nil {
		return false, LockInfo{}, fmt.Errorf("publish: take over lock: create %s: %w", marker, err)
	}
	if err := l.putInfo(ctx, mine, false); err != nil {
		return false, LockInfo{}, fmt.Errorf("publish: take over lock: %w", err)
	}
	now, err := l.read(ctx)
	if err != nil {
		return false, LockInfo{}, fmt.Errorf("publish: take over lock: %w", err)
	}
	if now.Token != mine.Token {
		return false, now, nil
	}
	l.info = mine
	l.log.WithFields(logrus.Fields{"previous_holder": cur.Holder, "expired": cur.Expires.Format(time.RFC3339)}).
		Warn("took over an expired publish lock (its holder stopped without releasing it)")
	return true, mine, nil
}

func (l *publishLock) putInfo(ctx context.Context, info LockInfo, create bool) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	opt := storage.PutOptions{SHA256: sha256Hex(data), ContentType: "application/json", CacheControl: CacheNoCache}
	if create {
		return l.cp.PutIfAbsent(ctx, LockKey, bytes.NewReader(data), int64(len(data)), opt)
	}
	return l.b.Put(ctx, LockKey, bytes.NewReader(data), int64(len(data)), opt)
}

func (l *publishLock) readAll(ctx context.Context, key string) ([]byte, error) {
	return readObject(ctx, l.b, key, maxLockSize)
}

// read returns the current content of the lock.
func (l *publishLock) read(ctx context.Context) (LockInfo, error) {
	data, err := l.readAll(ctx, LockKey)
	if err != nil {
		return LockInfo{}, fmt.Errorf("publish: read lock: %w", err)
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil || !validToken(info.Token) {
		return LockInfo{}, fmt.Errorf("publish: lock %s is not an rpmirror lock (remove it by hand if no publisher is running): %q", LockKey, truncate(data, 200))
	}
	return info, nil
}

func validToken(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func (l *publishLock) margin() time.Duration { return l.cfg.ttl / 4 }

func (l *publishLock) heartbeat(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.cfg.ttl / 4)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := l.refresh(ctx); err != nil {
			if errors.Is(err, ErrLockLost) {
				l.log.WithError(err).Error("publish lock lost; stopping")
				l.cancel(err)
				return
			}
			l.log.WithError(err).Warn("could not refresh the publish lock; will try again")
		}
	}
}

// refresh confirms that the lock is still ours and pushes its expiry
// forward. It returns an error wrapping ErrLockLost when the lock is not
// ours any more or could not be refreshed in time; other errors are
// worth another attempt.
func (l *publishLock) refresh(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.cfg.now()
	if !now.Before(l.info.Expires.Add(-l.margin())) {
		return fmt.Errorf("%w: not refreshed since %s", ErrLockLost, l.info.Expires.Add(-l.cfg.ttl).Format(time.RFC3339))
	}
	// The read and the re-PUT must both finish while the lock is still
	// certainly ours: a refresh that lands after the old expiry may
	// overwrite the lock of a publisher that took over meanwhile, and
	// must not count as proof that we hold it.
	safe := l.info.Expires.Add(-l.margin())
	// (The lock's clock may be injected; the deadline is on the real one.)
	ctx, cancel := context.WithTimeout(ctx, safe.Sub(now))
	defer cancel()
	cur, err := l.read(ctx)
	if errors.Is(err, storage.ErrNotExist) {
		return fmt.Errorf("%w: the lock object was removed", ErrLockLost)
	}
	if err != nil {
		return err
	}
	if cur.Token != l.info.Token {
		return fmt.Errorf("%w: now held by %s", ErrLockLost, cur.Holder)
	}
	next := l.info
	next.Expires = now.Add(l.cfg.ttl).UTC()
	if err := l.putInfo(ctx, next, false); err != nil {
		return err
	}
	if !l.cfg.now().Before(safe) {
		return fmt.Errorf("%w: the refresh finished after the lock could have been taken over", ErrLockLost)
	}
	l.info = next
	return nil
}

// confirm is called before a write that must happen under the lock (the
// switch, deletions, the state): it refreshes the lock, which proves it
// is ours and leaves at least 3/4 of the ttl before anyone may take it.
func (l *publishLock) confirm(ctx context.Context) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err = l.refresh(ctx); err == nil || errors.Is(err, ErrLockLost) {
			break
		}
		l.log.WithError(err).Warn("could not confirm the publish lock; trying again")
	}
	if err != nil {
		if !errors.Is(err, ErrLockLost) {
			err = fmt.Errorf("%w: could not confirm it: %w", ErrLockLost, err)
		}
		l.cancel(err)
		return err
	}
	return nil
}

// release stops the heartbeat and deletes the lock if it is still ours.
func (l *publishLock) release(ctx context.Context) {
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	defer l.cancel(nil)
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, err := l.read(ctx)
	if err != nil {
		l.log.WithError(err).Warn("could not release the publish lock")
		return
	}
	if cur.Token != l.info.Token || !l.cfg.now().Before(l.info.Expires.Add(-l.margin())) {
		return // not ours any more, or too late to be sure it is
	}
	if err := l.b.Delete(ctx, LockKey); err != nil {
		l.log.WithError(err).Warn("could not release the publish lock; it expires by itself")
	}
}

// removeOldMarkers deletes takeover markers older than markerMaxAge.
func (l *publishLock) removeOldMarkers(ctx context.Context) {
	var old []string
	err := l.b.List(ctx, takeoverPrefix, func(o storage.Object) error {
		if !o.ModTime.IsZero() && time.Since(o.ModTime) > markerMaxAge {
			old = append(old, o.Key)
		}
		return nil
	})
	if err != nil {
		l.log.WithError(err).Debug("could not list lock takeover markers")
		return
	}
	for _, k := range old {
		if err := l.b.Delete(ctx, k); err != nil {
			l.log.WithError(err).WithField("key", k).Debug("could not remove a lock takeover marker")
		}
	}
}
