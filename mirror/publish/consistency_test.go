package publish

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// TestConsistencyUnderChange publishes 30 successive revisions of a
// repository to MinIO (packages added, replaced by newer versions,
// removed; createrepo each time) while readers loop the way dnf does:
// repomd.xml, then every file it names, checking checksums, then a sample
// of the packages primary names, sometimes after a delay. No reader may
// ever find an object missing or different from what the metadata it
// read says.
//
// Time is compressed: the publisher's clock runs 3,600 times faster than
// the real one and the grace period is 5 (virtual) hours, so retired
// objects are deleted 5 real seconds after they are superseded, during
// the test. A reader's view is at most ~1.5 s old, well inside that; an
// iteration that took longer than the grace period (a stalled machine)
// is reported and not judged.
func TestConsistencyUnderChange(t *testing.T) {
	tg := s3Target(t, minioServer(t))
	const (
		revisions = 30
		readers   = 2
		speedup   = 3600
		grace     = 5 * time.Hour
	)
	start := time.Now()
	base := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return base.Add(time.Since(start) * speedup) }

	type pkgver struct {
		name string
		rel  int
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var set []pkgver
	for i := range 16 {
		set = append(set, pkgver{fmt.Sprintf("p%02d", i), 1})
	}
	specs := func() []rpmtest.Spec {
		var ss []rpmtest.Spec
		for _, p := range set {
			// A file name always means the same bytes.
			size := 1000 + (len(p.name)*7919+int(p.name[len(p.name)-1])*131+p.rel*977)%4000
			ss = append(ss, pkg(p.name, "1.0", fmt.Sprint(p.rel), size))
		}
		return ss
	}
	nextName := 16

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		iterations, checked atomic.Int64
		mu                  sync.Mutex
		failures            []string
		stale               int
		wg                  sync.WaitGroup
	)
	for r := range readers {
		wg.Go(func() {
			rr := rand.New(rand.NewPCG(uint64(r), 99))
			for ctx.Err() == nil {
				began := time.Now()
				problems, n := readLikeDNF(ctx, tg, rr)
				if ctx.Err() != nil {
					return
				}
				iterations.Add(1)
				checked.Add(int64(n))
				if len(problems) == 0 {
					continue
				}
				mu.Lock()
				if time.Since(began)*speedup >= grace {
					stale++
				} else {
					failures = append(failures, problems...)
				}
				mu.Unlock()
			}
		})
	}

	src := t.TempDir()
	opt := DefaultOptions()
	opt.Now = now
	opt.GracePeriod = grace
	var deleted, uploaded int
	for rev := range revisions {
		if rev > 0 {
			// Add one or two, replace one or two by a newer release,
			// remove one.
			for range 1 + rng.IntN(2) {
				set = append(set, pkgver{fmt.Sprintf("p%02d", nextName), 1})
				nextName++
			}
			for range 1 + rng.IntN(2) {
				set[rng.IntN(len(set))].rel++
			}
			i := rng.IntN(len(set))
			set = append(set[:i], set[i+1:]...)
		}
		writeRepo(t, src, specs())
		res, err := Publish(context.Background(), src, tg.b, opt, testLogger(t))
		if err != nil {
			t.Fatalf("revision %d: %v", rev, err)
		}
		if !res.RepomdChanged {
			t.Errorf("revision %d: repomd.xml not switched", rev)
		}
		deleted += res.Deleted
		uploaded += res.Uploaded
		time.Sleep(time.Duration(200+rng.IntN(300)) * time.Millisecond)
	}
	// Let the readers run over the last revision and the deletions of the
	// ones before it.
	time.Sleep(time.Second)
	cancel()
	wg.Wait()

	t.Logf("%d revisions, %d objects uploaded, %d deleted after the grace period; readers: %d iterations, %d objects checked, %d stale iterations",
		revisions, uploaded, deleted, iterations.Load(), checked.Load(), stale)
	if deleted == 0 {
		t.Error("no object was deleted: the grace period was not exercised")
	}
	if iterations.Load() < 20 {
		t.Errorf("readers made only %d iterations", iterations.Load())
	}
	if len(failures) > 0 {
		if len(failures) > 20 {
			failures = failures[:20]
		}
		t.Errorf("readers saw %d problems:\n%s", len(failures), strings.Join(failures, "\n"))
	}
}

// readLikeDNF reads the target once as dnf does and returns the problems
// it found and the number of objects it checked.
func readLikeDNF(ctx context.Context, tg testTarget, rr *rand.Rand) ([]string, int) {
	var problems []string
	n := 0
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	mdBytes, _, err := tg.get(ctx, "repodata/repomd.xml")
	if err != nil {
		if strings.Contains(err.Error(), "404") {
			return nil, 0 // not published yet
		}
		fail("repomd.xml: %v", err)
		return problems, n
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(mdBytes))
	if err != nil {
		fail("repomd.xml: %v", err)
		return problems, n
	}
	n++
	var primary []byte
	for _, rec := range md.Records {
		body, _, err := tg.get(ctx, rec.Href)
		n++
		if err != nil {
			fail("revision %s: %s: %v", md.Revision, rec.Href, err)
			continue
		}
		if got := sha256Hex(body); got != rec.Checksum.Value {
			fail("revision %s: %s: sha256 %s, repomd.xml says %s", md.Revision, rec.Href, got, rec.Checksum.Value)
			continue
		}
		if rec.Type == "primary" {
			primary = body
		}
	}
	if primary == nil {
		return problems, n
	}
	zr, err := compress.NewReader(bytes.NewReader(primary), compress.FromFilename(md.Record("primary").Href), compress.ReaderOptions{})
	if err != nil {
		fail("primary: %v", err)
		return problems, n
	}
	var pkgs []*repodata.Package
	if err := repodata.ReadPrimary(zr, func(p *repodata.Package) error { pkgs = append(pkgs, p); return nil }); err != nil {
		fail("primary: %v", err)
		return problems, n
	}
	// dnf fetches packages later: sometimes much later.
	if rr.IntN(3) == 0 {
		select {
		case <-time.After(time.Duration(rr.IntN(1500)) * time.Millisecond):
		case <-ctx.Done():
			return problems, n
		}
	}
	for range min(5, len(pkgs)) {
		p := pkgs[rr.IntN(len(pkgs))]
		body, _, err := tg.get(ctx, p.LocationHref)
		n++
		if err != nil {
			if ctx.Err() == nil {
				fail("revision %s: %s: %v", md.Revision, p.LocationHref, err)
			}
			continue
		}
		if got := sha256Hex(body); got != p.Checksum.Value || uint64(len(body)) != p.PackageSize {
			fail("revision %s: %s: %d bytes, sha256 %s; primary says %d, %s", md.Revision, p.LocationHref, len(body), got, p.PackageSize, p.Checksum.Value)
		}
	}
	return problems, n
}
