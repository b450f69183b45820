// Package syncer is rpmirror's main job: for each configured repository,
// pull packages from its sources, verify every byte, keep what its
// filters select, regenerate the metadata from the parses taken during
// the download (or, in verbatim mode, copy the upstream's byte for
// byte), and publish the result to its targets.
//
// Everything is incremental: a source whose fingerprint did not change
// since the last successful run costs one small request, packages already
// in the local pool are never fetched or read again, and publishing an
// unchanged tree uploads nothing.
package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
	"github.com/rpmirror/rpmirror/storage"
)

// ErrPartial is wrapped by Sync's error when the repository was
// published without some packages, which the Result lists; a systemd
// unit should treat it as a failure worth an alert, not as an outage.
var ErrPartial = errors.New("sync: some packages were left out")

// ErrBusy: another run is syncing the same repository with the same
// cache directory.
var ErrBusy = errors.New("sync: repository is being synced by another run")

// NamedSource is a source with the name the configuration gives it.
type NamedSource struct {
	Name   string
	Source source.Source
}

// Target is a place a repository is published to.
type Target struct {
	Name string
	// Backend may be nil in a dry run, which publishes nothing.
	Backend storage.Backend
}

// Repo is one repository to sync.
type Repo struct {
	Name string
	// Mode is how the metadata is made: ModeRegenerate ("" too) or
	// ModeVerbatim (see verbatim.go).
	Mode    Mode
	Sources []NamedSource
	Filter  Filter
	Targets []Target
	// Metadata carries the createrepo settings (checksum, compression,
	// changelog limit, file names); the directories are the syncer's.
	Metadata createrepo.Options
	Publish  publish.Options
	// ConfigDigest identifies the configuration the repository was synced
	// with; a change forces a full run even if no source changed.
	ConfigDigest string
}

// Options are the syncer's own settings.
type Options struct {
	// CacheDir holds the package pool, the per-repository trees and the
	// state of the last runs.
	CacheDir string
	// Parallelism bounds concurrent package fetches (default 8).
	Parallelism int
	// DryRun lists what would change and changes nothing.
	DryRun bool
	// Force ignores unchanged fingerprints.
	Force bool
	// Progress, when set, is told of each repository's downloads (a
	// progress bar on a terminal).
	Progress Progress
}

// Progress receives the progress of the fetch phase of each repository.
type Progress interface {
	// Start is called when a repository is about to fetch n packages
	// not in the pool, of about bytes bytes in all (packages whose
	// source gives no size count as 0). The task receives the rest.
	Start(repo string, n int, bytes int64) ProgressTask
}

// ProgressTask is one repository's fetch phase. Add and Done are called
// from the fetching goroutines concurrently; Finish once, after them.
type ProgressTask interface {
	Add(bytes int64) // package bytes arrived (or were found in a partial download)
	Done(ok bool)    // a package was fetched and verified (ok), or failed
	Finish()         // the fetch phase ended
}

// Metrics receives what a sync did. Implementations must be safe for
// concurrent use.
type Metrics interface {
	PackageFetched(repo string, bytes int64)
	PackageFailed(repo string)
	SyncFinished(repo string, d time.Duration, err error)
}

// Result describes one repository's sync.
type Result struct {
	Repo string
	// Unchanged: no source changed since the last successful run;
	// nothing else was done.
	Unchanged  bool
	Candidates int // offered by the sources
	Selected   int // kept by the filters
	Fetched    int // downloaded (or read) and verified this run
	Reused     int // already in the pool
	Bytes      int64
	Failed     []error
	Published  []string // targets published to
	// DryRun lists: hrefs that would be fetched, and hrefs that would
	// leave the repository.
	WouldFetch  []string
	WouldRemove []string
}

// Syncer syncs repositories. It is safe to sync different repositories
// concurrently; one repository must not be synced by two calls at once
// (its tree is locked by createrepo and its targets by publish).
type Syncer struct {
	opt     Options
	log     logrus.FieldLogger
	metrics Metrics
	mu      sync.Mutex // guards pools
	pools   map[string]*pool
}

// New returns a Syncer; metrics may be nil.
func New(opt Options, log logrus.FieldLogger, metrics Metrics) (*Syncer, error) {
	if opt.CacheDir == "" {
		return nil, fmt.Errorf("sync: no cache directory")
	}
	if opt.Parallelism <= 0 {
		opt.Parallelism = 8
	}
	if metrics == nil {
		metrics = nopMetrics{}
	}
	return &Syncer{opt: opt, log: log, metrics: metrics, pools: map[string]*pool{}}, nil
}

func (s *Syncer) pool(parse rpmfile.Options) (*pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := fmt.Sprintf("%s-%d", parse.ChecksumType, parse.ChangelogLimit)
	if p, ok := s.pools[key]; ok {
		return p, nil
	}
	p, err := newPool(filepath.Join(s.opt.CacheDir, "pool"), parse)
	if err != nil {
		return nil, err
	}
	s.pools[key] = p
	return p, nil
}

// state is what the last run of a repository left in
// CacheDir/repos/<name>/state.json.
type state struct {
	Fingerprints map[string]string `json:"fingerprints"`
	ConfigDigest string            `json:"config_digest"`
	// OK: the last run fetched everything and published to every target.
	OK           bool      `json:"ok"`
	Finished     time.Time `json:"finished"`
	LastSelected int       `json:"last_selected"`
}

func (s *Syncer) repoDir(name string) string { return filepath.Join(s.opt.CacheDir, "repos", name) }

func (s *Syncer) loadState(name string) *state {
	st := &state{Fingerprints: map[string]string{}}
	if b, err := os.ReadFile(filepath.Join(s.repoDir(name), "state.json")); err == nil {
		if json.Unmarshal(b, st) != nil {
			s.log.WithField("repo", name).Warn("state.json unreadable; starting afresh")
			st = &state{Fingerprints: map[string]string{}}
		}
	}
	return st
}

func (s *Syncer) saveState(name string, st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.repoDir(name), "state.json"), b)
}

// lockRepo takes an flock on the repository's directory in the cache,
// which dies with its process: a crashed run never blocks the next.
func (s *Syncer) lockRepo(name string) (func(), error) {
	dir := s.repoDir(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (%s)", ErrBusy, name, strings.TrimSpace(string(holder)))
		}
		return nil, err
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	return func() { unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// Sync syncs one repository.
func (s *Syncer) Sync(ctx context.Context, r *Repo) (res *Result, err error) {
	start := time.Now()
	log := s.log.WithField("repo", r.Name)
	res = &Result{Repo: r.Name}
	defer func() {
		if !s.opt.DryRun {
			s.metrics.SyncFinished(r.Name, time.Since(start), err)
		}
	}()
	if err := validName(r.Name); err != nil {
		return res, err
	}
	if err := checkMode(r); err != nil {
		return res, err
	}
	unlock, err := s.lockRepo(r.Name)
	if err != nil {
		return res, err
	}
	defer unlock()
	st := s.loadState(r.Name)

	fps := map[string]string{}
	for _, ns := range r.Sources {
		fp, err := ns.Source.Fingerprint(ctx)
		if err != nil {
			return res, fmt.Errorf("source %s: %w", ns.Name, err)
		}
		fps[ns.Name] = fp
	}
	if !s.opt.Force && st.OK && st.ConfigDigest == r.ConfigDigest && equalMaps(fps, st.Fingerprints) {
		log.Info("no source changed since the last successful run")
		res.Unchanged = true
		return res, nil
	}

	cands, err := s.list(ctx, r, log)
	if err != nil {
		return res, err
	}
	res.Candidates = len(cands)
	cands = apply(&r.Filter, cands, func(c *srcCandidate) *source.Candidate { return &c.Candidate })
	var vb *verbatim
	if r.Mode == ModeVerbatim {
		if vb, cands, err = s.prepareVerbatim(ctx, r, cands, res, log); err != nil {
			return res, err
		}
	}
	res.Selected = len(cands)
	if len(cands) == 0 && st.LastSelected > 0 && !s.opt.Force {
		// An unmounted NFS export is an empty directory, a broken
		// upstream an empty primary: never publish that over a
		// repository that had packages without being told to.
		return res, fmt.Errorf("sync: the sources offer no packages now (%d last time); refusing to publish an empty repository without --force", st.LastSelected)
	}
	complete := true
	for _, ns := range r.Sources {
		if inc, ok := ns.Source.(source.Incompleter); ok && inc.Incomplete() {
			log.WithField("source", ns.Name).Warn("source listing is incomplete; the next run will list it again")
			complete = false
		}
	}

	parse := rpmfile.Options{ChecksumType: r.Metadata.ChecksumType, ChangelogLimit: r.Metadata.ChangelogLimit}
	if parse.ChecksumType == "" {
		parse.ChecksumType = "sha256"
	}
	pl, err := s.pool(parse)
	if err != nil {
		return res, err
	}
	cat, err := openCatalog(s.repoDir(r.Name), pl.metaKey, s.opt.DryRun)
	if err != nil {
		return res, err
	}
	defer cat.close()
	if s.opt.DryRun {
		return s.dryRun(r, cands, pl, cat, res)
	}

	tree := filepath.Join(s.repoDir(r.Name), "tree")
	var stage *recordStage
	if vb != nil {
		// The upstream's metadata files come while the packages do.
		stage = vb.startStaging(ctx, filepath.Join(tree, "repodata"))
		defer stage.discard()
	}
	tFetch := time.Now()
	pkgs, err := s.fetchAll(ctx, r, cands, pl, cat, res, log)
	if err != nil {
		return res, err
	}
	log.WithFields(logrus.Fields{"fetched": res.Fetched, "reused": res.Reused, "failed": len(res.Failed),
		"bytes": res.Bytes, "seconds": time.Since(tFetch).Seconds()}).Info("packages in the pool")
	entries := make([]catalogEntry, len(pkgs))
	for i, p := range pkgs {
		entries[i] = catalogEntry{Sum: p.sum, ID: p.id, Pkg: p.pkg}
	}
	if err := cat.commit(entries); err != nil {
		return res, err
	}
	var known *publish.KnownPrimary
	if vb != nil {
		known, err = vb.buildTree(ctx, tree, pkgs, pl, res, stage, log)
	} else {
		known, err = s.regenerate(ctx, r, tree, pkgs, pl, log)
	}
	if err != nil {
		return res, err
	}
	published := true
	// The tree is hard links into the pool and createrepo's output,
	// neither ever rewritten in place: a target directory on the same
	// file system takes them as links.
	po := r.Publish
	po.Link = true
	po.Primary = known
	for _, t := range r.Targets {
		pres, err := publish.Publish(ctx, tree, t.Backend, po, log.WithField("target", t.Name))
		if err != nil {
			published = false
			res.Failed = append(res.Failed, fmt.Errorf("publish to %s: %w", t.Name, err))
			continue
		}
		res.Published = append(res.Published, t.Name)
		log.WithFields(logrus.Fields{"target": t.Name, "uploaded": pres.Uploaded, "linked": pres.Linked}).Info("published")
	}

	st.Fingerprints = fps
	st.ConfigDigest = r.ConfigDigest
	st.OK = len(res.Failed) == 0 && published && complete
	st.LastSelected = res.Selected
	st.Finished = time.Now().UTC()
	if err := s.saveState(r.Name, st); err != nil {
		return res, err
	}
	if len(res.Failed) > 0 {
		return res, fmt.Errorf("%w: %d problems in %s", ErrPartial, len(res.Failed), r.Name)
	}
	return res, nil
}

// list collects the candidates of every source. When two sources offer
// the same href, the first source listed in the configuration wins.
func (s *Syncer) list(ctx context.Context, r *Repo, log logrus.FieldLogger) ([]srcCandidate, error) {
	var out []srcCandidate
	seen := map[string]int{}
	for i, ns := range r.Sources {
		cs, err := ns.Source.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", ns.Name, err)
		}
		for _, c := range cs {
			if err := repodata.CheckHref(c.Href); err != nil {
				return nil, fmt.Errorf("source %s: %w", ns.Name, err)
			}
			if j, dup := seen[c.Href]; dup {
				if out[j].src != i {
					log.WithFields(logrus.Fields{"pkg": c.Href, "source": ns.Name}).Warn("href offered by an earlier source too; keeping that one")
				}
				continue
			}
			seen[c.Href] = len(out)
			out = append(out, srcCandidate{Candidate: c, src: i})
		}
	}
	return out, nil
}

// srcCandidate is a candidate and the index of its source.
type srcCandidate struct {
	source.Candidate
	src int
}

// identity is how a candidate without a sha256 is recognised in later
// runs.
func identity(c *source.Candidate) string {
	if c.Checksum.Value != "" {
		return c.Checksum.Type + ":" + strings.ToLower(c.Checksum.Value)
	}
	return fmt.Sprintf("origin:%s|%d|%s|%d|%s", c.Origin, c.Size, c.NEVRA(), c.BuildTime, c.Token)
}

// idOf is the identity under which the catalog remembers a candidate
// without a sha256 checksum, "" for one with.
func idOf(c *source.Candidate) string {
	if c.Checksum.Type == "sha256" {
		return ""
	}
	return identity(c)
}

// known returns the sha256 of a candidate's content if it can be known
// without fetching it, or "".
func known(c *source.Candidate, cat *catalog) string {
	if c.Checksum.Type == "sha256" {
		return strings.ToLower(c.Checksum.Value)
	}
	return cat.sum(identity(c))
}

// pooledPackage returns the metadata of a pooled package, from the
// catalog or else parsed again from the pool (and then recorded), or
// nil when the pool does not have it.
func pooledPackage(sum string, pl *pool, cat *catalog) *repodata.Package {
	if !pl.has(sum) {
		return nil
	}
	if pkg := cat.pkg(sum); pkg != nil {
		return pkg
	}
	pkg := pl.reparse(sum)
	if pkg != nil {
		cat.record(sum, "", pkg) // best effort: the next run parses again
	}
	return pkg
}

func (s *Syncer) dryRun(r *Repo, cands []srcCandidate, pl *pool, cat *catalog, res *Result) (*Result, error) {
	keep := map[string]bool{}
	for _, c := range cands {
		keep[c.Href] = true
		if sum := known(&c.Candidate, cat); sum == "" || !pl.has(sum) {
			res.WouldFetch = append(res.WouldFetch, c.Href)
		}
	}
	tree := filepath.Join(s.repoDir(r.Name), "tree")
	walkPackages(tree, func(href string) {
		if !keep[href] {
			res.WouldRemove = append(res.WouldRemove, href)
		}
	})
	sort.Strings(res.WouldFetch)
	sort.Strings(res.WouldRemove)
	return res, nil
}

// pooled is a selected package that is in the pool.
type pooled struct {
	href string
	sum  string
	id   string // the candidate's identity, when it has no sha256
	pkg  *repodata.Package
}

// fetchAll makes sure every candidate is in the pool, fetching with
// bounded parallelism. A package that fails is reported in res.Failed and
// left out; the others proceed.
func (s *Syncer) fetchAll(ctx context.Context, r *Repo, cands []srcCandidate, pl *pool, cat *catalog, res *Result, log logrus.FieldLogger) ([]pooled, error) {
	out := make([]pooled, len(cands))
	ok := make([]bool, len(cands))
	// First what the pool and the catalog have, which costs a stat
	// each; what is left is what the progress shows.
	var todo []int
	var todoBytes int64
	for i := range cands {
		c := &cands[i]
		if sum := known(&c.Candidate, cat); sum != "" && pl.has(sum) {
			if pkg := cat.pkg(sum); pkg != nil {
				out[i], ok[i] = pooled{c.Href, sum, idOf(&c.Candidate), pkg}, true
				res.Reused++
				continue
			}
		}
		todo = append(todo, i)
		todoBytes += max(c.Size, 0)
	}
	task := ProgressTask(nopTask{})
	if s.opt.Progress != nil && len(todo) > 0 {
		task = s.opt.Progress.Start(r.Name, len(todo), todoBytes)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opt.Parallelism)
	for _, i := range todo {
		c := &cands[i]
		g.Go(func() error {
			id := idOf(&c.Candidate)
			// Pooled but unknown to the catalog: parsed again, locally.
			if sum := known(&c.Candidate, cat); sum != "" {
				if pkg := pooledPackage(sum, pl, cat); pkg != nil {
					mu.Lock()
					res.Reused++
					mu.Unlock()
					task.Add(max(c.Size, 0))
					task.Done(true)
					out[i], ok[i] = pooled{c.Href, sum, id, pkg}, true
					return nil
				}
			}
			src := r.Sources[c.src]
			pkg, sum, err := pl.ingest(gctx, src.Source, &c.Candidate, task.Add, func(sum string, pkg *repodata.Package) error {
				return cat.record(sum, id, pkg)
			})
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				task.Done(false)
				s.metrics.PackageFailed(r.Name)
				log.WithFields(logrus.Fields{"pkg": c.Href, "source": src.Name, "error": err}).Error("package not mirrored")
				mu.Lock()
				res.Failed = append(res.Failed, fmt.Errorf("source %s: %w", src.Name, err))
				mu.Unlock()
				return nil
			}
			task.Done(true)
			s.metrics.PackageFetched(r.Name, int64(pkg.PackageSize))
			mu.Lock()
			res.Fetched++
			res.Bytes += int64(pkg.PackageSize)
			mu.Unlock()
			out[i], ok[i] = pooled{c.Href, sum, id, pkg}, true
			return nil
		})
	}
	err := g.Wait()
	task.Finish()
	if err != nil {
		return nil, err
	}
	var pkgs []pooled
	for i := range out {
		if ok[i] {
			pkgs = append(pkgs, out[i])
		}
	}
	sort.Slice(res.Failed, func(i, j int) bool { return res.Failed[i].Error() < res.Failed[j].Error() })
	return pkgs, nil
}

// buildTree makes the local repository tree: every package hard-linked
// from the pool at its href, nothing else outside repodata/, and
// metadata written from the parses taken at fetch time.
//
// It returns the package list of the primary it wrote, which spares
// publish parsing it again.
func (s *Syncer) buildTree(ctx context.Context, r *Repo, tree string, pkgs []pooled, pl *pool, additional []createrepo.AdditionalFile, log logrus.FieldLogger) (*publish.KnownPrimary, error) {
	if err := os.MkdirAll(tree, 0o755); err != nil {
		return nil, err
	}
	want, err := linkPackages(tree, pkgs, pl)
	if err != nil {
		return nil, err
	}
	sort.Slice(pkgs, func(i, j int) bool { return createrepo.HrefLess(pkgs[i].href, pkgs[j].href) })
	o := r.Metadata
	o.OutputDir = tree
	o.InputDir = tree
	o.Additional = append(o.Additional, additional...)
	// The sources' records are all in Additional: one that upstream
	// dropped (an updateinfo withdrawn) must leave with it, not be
	// carried from the tree's previous metadata.
	o.KeepAllMetadata = false
	if o.Now == nil {
		o.Now = time.Now
	}
	i := 0
	known := &publish.KnownPrimary{Packages: make([]publish.KnownPackage, 0, len(pkgs))}
	res, err := createrepo.WriteEntries(ctx, o, len(pkgs), func() (*createrepo.Entry, error) {
		if i == len(pkgs) {
			return nil, io.EOF
		}
		p := pkgs[i]
		i++
		pkg := *p.pkg
		pkg.LocationHref = p.href
		pkg.LocationBase = ""
		known.Packages = append(known.Packages, publish.KnownPackage{Href: p.href, Size: int64(pkg.PackageSize), Checksum: pkg.Checksum})
		return createrepo.NewEntry(&pkg), nil
	}, log)
	if err != nil {
		return nil, err
	}
	if rec := res.Repomd.Record("primary"); rec != nil && res.Packages == len(known.Packages) && res.Dropped == 0 && len(res.Failed) == 0 {
		known.Checksum = rec.Checksum
	} else {
		known = nil // what was written is not exactly the list: publish parses it
	}
	// Packages that left the repository go only after the new metadata
	// no longer names them.
	removeStale(tree, want)
	// A key an upstream published beside its signature (verbatim mode,
	// before a switch) has nothing to do with regenerated metadata;
	// createrepo removed the signature already.
	if err := os.Remove(filepath.Join(tree, "repodata", "repomd.xml.key")); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.WithError(err).Warn("cannot remove the upstream's repomd.xml.key")
	}
	return known, nil
}

// linkPackages hard-links every package from the pool into the tree at
// its href and returns the set of hrefs.
func linkPackages(tree string, pkgs []pooled, pl *pool) (map[string]bool, error) {
	want := make(map[string]bool, len(pkgs))
	for _, p := range pkgs {
		want[p.href] = true
		if err := linkInto(pl.path(p.sum), filepath.Join(tree, filepath.FromSlash(p.href))); err != nil {
			return nil, fmt.Errorf("tree: %w", err)
		}
	}
	return want, nil
}

// removeStale removes the tree's packages outside want; callers do it
// only once the tree's metadata no longer names them.
func removeStale(tree string, want map[string]bool) {
	var stale []string
	walkPackages(tree, func(href string) {
		if !want[href] {
			stale = append(stale, href)
		}
	})
	for _, href := range stale {
		os.Remove(filepath.Join(tree, filepath.FromSlash(href)))
	}
}

// regenerate writes the tree of a regenerate run, with the sources'
// additional records.
func (s *Syncer) regenerate(ctx context.Context, r *Repo, tree string, pkgs []pooled, pl *pool, log logrus.FieldLogger) (*publish.KnownPrimary, error) {
	additional, err := s.fetchAdditional(ctx, r, log)
	if err != nil {
		return nil, err
	}
	return s.buildTree(ctx, r, tree, pkgs, pl, additional, log)
}

// fetchAdditional fetches the sources' comps, updateinfo, modules and
// other additional records, verified against their checksums, into the
// repository's cache; when two sources have a record of the same type,
// the first wins. A record already fetched with the same checksum is not
// fetched again.
func (s *Syncer) fetchAdditional(ctx context.Context, r *Repo, log logrus.FieldLogger) ([]createrepo.AdditionalFile, error) {
	dir := filepath.Join(s.repoDir(r.Name), "additional")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []createrepo.AdditionalFile
	seen := map[string]bool{}
	for _, ns := range r.Sources {
		am, ok := ns.Source.(source.AdditionalMetadata)
		if !ok {
			continue
		}
		recs, err := am.Additional(ctx)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", ns.Name, err)
		}
		for i := range recs {
			rec := &recs[i]
			if seen[rec.Type] {
				log.WithFields(logrus.Fields{"source": ns.Name, "type": rec.Type}).Warn("additional metadata also offered by an earlier source; keeping that one")
				continue
			}
			seen[rec.Type] = true
			base := path.Base(rec.Href)
			if base == "." || base == "/" || strings.HasPrefix(base, ".") {
				return nil, fmt.Errorf("source %s: record %s: bad file name %q", ns.Name, rec.Type, rec.Href)
			}
			// One directory per type keeps the upstream name, whose
			// checksum prefix createrepo replaces with the new one.
			if err := os.MkdirAll(filepath.Join(dir, rec.Type), 0o755); err != nil {
				return nil, err
			}
			dst := filepath.Join(dir, rec.Type, base)
			if !fileHasChecksum(dst, rec.Checksum) {
				if err := writeFileAtomicFunc(dst, func(w io.Writer) error { return am.FetchAdditional(ctx, rec, w) }); err != nil {
					return nil, fmt.Errorf("source %s: record %s: %w", ns.Name, rec.Type, err)
				}
			}
			af := createrepo.AdditionalFile{Type: rec.Type, Path: dst}
			if rec.OpenSize >= 0 {
				// A bomb is stopped at the size upstream declared.
				af.MaxOpenSize = max(rec.OpenSize, 1)
			}
			out = append(out, af)
		}
	}
	return out, nil
}

func fileHasChecksum(p string, c repodata.Checksum) bool {
	h, err := repodata.NewHash(c.Type)
	if err != nil {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return false
	}
	return strings.EqualFold(hex.EncodeToString(h.Sum(nil)), c.Value)
}

// linkInto hard-links src to dst, replacing whatever dst was, atomically.
func linkInto(src, dst string) error {
	if a, err := os.Stat(src); err == nil {
		if b, err := os.Stat(dst); err == nil && os.SameFile(a, b) {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := dst + ".rpmirror-link"
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// walkPackages calls fn with the href of every file in the tree outside
// repodata/ and outside hidden files.
func walkPackages(tree string, fn func(href string)) {
	filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(tree, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "repodata" || (strings.HasPrefix(d.Name(), ".") && rel != ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		fn(rel)
		return nil
	})
}

func validName(name string) error {
	if name == "" || strings.ContainsAny(name, "/\\\x00") || name == "." || name == ".." {
		return fmt.Errorf("sync: invalid repository name %q", name)
	}
	return nil
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Digest returns a stable digest of a configuration value, for
// Repo.ConfigDigest.
func Digest(v any) string {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

type nopTask struct{}

func (nopTask) Add(int64) {}
func (nopTask) Done(bool) {}
func (nopTask) Finish()   {}

type nopMetrics struct{}

func (nopMetrics) PackageFetched(string, int64)              {}
func (nopMetrics) PackageFailed(string)                      {}
func (nopMetrics) SyncFinished(string, time.Duration, error) {}
