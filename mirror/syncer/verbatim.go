package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

// Mode is how a repository's metadata is made.
type Mode string

const (
	// ModeRegenerate (the default, also "") writes new metadata for the
	// packages the filters keep, from the parses taken while fetching.
	ModeRegenerate Mode = "regenerate"
	// ModeVerbatim publishes the upstream's repodata/ byte for byte:
	// every file its repomd.xml names, repomd.xml itself and
	// repomd.xml.asc, with every package its primary lists. It needs
	// exactly one source implementing source.Verbatim and the zero
	// Filter, since metadata copied as it is cannot leave anything out.
	ModeVerbatim Mode = "verbatim"
)

// verbatimStage prefixes the record files a verbatim run fetches into
// repodata/ before it switches to them; a crashed run's are removed by
// the next successful one with every other file repomd.xml does not name.
const verbatimStage = ".rpmirror-verbatim-"

// checkMode checks that the repository can be synced in its mode.
func checkMode(r *Repo) error {
	switch r.Mode {
	case "", ModeRegenerate:
		return nil
	case ModeVerbatim:
	default:
		return fmt.Errorf("sync %s: unknown mode %q", r.Name, r.Mode)
	}
	if len(r.Sources) != 1 {
		return fmt.Errorf("sync %s: mode verbatim needs exactly one source, not %d", r.Name, len(r.Sources))
	}
	if _, ok := r.Sources[0].Source.(source.Verbatim); !ok {
		return fmt.Errorf("sync %s: mode verbatim: source %s cannot be mirrored byte for byte (only an upstream repository can)", r.Name, r.Sources[0].Name)
	}
	if !r.Filter.IsZero() {
		return fmt.Errorf("sync %s: mode verbatim copies the upstream's metadata as it is, so it cannot filter packages", r.Name)
	}
	return nil
}

// verbatim is what a verbatim run publishes besides the packages.
type verbatim struct {
	source string
	up     *source.Upstream
	// cands are the packages mirrored, in the upstream primary's order;
	// external counts those left to their xml:base.
	cands    []srcCandidate
	external int
	// records are those whose files go into repodata/: every record but
	// those with an xml:base, which clients fetch from there.
	records []*repodata.Record
}

// prepareVerbatim takes the upstream's metadata for the state that cands
// were listed from, checks that it can be published as it is, and
// returns the candidates to mirror: those without an xml:base (the
// others are fetched by clients from there, and publish skips them). In a
// dry run it adds the record files that would be fetched and the
// repodata/ files that would go to res.
func (s *Syncer) prepareVerbatim(ctx context.Context, r *Repo, cands []srcCandidate, res *Result, log logrus.FieldLogger) (*verbatim, []srcCandidate, error) {
	ns := r.Sources[0]
	up, err := ns.Source.(source.Verbatim).Upstream(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("source %s: %w", ns.Name, err)
	}
	if up.Repomd == nil || len(up.RepomdXML) == 0 {
		return nil, nil, fmt.Errorf("source %s: no repomd.xml", ns.Name)
	}
	v := &verbatim{source: ns.Name, up: up}
	names := map[string]string{}
	for i := range up.Repomd.Records {
		rec := &up.Repomd.Records[i]
		if rec.Base != "" {
			if rec.Type == "primary" {
				// publish reads the packages' list from the primary
				// file in the tree, which this one is not.
				return nil, nil, fmt.Errorf("source %s: repomd.xml: the primary record has xml:base %q; mode verbatim cannot publish it", ns.Name, rec.Base)
			}
			log.WithFields(logrus.Fields{"source": ns.Name, "type": rec.Type, "base": rec.Base}).Warn("record has an xml:base: clients fetch it from there; not mirrored")
			continue
		}
		name, err := recordName(rec)
		if err != nil {
			return nil, nil, fmt.Errorf("source %s: repomd.xml: %w", ns.Name, err)
		}
		if prev, dup := names[name]; dup {
			return nil, nil, fmt.Errorf("source %s: repomd.xml: records %s and %s name the same file %s", ns.Name, prev, rec.Type, rec.Href)
		}
		names[name] = rec.Type
		v.records = append(v.records, rec)
	}

	var out []srcCandidate
	external := 0
	for _, c := range cands {
		if c.Package != nil && c.Package.LocationBase != "" {
			external++
			continue
		}
		if strings.HasPrefix(c.Href, "repodata/") {
			return nil, nil, fmt.Errorf("source %s: package %s: href inside repodata/, which mode verbatim keeps for the metadata files", ns.Name, c.Href)
		}
		out = append(out, c)
	}
	if external > 0 {
		log.WithFields(logrus.Fields{"source": ns.Name, "packages": external}).Info("packages with an xml:base are fetched by clients from there; not mirrored")
	}
	v.cands, v.external = out, external

	if s.opt.DryRun {
		dir := filepath.Join(s.repoDir(r.Name), "tree", "repodata")
		for _, rec := range v.records {
			if !hasRecordFile(dir, rec) {
				res.WouldFetch = append(res.WouldFetch, rec.Href)
			}
		}
		for _, name := range v.strays(dir) {
			res.WouldRemove = append(res.WouldRemove, "repodata/"+name)
		}
	}
	return v, out, nil
}

// recordName returns the file name of a record that lives directly in
// repodata/, the only place a verbatim tree holds metadata.
func recordName(rec *repodata.Record) (string, error) {
	if err := repodata.CheckHref(rec.Href); err != nil {
		return "", fmt.Errorf("record %s: %w", rec.Type, err)
	}
	name, ok := strings.CutPrefix(rec.Href, "repodata/")
	switch {
	case !ok || name == "" || strings.Contains(name, "/"):
		return "", fmt.Errorf("record %s: href %q is not a file directly in repodata/", rec.Type, rec.Href)
	case strings.HasPrefix(name, "."):
		return "", fmt.Errorf("record %s: href %q names a hidden file", rec.Type, rec.Href)
	case name == "repomd.xml" || name == "repomd.xml.asc" || name == "repomd.xml.key":
		return "", fmt.Errorf("record %s: href %q names repomd.xml or its signature", rec.Type, rec.Href)
	}
	return name, nil
}

// hasRecordFile reports whether dir holds rec's file with its size and
// checksum, fetched by an earlier run.
func hasRecordFile(dir string, rec *repodata.Record) bool {
	p := filepath.Join(dir, filepath.Base(rec.Href))
	if rec.Size > 0 {
		if fi, err := os.Stat(p); err != nil || fi.Size() != rec.Size {
			return false
		}
	}
	return fileHasChecksum(p, rec.Checksum)
}

// strays returns the names of the entries of dir (repodata/) that the
// new repomd.xml does not name: superseded records, a signature the
// upstream no longer has, what regenerate mode or a crashed run left.
func (v *verbatim) strays(dir string) []string {
	keep := map[string]bool{"repomd.xml": true}
	if v.up.RepomdAsc != nil {
		keep["repomd.xml.asc"] = true
	}
	if v.up.RepomdKey != nil {
		keep["repomd.xml.key"] = true
	}
	for _, rec := range v.records {
		keep[filepath.Base(rec.Href)] = true
	}
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if !keep[e.Name()] && !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// buildTree makes the local tree of a verbatim run: every package
// hard-linked from the pool at its href, the record files fetched (those
// the tree has with the same checksum are kept), then repomd.xml.asc,
// repomd.xml.key and repomd.xml, renamed into place last; then the files the new
// repomd.xml does not name and the packages that left are removed.
//
// Metadata copied as it is names every package upstream lists, so a
// package that could not be mirrored fails the run before anything in
// the tree changes: publishing would expose a repomd.xml naming a
// missing file.
func (v *verbatim) buildTree(ctx context.Context, tree string, pkgs []pooled, pl *pool, res *Result, stage *recordStage, log logrus.FieldLogger) (*publish.KnownPrimary, error) {
	if len(res.Failed) > 0 {
		return nil, unmirrored(res.Failed)
	}
	dir := filepath.Join(tree, "repodata")
	want, err := linkPackages(tree, pkgs, pl)
	if err != nil {
		return nil, err
	}
	fetched, kept, err := stage.wait()
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", v.source, err)
	}
	for href, tmp := range stage.staged {
		if err := os.Rename(tmp, filepath.Join(dir, filepath.Base(href))); err != nil {
			return nil, fmt.Errorf("tree: %w", err)
		}
		delete(stage.staged, href)
	}

	for name, b := range map[string][]byte{"repomd.xml.asc": v.up.RepomdAsc, "repomd.xml.key": v.up.RepomdKey} {
		p := filepath.Join(dir, name)
		if b != nil {
			if err := writeIfChanged(p, b); err != nil {
				return nil, fmt.Errorf("tree: %w", err)
			}
		} else if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("tree: %w", err)
		}
	}
	if err := writeIfChanged(filepath.Join(dir, "repomd.xml"), v.up.RepomdXML); err != nil {
		return nil, fmt.Errorf("tree: %w", err)
	}
	log.WithFields(logrus.Fields{"source": v.source, "records": len(v.records), "fetched": fetched, "kept": kept,
		"signed": v.up.RepomdAsc != nil, "key": v.up.RepomdKey != nil}).Info("upstream metadata copied")

	// What the new repomd.xml does not name goes only after it is in
	// place, as buildTree does for regenerated metadata.
	for _, name := range v.strays(dir) {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			log.WithError(err).WithField("file", name).Warn("cannot remove a file repomd.xml no longer names")
		}
	}
	removeStale(tree, want)
	return v.known(pkgs), nil
}

// known returns the package list of the upstream's primary, which the
// candidates are in document order, for publish not to parse it again;
// nil when some package has an xml:base (publish leaves those out, and
// counts them).
func (v *verbatim) known(pkgs []pooled) *publish.KnownPrimary {
	rec := v.up.Repomd.Record("primary")
	if rec == nil || v.external > 0 || len(pkgs) != len(v.cands) {
		return nil
	}
	k := &publish.KnownPrimary{Checksum: rec.Checksum, Packages: make([]publish.KnownPackage, len(v.cands))}
	for i, c := range v.cands {
		if c.Package == nil || c.Package.PackageSize == 0 {
			return nil // publish's own reading handles what this cannot
		}
		k.Packages[i] = publish.KnownPackage{Href: c.Href, Size: int64(c.Package.PackageSize), Checksum: c.Package.Checksum}
	}
	return k
}

// recordStage fetches the record files a verbatim run lacks into hidden
// names in repodata/, in parallel and while the packages are fetched.
type recordStage struct {
	done    chan struct{}
	staged  map[string]string // href -> staged file, once done
	fetched int
	kept    int
	err     error
}

// startStaging starts fetching the records dir does not hold yet.
//
// New files are staged under hidden names first: with simple (not
// checksum-named) upstream names, a new file would otherwise replace one
// the tree's current repomd.xml names before it is known that every
// other record can be fetched.
func (v *verbatim) startStaging(ctx context.Context, dir string) *recordStage {
	st := &recordStage{done: make(chan struct{}), staged: map[string]string{}}
	go func() {
		defer close(st.done)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			st.err = fmt.Errorf("tree: %w", err)
			return
		}
		var mu sync.Mutex
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for _, rec := range v.records {
			if hasRecordFile(dir, rec) {
				st.kept++
				continue
			}
			tmp := filepath.Join(dir, verbatimStage+filepath.Base(rec.Href))
			mu.Lock()
			st.staged[rec.Href] = tmp
			mu.Unlock()
			g.Go(func() error {
				// FetchRecord writes only bytes of the record's size
				// and checksum (source.Upstream's contract): they are
				// not hashed a second time here.
				if err := writeFileAtomicFunc(tmp, func(w io.Writer) error { return v.up.FetchRecord(gctx, rec, w) }); err != nil {
					return err
				}
				mu.Lock()
				st.fetched++
				mu.Unlock()
				return nil
			})
		}
		st.err = g.Wait()
	}()
	return st
}

// wait waits for the staging and returns its counts.
func (st *recordStage) wait() (fetched, kept int, err error) {
	<-st.done
	return st.fetched, st.kept, st.err
}

// discard waits for the staging and removes what was staged and not
// taken: a failed run leaves no hidden files behind.
func (st *recordStage) discard() {
	<-st.done
	for _, tmp := range st.staged {
		os.Remove(tmp)
	}
}

// unmirrored is the error of a verbatim run whose packages could not all
// be mirrored.
func unmirrored(failed []error) error {
	const show = 10
	var b strings.Builder
	for i, err := range failed {
		if i == show {
			fmt.Fprintf(&b, "; and %d more", len(failed)-show)
			break
		}
		b.WriteString("; ")
		b.WriteString(err.Error())
	}
	return fmt.Errorf("sync: mode verbatim: %d of the packages upstream's primary lists could not be mirrored, so its metadata is not published%s",
		len(failed), b.String())
}

// writeIfChanged writes data to path atomically unless path holds it
// already.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeFileAtomic(path, data)
}
