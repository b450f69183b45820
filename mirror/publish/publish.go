// Package publish copies a local repository (a directory with
// repodata/repomd.xml) to a storage.Backend in an order no dnf client can
// catch half-way, and later removes what the repository no longer needs.
//
// A publication is repomd.xml, the metadata files it names, the packages
// its primary names, and repodata/repomd.xml.asc and repomd.xml.key when
// the source has them. Publish, holding the target's lock:
//
//  1. uploads the packages the target lacks (an object is present when
//     the target lists its key with the size the state recorded and the
//     state's SHA-256 is the one the metadata gives), checking while
//     sending that each file's bytes have the size and checksum the
//     metadata gives: a file that does not is an error and nothing that
//     names it is published;
//  2. uploads the metadata files repomd.xml names, then repomd.xml.asc
//     and repomd.xml.key;
//  3. replaces repodata/repomd.xml, the single switch from the old
//     publication to the new one (not written at all if its bytes are
//     unchanged);
//  4. deletes a repomd.xml.asc the source no longer has (it signs the
//     old repomd.xml), and the retired objects whose grace period has
//     passed;
//  5. writes the State (StateKey) if it changed.
//
// Until step 3 the previous publication is whole and is what clients see;
// a crash at any point leaves it, or the new one, consistent, and the
// next publish converges: objects uploaded by the crashed run are found
// (by Stat, with the SHA-256 both backends keep) and not uploaded again.
//
// Retired objects. An object of the previous publication that the new one
// does not name is retired ("superseded") at the switch and deleted once
// Options.GracePeriod has passed, so that a client that read the old
// repomd.xml (dnf keeps it for metadata_expire, 48 h by default, and dnf5
// fetches filelists lazily) can still fetch what it names. An object in
// the target that the state does not know (an orphan: uploaded by a run
// that crashed before its switch, or left by another tool) is retired
// when first seen, with that time, and deleted after the same grace
// period: the publisher cannot know whether a client still uses it. Only
// files a publication could have written are orphans: those directly
// under repodata/, and *.rpm files in a directory that holds packages of
// the current or a remembered publication. Anything else in the target
// (a key file at the root, a nested repository in a subdirectory) is
// never touched. Keys under ReservedPrefix are rpmirror's own.
//
// Cache headers: repomd.xml, .asc and .key are CacheNoCache; metadata
// files named by their checksum CacheImmutable, others CacheNoCache;
// packages Options.PackageCacheControl. ContentType gives the types.
//
// Locking: see publishLock. A publish that finds the target locked waits
// up to Options.LockWait, then fails with a *LockedError naming the
// holder.
package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/storage"
)

// Options configure a publish. Start from DefaultOptions.
type Options struct {
	// Parallelism is the number of uploads, hashes, Stats and deletions
	// in flight.
	Parallelism int
	// GracePeriod is how long a retired object is kept (see the package
	// documentation). At least 48 h (dnf's default metadata_expire) is
	// advisable; 0 deletes retired objects right after the switch.
	GracePeriod time.Duration
	// PackageCacheControl is the Cache-Control of packages. Changing it
	// uploads every package again.
	PackageCacheControl string
	// LockTTL is how long the lock outlives a publisher that stops
	// refreshing it (a crash); the holder refreshes it every LockTTL/4.
	LockTTL time.Duration
	// LockWait is how long to wait for a lock held by another publisher;
	// 0 fails at once.
	LockWait time.Duration
	// LockHolder describes this publisher in the lock; "" gives the
	// program, pid, user and host.
	LockHolder string
	// Now returns the current time for the grace period; tests inject it.
	Now func() time.Time
	// Link declares the source's files immutable and verified already
	// (the syncer's tree, hard links into its content-addressed pool):
	// a target that can share them (storage.Linker: a directory on the
	// same file system) gets them without a copy, and their bytes are not
	// hashed again. Leave it off for a tree whose files may be rewritten
	// in place, which would change the published files with them.
	Link bool
	// Primary, when set, is the package list of the source's primary
	// file as its writer knows it, used instead of parsing that file
	// when the checksums agree.
	Primary *KnownPrimary
	// DryRun reads the source, the state and the target's listing and
	// reports what would be uploaded and deleted, without writing or
	// locking anything.
	DryRun bool

	// lockPoll is the wait between attempts on a held lock (tests).
	lockPoll time.Duration
	// lockNow is the clock of the lock (tests); default time.Now.
	lockNow func() time.Time
}

// DefaultOptions returns 8 uploads in parallel, a 72 h grace period,
// DefaultPackageCacheControl, a 2-minute lock TTL and no lock wait.
func DefaultOptions() Options {
	return Options{
		Parallelism:         8,
		GracePeriod:         72 * time.Hour,
		PackageCacheControl: DefaultPackageCacheControl,
		LockTTL:             2 * time.Minute,
		Now:                 time.Now,
	}
}

func (o *Options) validate() error {
	if o.Parallelism < 1 {
		return fmt.Errorf("publish: parallelism must be at least 1, not %d", o.Parallelism)
	}
	if o.GracePeriod < 0 {
		return fmt.Errorf("publish: negative grace period %s", o.GracePeriod)
	}
	if o.LockTTL < 4*time.Second {
		return fmt.Errorf("publish: lock TTL %s is below 4s", o.LockTTL)
	}
	if o.LockWait < 0 {
		return fmt.Errorf("publish: negative lock wait %s", o.LockWait)
	}
	if o.PackageCacheControl == "" {
		o.PackageCacheControl = DefaultPackageCacheControl
	}
	if strings.ContainsAny(o.PackageCacheControl, "\r\n") {
		return fmt.Errorf("publish: package Cache-Control %q contains a line break", o.PackageCacheControl)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Result describes a publish. In a dry run, the counts are what would
// have been done.
type Result struct {
	// Packages and Objects are the size of the publication: packages
	// (those with an xml:base not included, see External), and every
	// object, repomd.xml included.
	Packages int
	Objects  int
	// External counts packages with an xml:base location: fetched from
	// there, not published.
	External int
	// Revision is the <revision> of the published repomd.xml.
	Revision string

	Uploaded      int   // objects uploaded
	BytesUploaded int64 // their bytes
	// Linked counts the uploaded objects that were hard-linked rather
	// than copied (Options.Link).
	Linked  int
	Skipped int // objects already present
	// RepomdChanged: repodata/repomd.xml was replaced (the switch). When
	// false it is byte-for-byte what it was.
	RepomdChanged bool

	Superseded int // objects of the previous publication retired now
	Orphans    int // objects unknown to the state, retired now
	Retained   int // retired objects kept (grace period not over)
	Deleted    int // retired objects deleted (grace period over)

	// StateWritten: the state document was updated.
	StateWritten bool
	DryRun       bool
}

// Publish publishes the repository in the local directory src to dst.
// See the package documentation for the order and the guarantees.
//
// Errors: one wrapping ErrSource or ErrChecksumMismatch for a source that
// cannot be published (nothing switched); ErrLocked (a *LockedError) when
// another publisher holds the target; ErrLockLost; a storage error. An
// error from after the switch (step 4 or 5) comes with a Result whose
// RepomdChanged says the new publication is live.
func Publish(ctx context.Context, src string, dst storage.Backend, opt Options, log logrus.FieldLogger) (*Result, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	log = log.WithField("source", src)
	p := &publisher{dst: dst, opt: opt, log: log, now: opt.Now()}
	p.res.DryRun = opt.DryRun

	runCtx := ctx
	if !opt.DryRun {
		lk, lctx, err := acquireLock(ctx, dst, lockConfig{
			ttl: opt.LockTTL, wait: opt.LockWait, holder: opt.LockHolder, poll: opt.lockPoll, now: opt.lockNow,
		}, log)
		if err != nil {
			return nil, err
		}
		defer lk.release(ctx)
		p.lock = lk
		runCtx = lctx
	}
	err := p.run(runCtx, src)
	if err != nil && runCtx != ctx {
		if cause := context.Cause(runCtx); errors.Is(cause, ErrLockLost) && !errors.Is(err, ErrLockLost) {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
	}
	if p.src == nil {
		return nil, err
	}
	return &p.res, err
}

// publisher is one publish in progress.
type publisher struct {
	src  *source
	dst  storage.Backend
	opt  Options
	log  logrus.FieldLogger
	lock *publishLock // nil in a dry run
	now  time.Time

	state   *State
	listing map[string]storage.Object
	res     Result

	noLink atomic.Bool  // the target refused a link: copy from then on
	linked atomic.Int64 // objects stored by Link
}

func (p *publisher) run(ctx context.Context, src string) error {
	var err error
	t0 := time.Now()
	if p.state, err = ReadState(ctx, p.dst); err != nil {
		return err
	}
	t1 := time.Now()
	s, err := readSource(ctx, src, p.opt.PackageCacheControl, p.state, p.opt.Primary, p.log)
	if err != nil {
		return err
	}
	p.src = s
	p.res.Packages, p.res.Objects, p.res.External, p.res.Revision = s.packages, len(s.objects), s.external, s.repomd.Revision
	if s.external > 0 {
		p.log.WithField("packages", s.external).Warn("packages with an xml:base location are not published (clients fetch them from there)")
	}
	t2 := time.Now()
	if err := p.list(ctx); err != nil {
		return err
	}
	p.log.WithFields(logrus.Fields{
		"state": t1.Sub(t0).Round(time.Millisecond).String(), "source": t2.Sub(t1).Round(time.Millisecond).String(),
		"list": time.Since(t2).Round(time.Millisecond).String(), "primary_cached": s.cached, "listed": len(p.listing),
	}).Debug("read the state, the source and the target's listing")
	if err := p.hashUnknown(ctx); err != nil {
		return err
	}
	todo, err := p.plan(ctx)
	if err != nil {
		return err
	}
	next, deletions := p.retire()

	if p.opt.DryRun {
		for _, o := range todo {
			p.res.Uploaded++
			p.res.BytesUploaded += o.size
			p.log.WithFields(logrus.Fields{"key": o.key, "size": o.size}).Info("would upload")
			if o.kind == kindRepomd {
				p.res.RepomdChanged = true
			}
		}
		for _, k := range deletions {
			p.log.WithField("key", k).Info("would delete")
		}
		p.res.Deleted = len(deletions)
		p.res.Retained = len(next.Retired)
		for _, k := range deletions {
			if _, ok := next.Retired[k]; ok {
				p.res.Retained--
			}
		}
		return nil
	}

	// Steps 1–3: packages, metadata, signing files, then the switch.
	for _, k := range []kind{kindPackage, kindMetadata, kindSigning, kindRepomd} {
		var batch []*object
		for _, o := range todo {
			if o.kind == k {
				batch = append(batch, o)
			}
		}
		if len(batch) == 0 {
			continue
		}
		if k == kindRepomd {
			if err := p.lock.confirm(ctx); err != nil {
				return err
			}
		}
		if err := p.uploadAll(ctx, batch); err != nil {
			if k == kindRepomd {
				// The write may have happened and only its answer been
				// lost: say whether the new publication is live.
				if same, rerr := p.sameBytes(context.WithoutCancel(ctx), batch[0]); rerr == nil && same {
					p.res.RepomdChanged = true
					return fmt.Errorf("%w (but the target holds the new repomd.xml: the publication is live; the next publish completes it)", err)
				}
			}
			return err
		}
		if k == kindRepomd {
			p.res.RepomdChanged = true
			if err := p.newLastModified(ctx, batch[0]); err != nil {
				return err
			}
			p.log.WithFields(logrus.Fields{"key": repomdKey, "revision": p.src.repomd.Revision}).Info("switched to the new publication")
		}
	}

	// Step 4: deletions, under a confirmed lock: another publisher that
	// took the lock over could be uploading one of these keys again.
	if len(deletions) > 0 {
		if err := p.lock.confirm(ctx); err != nil {
			return err
		}
		deleted := p.deleteAll(ctx, deletions)
		for _, k := range deleted {
			delete(next.Retired, k)
		}
		p.res.Deleted = len(deleted)
	}
	p.res.Retained = len(next.Retired)

	// Step 5: the state.
	if !next.sameAs(p.state) {
		if err := p.lock.confirm(ctx); err != nil {
			return err
		}
		next.Updated = p.now.UTC()
		if err := writeState(ctx, p.dst, next); err != nil {
			return fmt.Errorf("publish: the publication is live, but its state could not be saved (the next publish repairs it): %w", err)
		}
		p.res.StateWritten = true
	}
	return nil
}

// list reads the target's listing, its own keys left out.
func (p *publisher) list(ctx context.Context) error {
	p.listing = map[string]storage.Object{}
	err := p.dst.List(ctx, "", func(o storage.Object) error {
		if !strings.HasPrefix(o.Key, ReservedPrefix) {
			p.listing[o.Key] = o
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish: list the target: %w", err)
	}
	return nil
}

// hashUnknown computes the SHA-256 of the local files whose metadata
// checksum is of another type, checking that one on the way.
func (p *publisher) hashUnknown(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opt.Parallelism)
	for _, o := range p.src.objects {
		if o.sha256 != "" {
			continue
		}
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			sum, err := hashFile(o.path, o.size, o.want)
			if err != nil {
				return err
			}
			o.sha256 = sum
			return nil
		})
	}
	return g.Wait()
}

// plan returns the objects to upload, in publication order. An object is
// present when the target lists its key with its size and the state (or,
// for a key the state does not know, a Stat) gives its SHA-256.
func (p *publisher) plan(ctx context.Context) ([]*object, error) {
	var todo, stat []*object
	for _, o := range p.src.objects {
		lo, listed := p.listing[o.key]
		switch {
		case !listed || lo.Size != o.size:
			todo = append(todo, o)
		case o.kind == kindRepomd:
			same, err := p.sameBytes(ctx, o)
			if err != nil {
				return nil, err
			}
			if same {
				p.res.Skipped++
			} else {
				todo = append(todo, o)
			}
		default:
			known, ok := p.knownSHA256(o)
			switch {
			case !ok:
				stat = append(stat, o)
			case known == o.sha256:
				p.res.Skipped++
			default:
				todo = append(todo, o)
			}
		}
	}
	if len(stat) > 0 {
		present := make([]bool, len(stat))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(p.opt.Parallelism)
		for i, o := range stat {
			g.Go(func() error {
				so, err := p.dst.Stat(gctx, o.key)
				if errors.Is(err, storage.ErrNotExist) {
					return nil
				}
				if err != nil {
					return fmt.Errorf("publish: %w", err)
				}
				present[i] = so.SHA256 == o.sha256 && so.Size == o.size &&
					(so.ContentType == "" || so.ContentType == ContentType(o.key)) &&
					(so.CacheControl == "" || so.CacheControl == o.cacheControl)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for i, o := range stat {
			if present[i] {
				p.res.Skipped++
			} else {
				todo = append(todo, o)
			}
		}
	}
	// Keep the source order (packages, metadata, signing, repomd.xml).
	order := make(map[*object]int, len(p.src.objects))
	for i, o := range p.src.objects {
		order[o] = i
	}
	slices.SortFunc(todo, func(a, b *object) int { return order[a] - order[b] })
	return todo, nil
}

// knownSHA256 returns the SHA-256 the state records for an object, if it
// records one for the size the object has. A package uploaded with
// another Cache-Control is not known.
func (p *publisher) knownSHA256(o *object) (string, bool) {
	if o.kind == kindPackage && p.state.PackageCacheControl != p.opt.PackageCacheControl {
		return "", false
	}
	if e, ok := p.state.Current[o.key]; ok && e.Size == o.size && e.SHA256 != "" {
		return e.SHA256, true
	}
	if r, ok := p.state.Retired[o.key]; ok && r.Size == o.size && r.SHA256 != "" {
		return r.SHA256, true
	}
	return "", false
}

// sameBytes reports whether the target holds exactly o's bytes (for
// repomd.xml, which is read whole: the state may be behind after a crash
// between the switch and the state write).
// newLastModified makes sure the new repomd.xml o does not carry the
// modification time, to the second, of the one it replaced: HTTP
// Last-Modified has whole seconds, and a client or CDN that revalidates
// with If-Modified-Since, or caches by modification time (librepo keeps
// checksums of its cached files keyed by mtime), would otherwise keep
// the old repomd.xml when two publications fall in the same second. It
// writes o again after the second has passed, at most twice; both times
// come from the target, so the publisher's clock does not matter.
func (p *publisher) newLastModified(ctx context.Context, o *object) error {
	old, listed := p.listing[repomdKey]
	if !listed || old.ModTime.IsZero() {
		return nil
	}
	for try := 0; try < 2; try++ {
		cur, err := p.dst.Stat(ctx, repomdKey)
		if err != nil || !cur.ModTime.Truncate(time.Second).Equal(old.ModTime.Truncate(time.Second)) {
			return nil // a Stat that fails changes nothing a retry could fix
		}
		p.log.WithField("key", repomdKey).Debug("same second as the previous repomd.xml; writing it again in the next one")
		select {
		case <-time.After(time.Second - time.Duration(cur.ModTime.Nanosecond())):
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := p.upload(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func (p *publisher) sameBytes(ctx context.Context, o *object) (bool, error) {
	got, err := readObject(ctx, p.dst, o.key, int64(len(o.data)))
	if errors.Is(err, storage.ErrNotExist) || errors.Is(err, errTooLarge) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("publish: read %s: %w", o.key, err)
	}
	return bytes.Equal(got, o.data), nil
}

// retire computes the state after this publication and the retired keys
// to delete now.
func (p *publisher) retire() (*State, []string) {
	next := newState()
	next.Primary = p.src.primary
	next.RepomdSHA256 = p.src.byKey[repomdKey].sha256
	next.Revision = p.src.repomd.Revision
	next.PackageCacheControl = p.opt.PackageCacheControl
	dirs := map[string]bool{}
	for _, o := range p.src.objects {
		next.Current[o.key] = Entry{Size: o.size, SHA256: o.sha256}
		if o.kind == kindPackage {
			dirs[path.Dir(o.key)] = true
		}
	}
	for k := range p.state.Current {
		dirs[path.Dir(k)] = true
	}
	for k := range p.state.Retired {
		dirs[path.Dir(k)] = true
	}
	var deletions []string
	retire := func(k string, r Retired) {
		if _, listed := p.listing[k]; !listed {
			return // gone already
		}
		if k == repomdAscKey {
			// The signature of a repomd.xml that is no longer live:
			// useless, and wrong for the new one.
			deletions = append(deletions, k)
			return
		}
		next.Retired[k] = r
		if p.now.Sub(r.Since) >= p.opt.GracePeriod {
			deletions = append(deletions, k)
		}
	}
	for k, e := range p.state.Current {
		if _, ok := next.Current[k]; !ok {
			retire(k, Retired{Size: e.Size, SHA256: e.SHA256, Since: p.now.UTC(), Reason: ReasonSuperseded})
			if _, listed := p.listing[k]; listed {
				p.res.Superseded++
			}
		}
	}
	for k, r := range p.state.Retired {
		if _, ok := next.Current[k]; !ok {
			if _, inCurrent := p.state.Current[k]; !inCurrent {
				retire(k, r)
			}
		}
	}
	for k, lo := range p.listing {
		if _, ok := next.Current[k]; ok {
			continue
		}
		if _, ok := p.state.Current[k]; ok {
			continue
		}
		if _, ok := p.state.Retired[k]; ok {
			continue
		}
		dir := path.Dir(k)
		if dir == "repodata" || (strings.HasSuffix(k, ".rpm") && dirs[dir]) {
			retire(k, Retired{Size: lo.Size, Since: p.now.UTC(), Reason: ReasonOrphan})
			p.res.Orphans++
			p.log.WithField("key", k).Debug("object unknown to the state: retired as an orphan")
		}
	}
	slices.Sort(deletions)
	// The .asc goes right after the switch; the rest by kind: metadata
	// before the packages it names.
	slices.SortStableFunc(deletions, func(a, b string) int {
		rank := func(k string) int {
			switch {
			case k == repomdAscKey:
				return 0
			case strings.HasPrefix(k, "repodata/"):
				return 1
			}
			return 2
		}
		return rank(a) - rank(b)
	})
	return next, deletions
}

// uploadAll uploads a batch in parallel; the first error stops it.
func (p *publisher) uploadAll(ctx context.Context, batch []*object) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opt.Parallelism)
	var uploaded atomic.Int64
	var bytesUp atomic.Int64
	for _, o := range batch {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			if err := p.upload(gctx, o); err != nil {
				return err
			}
			uploaded.Add(1)
			bytesUp.Add(o.size)
			return nil
		})
	}
	err := g.Wait()
	p.res.Uploaded += int(uploaded.Load())
	p.res.Linked = int(p.linked.Load())
	p.res.BytesUploaded += bytesUp.Load()
	if l, ok := p.dst.(storage.Linker); ok && p.opt.Link && err == nil {
		// Linked objects are durable only now; nothing that names
		// them is written before.
		if ferr := l.Flush(ctx); ferr != nil {
			return fmt.Errorf("publish: %w", ferr)
		}
	}
	return err
}

// upload stores one object, checking while it is sent that its bytes
// have the digests the metadata gives.
func (p *publisher) upload(ctx context.Context, o *object) error {
	opt := storage.PutOptions{SHA256: o.sha256, ContentType: ContentType(o.key), CacheControl: o.cacheControl}
	if o.data != nil {
		if err := p.dst.Put(ctx, o.key, bytes.NewReader(o.data), o.size, opt); err != nil {
			return fmt.Errorf("publish: upload %s: %w", o.key, err)
		}
		return nil
	}
	if l, ok := p.dst.(storage.Linker); ok && p.opt.Link && !p.noLink.Load() {
		err := l.Link(ctx, o.key, o.path, o.size, opt)
		if err == nil {
			p.log.WithFields(logrus.Fields{"key": o.key, "size": o.size}).Debug("linked")
			p.linked.Add(1)
			return nil
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			return fmt.Errorf("publish: link %s: %w", o.key, err)
		}
		if !p.noLink.Swap(true) {
			p.log.WithError(err).Info("cannot hard-link into the target; copying")
		}
	}
	f, err := os.Open(o.path)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	defer f.Close()
	want := o.want
	if !slices.Contains(want, digest{"sha256", o.sha256}) {
		want = append(want[:len(want):len(want)], digest{"sha256", o.sha256})
	}
	vr, err := newVerifyingReader(f, o.path, o.size, want)
	if err != nil {
		return err
	}
	// A mismatch cancels the upload's context, so that no retry layer
	// tries again: the file will not change its mind.
	uctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	vr.onMismatch = cancel
	if err := p.dst.Put(uctx, o.key, vr, o.size, opt); err != nil {
		if vr.mismatch != nil {
			// The backend may have wrapped the reader's error beyond
			// recognition (an HTTP client does): report it as such.
			return vr.mismatch
		}
		return fmt.Errorf("publish: upload %s: %w", o.key, err)
	}
	p.log.WithFields(logrus.Fields{"key": o.key, "size": o.size}).Debug("uploaded")
	return nil
}

// deleteAll deletes keys in parallel and returns those deleted. A failed
// deletion is logged and left for the next publish.
func (p *publisher) deleteAll(ctx context.Context, keys []string) []string {
	var mu sync.Mutex
	var deleted []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opt.Parallelism)
	for _, k := range keys {
		g.Go(func() error {
			if err := p.dst.Delete(gctx, k); err != nil {
				p.log.WithError(err).WithField("key", k).Warn("could not delete a retired object; the next publish tries again")
				return nil
			}
			p.log.WithField("key", k).Debug("deleted")
			mu.Lock()
			deleted = append(deleted, k)
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return deleted
}
