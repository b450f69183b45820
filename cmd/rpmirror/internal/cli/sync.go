package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/rpmirror/rpmirror/mirror/metrics"
	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/mirror/source/dir"
	"github.com/rpmirror/rpmirror/mirror/source/koji"
	"github.com/rpmirror/rpmirror/mirror/source/repo"
	"github.com/rpmirror/rpmirror/mirror/syncer"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
)

type syncFlags struct {
	dryRun         bool
	force          bool
	every          time.Duration
	metricsAddress string
	cacheDir       string
	parallel       int
	quiet, verbose bool
}

func newSyncCmd(g *globals) *cobra.Command {
	f := &syncFlags{}
	cmd := &cobra.Command{
		Use:   "sync [flags] [REPO...]",
		Short: "Mirror the configured repositories: fetch, verify, regenerate, publish",
		Long: `Sync every [[repo]] of the configuration (or only the named ones; shell
globs allowed): ask each source whether it changed since the last
successful run (one small request), list its packages, keep what the
filters select, fetch what the local pool lacks — every byte hashed as it
arrives and checked against the source's size and checksum, the RPM
header parsed from the same bytes — regenerate the metadata (mode
"verbatim": copy the upstream's byte for byte), and publish to the
repository's targets (packages, then metadata, then repomd.xml).

A package that fails is reported and left out; the rest is published and
the exit code is 2. In mode "verbatim" nothing can be left out: the
repository is not published and the exit code is 1. Interrupted downloads
resume where they stopped. On a terminal (without -q or --every) a
progress bar shows each repository's downloads. After the repositories,
pooled packages no repository has used for [sync] prune-after (72h) are
deleted (--dry-run prints them). Configuration problems are all reported
at once, each as FILE:LINE.

Examples:
  rpmirror sync --config /etc/rpmirror/config.toml
  rpmirror sync --config cfg.toml --dry-run 'hyperscale-*'
  rpmirror sync --config cfg.toml --every 15m --metrics-address 127.0.0.1:9464

Exit codes: 0 everything synced; 2 published with packages left out;
1 a repository failed; 64 usage or configuration error; 75 a target is
locked by another publisher. With --every, rpmirror runs until SIGTERM or
SIGINT and exits 0 after finishing cleanly.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSync(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.BoolVar(&f.dryRun, "dry-run", false, "list what would be fetched and removed; change nothing")
	fl.BoolVar(&f.force, "force", false, "sync even if no source reports a change")
	fl.DurationVar(&f.every, "every", 0, "run as a daemon: sync every DURATION (with jitter) until SIGTERM")
	fl.StringVar(&f.metricsAddress, "metrics-address", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9464)")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "package pool and state (default [sync] cache-dir, else ~/.cache/rpmirror/sync)")
	fl.IntVar(&f.parallel, "parallel", 8, "packages fetched at once")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "log errors only")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log debug detail")
	return cmd
}

func runSync(cmd *cobra.Command, g *globals, f *syncFlags, args []string) error {
	c, err := g.config(cmd)
	if err != nil {
		return err
	}
	log, err := g.logger(f.quiet, f.verbose)
	if err != nil {
		return err
	}
	if len(c.Repo) == 0 {
		return withCode(ExitUsage, errors.New("no [[repo]] in the configuration (see config.example.toml; pass it with --config)"))
	}
	fl := cmd.Flags()
	st := c.Sync
	if !fl.Changed("cache-dir") {
		f.cacheDir = st.CacheDir
	}
	if f.cacheDir == "" {
		home, _ := os.UserCacheDir()
		f.cacheDir = home + "/rpmirror/sync"
	}
	if !fl.Changed("parallel") && st.Parallel != nil {
		f.parallel = *st.Parallel
	}
	if !fl.Changed("every") && st.Every != nil {
		f.every = st.Every.d
	}
	if !fl.Changed("metrics-address") {
		f.metricsAddress = st.MetricsAddress
	}
	jitter := 0.1
	if st.Jitter != nil {
		jitter = *st.Jitter
	}

	var selected []expandedRepo
	for _, r := range c.repos {
		if len(args) == 0 || matchesAny(args, r.Name) {
			selected = append(selected, r)
		}
	}
	if len(selected) == 0 {
		return withCode(ExitUsage, fmt.Errorf("no configured repository matches %v", args))
	}

	m := metrics.New(func(err error) bool { return errors.Is(err, syncer.ErrPartial) })
	if f.metricsAddress != "" {
		ln, err := net.Listen("tcp", f.metricsAddress)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		srv := &http.Server{Handler: metricsMux(m), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		defer srv.Close()
		log.WithField("address", ln.Addr().String()).Info("serving metrics at /metrics")
	}
	so := syncer.Options{CacheDir: f.cacheDir, Parallelism: f.parallel, DryRun: f.dryRun, Force: f.force}
	if g.stderrIsTerminal() && !f.quiet && f.every <= 0 {
		// A daemon's output goes to a journal, not to a person.
		bars := newSyncBars(g.env.Stderr)
		log.SetOutput(bars)
		so.Progress = bars
	}
	s, err := syncer.New(so, log, m)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	pruneAfter := st.pruneAfter()
	once := func() error {
		err := syncAll(ctx, s, c, selected, f, log, g)
		if pruneAfter > 0 && ctx.Err() == nil {
			prunePool(ctx, s, pruneAfter, f.dryRun, log, g)
		}
		return err
	}
	if f.every <= 0 {
		return once()
	}
	for {
		if err := once(); err != nil {
			log.WithError(err).Error("sync run failed; retrying at the next interval")
		}
		wait := time.Duration(float64(f.every) * (1 + jitter*(2*rand.Float64()-1)))
		log.WithField("next", time.Now().Add(wait).Format(time.RFC3339)).Info("waiting for the next run")
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			return nil
		case <-time.After(wait):
		}
	}
}

// prunePool removes from the package pool what no repository uses any
// more (syncer.Prune). A failure is logged and does not change the
// run's exit code: every repository was synced.
func prunePool(ctx context.Context, s *syncer.Syncer, after time.Duration, dryRun bool, log logrus.FieldLogger, g *globals) {
	res, err := s.Prune(ctx, after)
	if dryRun {
		for _, rel := range res.Removed {
			fmt.Fprintf(g.env.Stdout, "pool: remove %s\n", rel)
		}
	}
	fields := logrus.Fields{"packages": res.Packages, "partial": res.Partial, "bytes": res.Bytes, "unused_for": after.String()}
	switch {
	case err != nil:
		log.WithFields(fields).WithError(err).Error("pool prune incomplete")
	case dryRun:
		log.WithFields(fields).Info("dry run: pool prune")
	case res.Packages+res.Partial > 0:
		log.WithFields(fields).Info("pool pruned")
	default:
		log.WithFields(fields).Debug("pool: nothing to prune")
	}
}

func metricsMux(m *metrics.Sync) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	return mux
}

// syncAll syncs the selected repositories one after the other and
// returns the worst outcome as an exit-coded error.
func syncAll(ctx context.Context, s *syncer.Syncer, c *fileConfig, repos []expandedRepo, f *syncFlags, log logrus.FieldLogger, g *globals) error {
	worst := ExitOK
	var firstErr error
	note := func(code int, err error) {
		if code > worst || (worst == ExitPartial && code == ExitFailure) {
			worst = code
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, er := range repos {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rlog := log.WithField("repo", er.Name)
		r, err := buildRepo(ctx, c, &er, f.dryRun, rlog)
		if err != nil {
			rlog.WithError(err).Error("cannot set up repository")
			note(ExitFailure, err)
			continue
		}
		res, err := s.Sync(ctx, r)
		fields := logrus.Fields{"candidates": res.Candidates, "selected": res.Selected, "fetched": res.Fetched,
			"reused": res.Reused, "bytes": res.Bytes, "failed": len(res.Failed)}
		switch {
		case f.dryRun:
			for _, h := range res.WouldFetch {
				fmt.Fprintf(g.env.Stdout, "%s: fetch %s\n", er.Name, h)
			}
			for _, h := range res.WouldRemove {
				fmt.Fprintf(g.env.Stdout, "%s: remove %s\n", er.Name, h)
			}
			rlog.WithFields(fields).WithField("would_fetch", len(res.WouldFetch)).Info("dry run")
		case errors.Is(err, syncer.ErrPartial):
			for _, e := range res.Failed {
				fmt.Fprintf(g.env.Stderr, "  %s: %v\n", er.Name, e)
			}
			rlog.WithFields(fields).Warn("synced with packages left out")
			note(ExitPartial, err)
		case errors.Is(err, publish.ErrLocked), errors.Is(err, syncer.ErrBusy), errors.Is(err, createrepo.ErrLocked):
			rlog.WithError(err).Error("target locked")
			note(ExitLocked, err)
		case err != nil:
			rlog.WithError(err).Error("sync failed")
			note(ExitFailure, err)
		case res.Unchanged:
			rlog.Info("unchanged")
		default:
			rlog.WithFields(fields).Info("synced")
		}
	}
	if worst != ExitOK {
		return withCode(worst, firstErr)
	}
	return nil
}

// buildRepo turns an expanded [[repo]] entry into the syncer's Repo.
//
// A dry run opens no target: opening a directory target creates it, and
// a dry run changes nothing.
func buildRepo(ctx context.Context, c *fileConfig, er *expandedRepo, dryRun bool, log logrus.FieldLogger) (*syncer.Repo, error) {
	// The digest covers the mode: switching it rebuilds the tree even if
	// no source changed.
	r := &syncer.Repo{Name: er.Name, Mode: syncer.ModeRegenerate, Filter: er.filter(), ConfigDigest: syncer.Digest(er.repoTable)}
	if er.Mode == "verbatim" {
		r.Mode = syncer.ModeVerbatim
	}
	for i, st := range er.Source {
		name := st.Name
		if name == "" {
			name = fmt.Sprintf("%s%d", st.Type, i+1)
		}
		src, err := buildSource(st, log.WithField("source", name))
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", name, err)
		}
		r.Sources = append(r.Sources, syncer.NamedSource{Name: name, Source: src})
	}
	tc := c.targetConfig(log)
	for _, t := range er.Targets {
		if dryRun {
			r.Targets = append(r.Targets, syncer.Target{Name: t})
			continue
		}
		b, err := openTarget(ctx, t, tc)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t, err)
		}
		r.Targets = append(r.Targets, syncer.Target{Name: t, Backend: b})
	}
	md := createrepo.DefaultOptions("")
	if er.Checksum != "" {
		md.ChecksumType = er.Checksum
		if md.ChecksumType == "sha" { // old yum's name, as in createrepo
			md.ChecksumType = "sha1"
		}
	}
	if er.CompressType != "" {
		ct, err := compress.ParseType(er.CompressType)
		if err != nil {
			return nil, err
		}
		md.Compression = ct
	}
	if er.ChangelogLimit != nil {
		md.ChangelogLimit = *er.ChangelogLimit
	}
	if er.UniqueMDFilenames != nil {
		md.UniqueMDFilenames = *er.UniqueMDFilenames
	}
	r.Metadata = md
	po := publish.DefaultOptions()
	p := c.Publish
	if p.Parallel != nil {
		po.Parallelism = *p.Parallel
	}
	if p.GracePeriod != nil {
		po.GracePeriod = p.GracePeriod.d
	}
	if p.PackageCacheControl != nil {
		po.PackageCacheControl = *p.PackageCacheControl
	}
	if p.Wait != nil {
		po.LockWait = p.Wait.d
	}
	if p.LockTTL != nil {
		po.LockTTL = p.LockTTL.d
	}
	r.Publish = po
	return r, nil
}

func buildSource(st sourceTable, log logrus.FieldLogger) (source.Source, error) {
	switch st.Type {
	case "repo":
		cfg := repo.DefaultConfig()
		cfg.BaseURLs = st.BaseURL
		cfg.MirrorList = st.MirrorList
		cfg.Metalink = st.Metalink
		return repo.New(cfg, log)
	case "dir":
		return dir.New(dir.Config{Path: st.Path}, log)
	case "koji":
		cfg := koji.DefaultConfig()
		cfg.Hub, cfg.TopURL, cfg.Tag, cfg.SigKey = st.Hub, st.TopURL, st.Tag, st.SigKey
		cfg.Arches = st.Arches
		cfg.Inherit = st.Inherit
		return koji.New(cfg, log)
	}
	return nil, fmt.Errorf("unknown source type %q", st.Type)
}

func matchesAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok || g == name {
			return true
		}
	}
	return false
}
