package createrepo

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
)

// ErrPackagesFailed is wrapped by Run's error when metadata was written
// for every good package but some files could not be indexed; the
// Result lists them. Callers exit non-zero on it, as createrepo_c does
// with --error-exit-val.
var ErrPackagesFailed = errors.New("createrepo: some packages could not be indexed")

// PackageError says why one file was left out.
type PackageError struct {
	Path string // relative to the input directory
	Err  error
}

func (e *PackageError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *PackageError) Unwrap() error { return e.Err }

// Result describes a finished run.
type Result struct {
	Packages   int             // packages in the new metadata
	Failed     []*PackageError // files left out, in package order
	Duplicates int             // packages whose NEVRA an earlier package already had
	Dropped    int             // duplicates left out by KeepLast
	Repomd     *repodata.Repomd
	// Unchanged: the metadata already in the output directory said the
	// same, and repomd.xml was left byte-for-byte as it was.
	Unchanged bool
}

// Progress, if set on a run, is called from one goroutine after each
// package is collected.
type Progress func(done, total int)

// item is one package in flight from a worker to the collector.
type item struct {
	t     task
	done  chan struct{}
	bufs  [3]*[]byte // rendered XML per Kind
	nevra string
	build int64
	// xmlSize is the bytes of bufs, counted by the runner's xmlBudget
	// until the item is collected.
	xmlSize int
	early   bool // started ahead of its turn (schedule)
	err     error
}

// Run indexes the input directory and writes repodata/ into the output
// directory. Another Run (or createrepo_c) working on the same output
// directory makes it fail at once with ErrLocked.
//
// Bad packages do not stop the run: they are logged, left out, listed in
// Result.Failed, and Run returns an error wrapping ErrPackagesFailed
// together with the Result after writing everything else. Any other error
// leaves the output directory as it was.
func Run(ctx context.Context, o Options, log logrus.FieldLogger, progress Progress) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	lock, err := lockOutput(o.OutputDir)
	if err != nil {
		return nil, err
	}
	defer lock.release()

	tasks, err := listPackages(ctx, &o)
	if err != nil {
		return nil, err
	}
	log.WithField("packages", len(tasks)).Debug("directory scanned")

	out, err := newOutput(&o, log)
	if err != nil {
		return nil, err
	}
	defer out.cleanupStaging()

	r := &runner{o: &o, log: log, tasks: tasks, progress: progress, res: &Result{}}
	var recs []recordResult
	if o.Duplicates == KeepLast {
		recs, err = r.runKeepLast(ctx, out.staging)
	} else {
		recs, err = r.runStreaming(ctx, out.staging)
	}
	if err != nil {
		return nil, err
	}
	if err := out.commit(recs, r.res); err != nil {
		return nil, err
	}
	if len(r.res.Failed) > 0 {
		return r.res, fmt.Errorf("%w: %d of %d files", ErrPackagesFailed, len(r.res.Failed), len(tasks))
	}
	return r.res, nil
}

type runner struct {
	sched    *schedule
	o        *Options
	log      logrus.FieldLogger
	tasks    []task
	progress Progress
	res      *Result
}

// The bounds of the pipeline, measured on the benchmark corpora (5,000
// packages of 4 KB-17 MB, 50,000 small ones; .ci/bench-createrepo).
const (
	// window bounds the packages started and not collected; xmlBudget
	// bounds what they rendered. 512 KiB of XML is ~80 typical packages:
	// a smaller budget left lanes empty behind large packages, a larger
	// one bought no speed for more peak memory.
	window    = 1024
	xmlBudget = 512 << 10
	// largePackage is the size from which a package is started ahead of
	// its turn, up to 2 per lane at a time: a package that takes
	// milliseconds to hash would otherwise hold up the collector with
	// the budget spent, or run alone at the end. Every package within
	// the window is considered.
	largePackage = 2 << 20
)

// pipeline reads every task with o.Workers workers and hands the items to
// collect in task order. What is in flight is bounded (see schedule),
// which bounds memory whatever the number of packages.
func (r *runner) pipeline(ctx context.Context, collect func(*item) error) error {
	g, gctx := errgroup.WithContext(ctx)
	large := int64(largePackage)
	if r.o.largePackage > 0 {
		large = r.o.largePackage
	}
	s := newSchedule(r.tasks, window, xmlBudget, window-1, large, 2*r.o.Workers*lanes)
	r.sched = s
	defer context.AfterFunc(gctx, s.stop)()
	for w := 0; w < r.o.Workers; w++ {
		g.Go(func() error {
			r.worker(s)
			return nil
		})
	}
	g.Go(func() error {
		for i := range r.tasks {
			it := s.waitItem(i)
			if it == nil {
				return gctx.Err()
			}
			select {
			case <-it.done:
			case <-gctx.Done():
				return gctx.Err()
			}
			if it.err != nil {
				pe := &PackageError{Path: it.t.rel(), Err: it.err}
				r.res.Failed = append(r.res.Failed, pe)
				r.log.WithFields(logrus.Fields{"pkg": pe.Path, "error": it.err}).Error("cannot index package")
			} else if err := collect(it); err != nil {
				return err
			}
			s.collected(it)
			if r.progress != nil {
				r.progress(i+1, len(r.tasks))
			}
		}
		return nil
	})
	return g.Wait()
}

// render fills the item from its package: the three XML fragments, in
// pooled buffers of about their size (they may wait in the reorder
// window a while), and what the collector needs. scratch is the
// caller's buffer to render into first.
func (r *runner) render(it *item, p *repodata.Package, scratch *[]byte) {
	it.nevra = p.NEVRA() // a new string: p's memory is reused
	it.build = p.BuildTime
	b := (*scratch)[:0]
	it.xmlSize = 0
	for i, k := range repodata.Kinds {
		b = k.AppendPackage(b[:0], p)
		x := getBufFor(len(b))
		*x = append(*x, b...)
		it.bufs[i] = x
		it.xmlSize += len(b)
	}
	*scratch = b
	if cap(b) > 256<<10 {
		*scratch = nil // one huge package must not pin its buffer
	}
	r.sched.rendered(it)
}

// openPackage opens a task's file, which must be a regular file.
func (r *runner) openPackage(t task) (*os.File, os.FileInfo, error) {
	abs := filepath.Join(r.o.InputDir, filepath.FromSlash(t.rel()))
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("not a regular file")
	}
	return f, fi, nil
}

func (r *runner) parseOptions() rpmfile.Options {
	return rpmfile.Options{ChecksumType: r.o.ChecksumType, ChangelogLimit: r.o.ChangelogLimit}
}

// place completes a parsed package with what depends on its file: the
// size check, file time and location.
func (r *runner) place(t task, p *repodata.Package, fi os.FileInfo) (*repodata.Package, error) {
	if int64(p.PackageSize) != fi.Size() {
		return nil, fmt.Errorf("file changed while it was read (%d bytes read, %d expected)", p.PackageSize, fi.Size())
	}
	p.FileTime = fi.ModTime().Unix()
	href := t.rel()
	if r.o.LocationPrefix != "" {
		href = joinPrefix(r.o.LocationPrefix, href)
	}
	var ok bool
	if p.LocationHref, ok = rpmfile.CleanText(href); !ok {
		return nil, fmt.Errorf("%w in file path", rpmfile.ErrControlChars)
	}
	if base := r.o.BaseURL; base != "" {
		if strings.HasPrefix(base, "/") {
			base = "file://" + base
		}
		p.LocationBase, _ = rpmfile.CleanText(base)
	}
	return p, nil
}

// joinPrefix joins like GLib's g_build_filename, which createrepo_c uses
// for --location-prefix: one separator between the parts.
func joinPrefix(prefix, href string) string {
	p := strings.TrimRight(prefix, "/")
	if p == "" && strings.HasPrefix(prefix, "/") {
		return "/" + strings.TrimLeft(href, "/")
	}
	return p + "/" + strings.TrimLeft(href, "/")
}

// recordSet is the three record writers of a run.
type recordSet [3]*recordWriter

func (r *runner) openRecords(dir string, count int) (recordSet, error) {
	var rs recordSet
	for i, k := range repodata.Kinds {
		w, err := newRecordWriter(dir, k, r.o.Compression, r.o.ChecksumType, r.o.CompressThreads)
		if err != nil {
			rs.abort()
			return rs, err
		}
		rs[i] = w
		b := getBuf()
		*b = k.AppendHeader(*b, count)
		w.write(b)
	}
	return rs, nil
}

func (rs recordSet) abort() {
	for _, w := range rs {
		if w != nil {
			w.abort()
		}
	}
}

func (rs recordSet) finish() ([]recordResult, error) {
	var res []recordResult
	var firstErr error
	for i, k := range repodata.Kinds {
		b := getBuf()
		*b = append(*b, k.Footer()...)
		rs[i].write(b)
	}
	for _, w := range rs {
		rr, err := w.finish()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		res = append(res, rr)
	}
	if firstErr != nil {
		for _, rr := range res {
			if rr.tmpPath != "" {
				os.Remove(rr.tmpPath)
			}
		}
		return nil, firstErr
	}
	return res, nil
}

// runStreaming writes packages straight into the record writers as they
// are collected. The root elements announce every listed file; if some
// fail, the files are rewritten with the right count afterwards (what
// createrepo_c does too), which costs a decompression and recompression
// on that error path only.
func (r *runner) runStreaming(ctx context.Context, dir string) ([]recordResult, error) {
	rs, err := r.openRecords(dir, len(r.tasks))
	if err != nil {
		return nil, err
	}
	seen := newNEVRASet(len(r.tasks))
	err = r.pipeline(ctx, func(it *item) error {
		if !seen.add(it.nevra) {
			r.res.Duplicates++
			r.log.WithFields(logrus.Fields{"pkg": it.t.rel(), "nevra": it.nevra}).Warn("duplicate NEVRA: another package already has it")
		}
		for i := range rs {
			rs[i].write(it.bufs[i])
		}
		r.res.Packages++
		return nil
	})
	if err != nil {
		rs.abort()
		return nil, err
	}
	recs, err := rs.finish()
	if err != nil {
		return nil, err
	}
	if r.res.Packages != len(r.tasks) {
		return r.rewriteCounts(dir, recs, len(r.tasks), r.res.Packages)
	}
	return recs, nil
}

// nevraSet remembers the NEVRAs seen, by a 128-bit digest rather than
// the string: on 50,000 packages the strings were 2.5 MB of the peak
// heap, the digests take 0.8 MB. Two NEVRAs share a digest with a
// probability of about n²/2¹²⁹, which no repository approaches.
type nevraSet struct {
	seeds [2]maphash.Seed
	m     map[[2]uint64]struct{}
}

func newNEVRASet(n int) *nevraSet {
	return &nevraSet{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, m: make(map[[2]uint64]struct{}, n)}
}

// add reports whether nevra was new.
func (s *nevraSet) add(nevra string) bool {
	k := [2]uint64{maphash.String(s.seeds[0], nevra), maphash.String(s.seeds[1], nevra)}
	if _, dup := s.m[k]; dup {
		return false
	}
	s.m[k] = struct{}{}
	return true
}
