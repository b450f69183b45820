package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/mirror/verify"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/faultproxy"
	"github.com/rpmirror/rpmirror/storage/retry"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
	storagetarget "github.com/rpmirror/rpmirror/storage/target"
)

// twoRevisions is a repository at revision N and at revision N+1, in two
// source directories: N+1 adds packages, replaces some by newer versions
// and removes others.
type twoRevisions struct {
	n, next             string // source directories
	repomdN, repomdNext []byte
	// added are the package keys N+1 has and N has not; removed the
	// reverse.
	added, removed []string
}

// buildTwoRevisions writes both revisions with our createrepo. Package
// sizes are scaled by scale (1: a few KiB each).
func buildTwoRevisions(t testing.TB, scale int) twoRevisions {
	t.Helper()
	size := func(n int) int { return n * scale }
	n := []rpmtest.Spec{
		pkg("alpha", "1.0", "1", size(2000)), pkg("bravo", "1.0", "1", size(3000)),
		pkg("charlie", "1.0", "1", size(4000)), pkg("delta", "1.0", "1", size(2500)),
		pkg("echo", "1.0", "1", size(3500)), pkg("foxtrot", "1.0", "1", size(1500)),
		pkg("golf", "1.0", "1", size(5000)), pkg("hotel", "1.0", "1", size(2200)),
	}
	next := []rpmtest.Spec{
		n[0],                                   // alpha kept
		pkg("charlie", "1.0", "2", size(4100)), // replaced: new release
		n[3],                                   // delta kept
		pkg("echo", "2.0", "1", size(3600)),    // replaced: new version
		n[5], n[7],                             // foxtrot, hotel kept; bravo and golf removed
		pkg("india", "1.0", "1", size(2800)), pkg("juliet", "1.0", "1", size(3300)), // added
	}
	r := twoRevisions{n: t.TempDir(), next: t.TempDir()}
	writeRepoWith(t, r.n, n, func(o *createrepo.Options) { o.Revision = "1700000000"; o.SetTimestampToRevision = true })
	writeRepoWith(t, r.next, next, func(o *createrepo.Options) { o.Revision = "1700003600"; o.SetTimestampToRevision = true })
	r.repomdN = readFile(t, filepath.Join(r.n, "repodata", "repomd.xml"))
	r.repomdNext = readFile(t, filepath.Join(r.next, "repodata", "repomd.xml"))
	if bytes.Equal(r.repomdN, r.repomdNext) {
		t.Fatal("the two revisions have the same repomd.xml")
	}
	inN, inNext := map[string]bool{}, map[string]bool{}
	for _, s := range n {
		inN[s.RelPath()] = true
	}
	for _, s := range next {
		inNext[s.RelPath()] = true
		if !inN[s.RelPath()] {
			r.added = append(r.added, s.RelPath())
		}
	}
	for _, s := range n {
		if !inNext[s.RelPath()] {
			r.removed = append(r.removed, s.RelPath())
		}
	}
	return r
}

// which names the revision whose repomd.xml b is.
func (r twoRevisions) which(b []byte) string {
	switch {
	case bytes.Equal(b, r.repomdN):
		return "N"
	case bytes.Equal(b, r.repomdNext):
		return "N+1"
	case b == nil:
		return "none"
	}
	return fmt.Sprintf("neither revision (%d bytes)", len(b))
}

// fastRetry are retries short enough for tests: 4 attempts within some
// 50 ms.
var fastRetry = retry.Options{MaxAttempts: 4, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// openS3Spec opens an s3:// target spec with the server's credentials and
// the given retries, as the rpmirror command does.
func openS3Spec(t testing.TB, srv *miniotest.Server, spec string, ro retry.Options) storage.Backend {
	t.Helper()
	cfg := storagetarget.DefaultConfig()
	cfg.S3.AccessKey, cfg.S3.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
	cfg.Retry = ro
	cfg.Log = testLogger(t)
	b, err := storagetarget.Open(context.Background(), spec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// directSpec is the target spec of bucket/prefix straight at MinIO.
func directSpec(srv *miniotest.Server, bucket, prefix string) string {
	return fmt.Sprintf("s3://%s/%s?endpoint=%s&path-style=1&tls=0&region=%s", bucket, prefix, srv.Endpoint, srv.Region)
}

// liveRepomd returns the target's repodata/repomd.xml, nil if it has none.
func liveRepomd(t testing.TB, b storage.Backend) []byte {
	t.Helper()
	rc, err := b.Open(context.Background(), repomdKey)
	if errors.Is(err, storage.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", repomdKey, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", repomdKey, err)
	}
	return data
}

// checkConsistent runs mirror/verify with checksums on b: every record
// repomd.xml names is there with its checksum, every package primary
// names with its size and checksum. It returns the live revision ("N" or
// "N+1"); anything else fails the test.
func checkConsistent(t testing.TB, b storage.Backend, r twoRevisions, when string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := verify.Verify(ctx, b, verify.Options{Checksums: true, Parallelism: 4}, nil)
	if err != nil {
		t.Fatalf("%s: verify: %v", when, err)
	}
	if !rep.OK() {
		var ps []string
		for _, p := range rep.Problems {
			ps = append(ps, p.String())
		}
		t.Errorf("%s: the target is not consistent: %s\n  %s", when, rep.Summary(), strings.Join(ps, "\n  "))
	}
	live := r.which(liveRepomd(t, b))
	if live != "N" && live != "N+1" {
		t.Errorf("%s: repodata/repomd.xml is %s", when, live)
	}
	return live
}

// faultCase is one fault in the publish of revision N+1.
type faultCase struct {
	name string
	// rules are added to the proxy for the faulty run; pfx is the key
	// prefix in the bucket ("repo/").
	rules func(r twoRevisions, pfx string) []faultproxy.Rule
	// fatal: the faulty run must fail, with an error containing every
	// string of errHas. Otherwise it must succeed (retries absorb the
	// fault).
	fatal  bool
	errHas []string
	// live is the revision the target must serve after the faulty run.
	live string
	// grace overrides the grace period (default: DefaultOptions').
	grace *time.Duration
	// check, when set, checks more after the faulty run (res may be
	// nil); checkRerun after the first run without the fault.
	check      func(t *testing.T, res *Result, err error)
	checkRerun func(t *testing.T, res *Result)
}

func faultCases() []faultCase {
	zero := time.Duration(0)
	putPackages := func(pfx string) faultproxy.Rule {
		return faultproxy.Rule{Method: http.MethodPut, PathContains: "/" + pfx + "Packages/"}
	}
	with := func(r faultproxy.Rule, name string, times int, f faultproxy.Fault) faultproxy.Rule {
		r.Name, r.Times, r.Fault = name, times, f
		return r
	}
	return []faultCase{
		{
			name: "reset package uploads, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				// At most 3 resets: one object may take them all and still
				// succeed at its 4th attempt.
				return []faultproxy.Rule{with(putPackages(pfx), "reset", 3, faultproxy.ConnReset())}
			},
			live: "N+1",
		},
		{
			name: "reset repomd.xml upload, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "reset", Method: http.MethodPut, Key: pfx + repomdKey, Times: 2, Fault: faultproxy.ConnReset()}}
			},
			live: "N+1",
		},
		{
			name: "500 on metadata uploads, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "500", Method: http.MethodPut, PathContains: "/" + pfx + "repodata/", Times: 3, Fault: faultproxy.HTTPError(500)}}
			},
			live: "N+1",
		},
		{
			name: "503 on reads and listings, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{
					{Name: "503 list", Method: http.MethodGet, Query: "list-type=2", Times: 2, Fault: faultproxy.HTTPError(503)},
					{Name: "503 state", Method: http.MethodGet, Key: pfx + StateKey, Times: 2, Fault: faultproxy.HTTPError(503)},
					{Name: "503 lock", Method: http.MethodGet, Key: pfx + LockKey, Times: 2, Fault: faultproxy.HTTPError(503)},
				}
			},
			live: "N+1",
		},
		{
			name: "slow responses",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{
					with(putPackages(pfx), "slow put", 4, faultproxy.Slow(300*time.Millisecond)),
					{Name: "slow list", Method: http.MethodGet, Query: "list-type=2", Times: 1, Fault: faultproxy.Slow(300 * time.Millisecond)},
					{Name: "slow answer", Method: http.MethodPut, Key: pfx + repomdKey, Times: 1, Fault: faultproxy.Slow(300 * time.Millisecond).AfterUpstream()},
				}
			},
			live: "N+1",
		},
		{
			name: "truncated listing, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "truncate list", Method: http.MethodGet, Query: "list-type=2", Times: 1, Fault: faultproxy.TruncateBody(200)}}
			},
			live: "N+1",
		},
		{
			// storage/retry retries Open, not the read after it: a body
			// cut short is the caller's to read again (as mirror/verify
			// does). One truncated response is a transient fault.
			name: "truncated state read, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "truncate state", Method: http.MethodGet, Key: pfx + StateKey, Times: 1, Fault: faultproxy.TruncateBody(64)}}
			},
			live: "N+1",
		},
		{
			name: "truncated lock read at the switch, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "truncate lock", Method: http.MethodGet, Key: pfx + LockKey, Times: 1, Fault: faultproxy.TruncateBody(20)}}
			},
			live: "N+1",
		},
		{
			// Read back when it has the size of the new one (and after
			// a failed switch): one cut answer must not fail the publish.
			name: "truncated repomd.xml read, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "truncate repomd", Method: http.MethodGet, Key: pfx + repomdKey, Times: 1, Fault: faultproxy.TruncateBody(100)}}
			},
			live: "N+1",
		},
		{
			name: "lost answer to a package upload, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{with(putPackages(pfx), "lost", 2, faultproxy.ConnReset().AfterUpstream())}
			},
			live: "N+1",
		},
		{
			name: "lost answer to the lock's creation, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "lost", Method: http.MethodPut, Key: pfx + LockKey, Times: 1, Fault: faultproxy.ConnReset().AfterUpstream()}}
			},
			live: "N+1",
		},
		{
			name: "lost answer to the repomd.xml upload, transient",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "lost", Method: http.MethodPut, Key: pfx + repomdKey, Times: 1, Fault: faultproxy.ConnReset().AfterUpstream()}}
			},
			live: "N+1",
		},
		{
			name: "FailPut repomd.xml",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{faultproxy.FailPut(pfx + repomdKey)}
			},
			fatal:  true,
			errHas: []string{repomdKey, "AccessDenied"},
			live:   "N",
			checkRerun: func(t *testing.T, res *Result) {
				// Everything but repomd.xml was uploaded by the failed run
				// and is found again (by Stat: the state does not know it).
				if res.Uploaded != 1 {
					t.Errorf("re-run after a failed switch uploaded %d objects, want 1 (repomd.xml): %+v", res.Uploaded, res)
				}
			},
		},
		{
			name: "persistent 500 on a new package",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "500", Method: http.MethodPut, Key: pfx + r.added[0], Fault: faultproxy.HTTPError(500)}}
			},
			fatal:  true,
			errHas: []string{"Packages/", "InternalError", "gave up after 4 attempts"},
			live:   "N",
		},
		{
			name: "persistent 503 on every metadata upload",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "503", Method: http.MethodPut, PathContains: "/" + pfx + "repodata/", Fault: faultproxy.HTTPError(503)}}
			},
			fatal:  true,
			errHas: []string{"repodata/", "ServiceUnavailable"},
			live:   "N",
		},
		{
			name: "persistent resets on repomd.xml",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "reset", Method: http.MethodPut, Key: pfx + repomdKey, Fault: faultproxy.ConnReset()}}
			},
			fatal:  true,
			errHas: []string{repomdKey},
			live:   "N",
		},
		{
			name: "lock refresh fails before the switch",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				// The first PUT of the lock creates it; the next is the
				// refresh that confirms it before the switch.
				return []faultproxy.Rule{{Name: "403 refresh", Method: http.MethodPut, Key: pfx + LockKey, Nth: 2, Fault: faultproxy.HTTPError(403)}}
			},
			fatal:  true,
			errHas: []string{"lock"},
			live:   "N",
			check: func(t *testing.T, res *Result, err error) {
				if !errors.Is(err, ErrLockLost) {
					t.Errorf("error %v does not wrap ErrLockLost", err)
				}
			},
		},
		{
			name: "state cannot be written after the switch",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{faultproxy.FailPut(pfx + StateKey)}
			},
			fatal:  true,
			errHas: []string{"publication is live", StateKey, "AccessDenied"},
			live:   "N+1",
			check: func(t *testing.T, res *Result, err error) {
				if res == nil || !res.RepomdChanged || res.StateWritten {
					t.Errorf("result %+v: want RepomdChanged and not StateWritten", res)
				}
			},
			checkRerun: func(t *testing.T, res *Result) {
				if res.Uploaded != 0 || res.RepomdChanged || !res.StateWritten {
					t.Errorf("re-run after a lost state: %+v, want only the state written", res)
				}
			},
		},
		{
			// Every attempt stores repomd.xml and loses the answer: the
			// switch happened, the publisher cannot know it.
			name: "every answer to the repomd.xml upload lost",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "lost 500", Method: http.MethodPut, Key: pfx + repomdKey, Fault: faultproxy.HTTPError(500).AfterUpstream()}}
			},
			fatal:  true,
			errHas: []string{repomdKey, "InternalError"},
			live:   "N+1",
			checkRerun: func(t *testing.T, res *Result) {
				if res.Uploaded != 0 || res.RepomdChanged || !res.StateWritten {
					t.Errorf("re-run after a switch whose answer was lost: %+v, want only the state written", res)
				}
			},
		},
		{
			name: "deletions fail after the switch",
			rules: func(r twoRevisions, pfx string) []faultproxy.Rule {
				return []faultproxy.Rule{{Name: "500 delete", Method: http.MethodDelete, PathContains: "/" + pfx + "Packages/", Fault: faultproxy.HTTPError(500)}}
			},
			grace: &zero,
			live:  "N+1",
			check: func(t *testing.T, res *Result, err error) {
				// Old metadata files are deleted; packages cannot be.
				if res == nil || res.Retained == 0 {
					t.Errorf("result %+v: want the removed packages retained", res)
				}
			},
			checkRerun: func(t *testing.T, res *Result) {
				if res.Deleted == 0 || res.Retained != 0 {
					t.Errorf("re-run: %+v, want the retired objects deleted", res)
				}
			},
		},
	}
}

// TestPublishFaults publishes revision N of a repository straight to
// MinIO, then revision N+1 through a fault-injecting proxy, one fault per
// case. Whatever the fault, the target must stay consistent (mirror/verify
// with checksums, straight at MinIO) and serve N, or N+1 when retries
// absorbed the fault; a fatal fault must be reported as an error naming
// the problem; with the fault gone, a re-run must converge to N+1 and a
// third run must upload nothing.
func TestPublishFaults(t *testing.T) {
	srv := minioServer(t)
	r := buildTwoRevisions(t, 1)
	const prefix = "repo"
	for _, tc := range faultCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			bucket := srv.Bucket(t)
			direct := openS3Spec(t, srv, directSpec(srv, bucket, prefix), fastRetry)
			p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{Seed: 1, Logf: func(string, ...any) {}})
			proxied := openS3Spec(t, srv, p.S3Target(bucket, prefix, srv.Region), fastRetry)

			opt := DefaultOptions()
			opt.Parallelism = 4
			if tc.grace != nil {
				opt.GracePeriod = *tc.grace
			}
			if _, err := Publish(ctx, r.n, direct, opt, testLogger(t)); err != nil {
				t.Fatalf("publish N: %v", err)
			}
			if live := checkConsistent(t, direct, r, "after publishing N"); live != "N" {
				t.Fatalf("after publishing N the target serves %s", live)
			}

			for _, rule := range tc.rules(r, prefix+"/") {
				p.Add(rule)
			}
			start := time.Now()
			res, err := Publish(ctx, r.next, proxied, opt, testLogger(t))
			elapsed := time.Since(start)
			events := p.Events()
			p.Clear()
			t.Logf("faulty run: %v in %v; %d faults: %v", err, elapsed.Round(time.Millisecond), len(events), events)
			if len(events) == 0 {
				t.Fatal("no fault was injected: the case tests nothing")
			}
			switch {
			case tc.fatal && err == nil:
				t.Errorf("the publish succeeded through a fatal fault: %+v", res)
			case !tc.fatal && err != nil:
				t.Errorf("the publish failed through a transient fault: %v", err)
			}
			for _, s := range tc.errHas {
				if err != nil && !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if tc.check != nil {
				tc.check(t, res, err)
			}

			live := checkConsistent(t, direct, r, "after the faulty run")
			if live != tc.live {
				t.Errorf("after the faulty run the target serves %s, want %s", live, tc.live)
			}
			// What the publisher reports about the switch must be true:
			// RepomdChanged false means repomd.xml is what it was.
			if res != nil {
				if res.RepomdChanged && live != "N+1" {
					t.Errorf("the result says repomd.xml was switched, but the target serves %s", live)
				}
				if !res.RepomdChanged && live != "N" {
					t.Errorf("the result says repomd.xml was not switched (%+v, error %v), but the target serves %s", res, err, live)
				}
			}
			if _, serr := direct.Stat(ctx, LockKey); !errors.Is(serr, storage.ErrNotExist) {
				t.Errorf("the lock was not released after the faulty run: %v", serr)
			}

			// The fault gone, a re-run converges and a third run finds
			// nothing to do.
			res2, err := Publish(ctx, r.next, proxied, opt, testLogger(t))
			if err != nil {
				t.Fatalf("re-run without the fault: %v", err)
			}
			t.Logf("re-run: %+v", *res2)
			if tc.checkRerun != nil {
				tc.checkRerun(t, res2)
			}
			if live := checkConsistent(t, direct, r, "after the re-run"); live != "N+1" {
				t.Errorf("after the re-run the target serves %s, want N+1", live)
			}
			res3, err := Publish(ctx, r.next, proxied, opt, testLogger(t))
			if err != nil {
				t.Fatalf("third run: %v", err)
			}
			if res3.Uploaded != 0 || res3.RepomdChanged || res3.StateWritten {
				t.Errorf("third run did something: %+v", *res3)
			}
			st, err := ReadState(ctx, direct)
			if err != nil {
				t.Fatal(err)
			}
			if st.RepomdSHA256 != sha256Hex(r.repomdNext) {
				t.Errorf("the state records repomd.xml %s, want N+1's", st.RepomdSHA256)
			}
		})
	}
}

// TestSlowLockRefreshBeforeSwitch: publisher A's refresh of its lock
// before the switch is slow — MinIO gets it only after the lock has
// expired — and publisher B takes the expired lock over meanwhile and
// publishes N again with no grace period, which deletes what A uploaded
// (orphans to B). A's refresh then succeeds, but the lock it refreshed
// was not A's for a while: A must not switch (the lock's promise is that
// no one else published meanwhile), and the target must stay consistent.
//
// The timeline (TTL 8 s, so the margin and the heartbeat period are 2 s):
// A takes the lock at 0; its heartbeat refreshes at 2 s and 4 s fail
// (403), so the lock still expires at 8 s; A's package uploads are held
// until about 5.4 s, when A confirms the lock (2.6 s left: more than the
// margin) and its refresh is held 4 s. B takes the lock over at 8 s and
// publishes N; A's refresh reaches MinIO at about 9.4 s and succeeds.
func TestSlowLockRefreshBeforeSwitch(t *testing.T) {
	srv := minioServer(t)
	r := buildTwoRevisions(t, 1)
	const prefix = "repo"
	bucket := srv.Bucket(t)
	direct := openS3Spec(t, srv, directSpec(srv, bucket, prefix), fastRetry)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{Seed: 1, Logf: func(string, ...any) {}})
	proxied := openS3Spec(t, srv, p.S3Target(bucket, prefix, srv.Region), fastRetry)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()

	opt := DefaultOptions()
	opt.GracePeriod = 0
	opt.LockTTL = 8 * time.Second
	opt.lockPoll = 20 * time.Millisecond
	if _, err := Publish(ctx, r.n, direct, opt, testLogger(t)); err != nil {
		t.Fatalf("publish N: %v", err)
	}

	lockKey := prefix + "/" + LockKey
	const (
		held  = "held uploads"
		slow  = "slow refresh"
		hbErr = "failed heartbeats"
	)
	// The lock's PUTs: 1 creates it, 2 and 3 are the heartbeat's
	// refreshes (403 is final: one request each), 4 is the refresh of
	// confirm before the switch.
	p.Add(faultproxy.Rule{Name: hbErr, Method: http.MethodPut, Key: lockKey, Nth: 2, Times: 2, Fault: faultproxy.HTTPError(403)})
	p.Add(faultproxy.Rule{Name: slow, Method: http.MethodPut, Key: lockKey, Nth: 4, Times: 1, Fault: faultproxy.Slow(4 * time.Second)})
	p.Add(faultproxy.Rule{Name: held, Method: http.MethodPut, PathContains: "/" + prefix + "/Packages/", Fault: faultproxy.Slow(5300 * time.Millisecond)})
	type outcome struct {
		res *Result
		err error
	}
	done := make(chan outcome, 1)
	optA := opt
	optA.LockHolder = "publisher A"
	start := time.Now()
	go func() {
		res, err := Publish(ctx, r.next, proxied, optA, testLogger(t))
		done <- outcome{res, err}
	}()
	if err := p.WaitInjected(ctx, held, 1); err != nil {
		t.Fatal(err)
	}
	optB := opt
	optB.LockHolder = "publisher B"
	optB.LockWait = 30 * time.Second
	resB, errB := Publish(ctx, r.n, direct, optB, testLogger(t))
	switch {
	case errB == nil:
		t.Logf("publisher B took the lock over at %v and published N: %+v", time.Since(start).Round(time.Millisecond), *resB)
	case errors.Is(errB, ErrLockLost):
		// A's refresh reached MinIO while B was still at work (a slow
		// machine) and replaced B's lock: B stopped, as it must.
		t.Logf("publisher B took the lock over and lost it to A's late refresh: %v", errB)
	default:
		t.Fatalf("publisher B: %v", errB)
	}
	a := <-done
	t.Logf("publisher A, after %v: %v; %+v", time.Since(start).Round(time.Millisecond), a.err, a.res)
	for _, rule := range []string{hbErr, slow} {
		if n := p.InjectedRule(rule); n == 0 {
			t.Errorf("rule %q was not applied (events %v): the timeline did not happen", rule, p.Events())
		}
	}

	live := checkConsistent(t, direct, r, "after both publishers")
	if !errors.Is(a.err, ErrLockLost) {
		t.Errorf("publisher A: error %v, want ErrLockLost: its lock expired (and was taken over) while its refresh was on its way", a.err)
	}
	if a.res != nil && a.res.RepomdChanged || live != "N" {
		t.Errorf("publisher A switched to N+1 after its lock had expired and B had published (the target serves %s)", live)
	}
}
