package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/storage/target"
)

type publishFlags struct {
	parallel            int
	gracePeriod         time.Duration
	packageCacheControl string
	wait                time.Duration
	lockTTL             time.Duration
	dryRun              bool
	quiet, verbose      bool
}

func newPublishCmd(g *globals) *cobra.Command {
	f := &publishFlags{}
	def := publish.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "publish [flags] SRC TARGET",
		Short: "Publish a local repository to a directory or an S3 bucket, safely for clients",
		Long: `Publish the repository in the directory SRC (with repodata/repomd.xml, as
createrepo writes it) to TARGET, in an order no dnf client can catch
half-way: the packages the target lacks, then the metadata files, then
repomd.xml.asc and repomd.xml.key, then repodata/repomd.xml, the single
switch. Files the new repomd.xml no longer names are kept for
--grace-period (clients that read the old repomd.xml still fetch them) and
deleted by a later publish. An unchanged SRC uploads nothing and leaves
repomd.xml as it was. Every file is checked against the checksum the
metadata gives while it is uploaded; a mismatch stops the publish before
the switch.

TARGET is a directory, file:///DIR, s3://BUCKET[/PREFIX][?endpoint=HOST:PORT
&region=R&path-style=1&tls=0], or the name of a [target.NAME] table of the
configuration. S3 credentials come from the configuration or from
AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never from TARGET.

Publishers of one target exclude each other with a lock object
(.rpmirror/lock); one that finds it taken waits up to --wait, then exits
with code 75 naming the holder. What the target holds is remembered in
.rpmirror/state.json.

Exit codes: 0 published, or already up to date; 1 failure (the target still
serves the previous publication unless the log says the new one is live);
64 usage error; 75 TARGET locked by another publisher.

Examples:
  rpmirror publish /srv/build/el9 /srv/www/repos/el9
  rpmirror publish --wait 10m /srv/build/el9 's3://repos/el9?endpoint=s3.example.net'
  rpmirror publish --dry-run -v /srv/build/el9 /srv/www/repos/el9`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd, g, f, args[0], args[1])
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.IntVar(&f.parallel, "parallel", def.Parallelism, "uploads (and deletions) in flight")
	fl.DurationVar(&f.gracePeriod, "grace-period", def.GracePeriod, "keep files the new publication no longer names this long before deleting them")
	fl.StringVar(&f.packageCacheControl, "package-cache-control", def.PackageCacheControl, "Cache-Control of packages (metadata files get theirs by rule)")
	fl.DurationVar(&f.wait, "wait", 0, "wait this long for another publisher's lock on TARGET (0: fail at once)")
	fl.DurationVar(&f.lockTTL, "lock-ttl", def.LockTTL, "how long the lock of a publisher that died blocks others")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "show what would be uploaded and deleted; change nothing")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "log errors only")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log every object")
	fl.Lookup("lock-ttl").Hidden = true
	return cmd
}

func runPublish(cmd *cobra.Command, g *globals, f *publishFlags, src, spec string) error {
	c, err := g.config(cmd)
	if err != nil {
		return err
	}
	f.applyConfig(cmd, c)
	log, err := g.logger(f.quiet, f.verbose)
	if err != nil {
		return err
	}
	opt := publish.DefaultOptions()
	opt.Parallelism = f.parallel
	opt.GracePeriod = f.gracePeriod
	opt.PackageCacheControl = f.packageCacheControl
	opt.LockWait = f.wait
	opt.LockTTL = f.lockTTL
	opt.DryRun = f.dryRun
	switch {
	case opt.Parallelism < 1:
		return withCode(ExitUsage, errors.New("--parallel must be at least 1"))
	case opt.GracePeriod < 0, opt.LockWait < 0:
		return withCode(ExitUsage, errors.New("--grace-period and --wait cannot be negative"))
	case opt.LockTTL < 4*time.Second:
		return withCode(ExitUsage, errors.New("--lock-ttl must be at least 4s"))
	case !headerValue(opt.PackageCacheControl):
		return withCode(ExitUsage, fmt.Errorf("--package-cache-control %q is not a header value", opt.PackageCacheControl))
	}
	if fi, err := os.Stat(filepath.Join(src, "repodata", "repomd.xml")); err != nil || !fi.Mode().IsRegular() {
		return withCode(ExitUsage, fmt.Errorf("%s is not a repository: no repodata/repomd.xml (run rpmirror createrepo on it first)", src))
	}

	tcfg := c.targetConfig(log)
	loc, err := target.Parse(spec, tcfg)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	switch loc.Kind {
	case target.HTTP:
		return withCode(ExitUsage, fmt.Errorf("target %s is read-only over HTTP: publish to the directory or bucket behind it", loc))
	case target.FS:
		if same, err := sameOrInside(loc.Path, src); err == nil && same {
			return withCode(ExitUsage, fmt.Errorf("target %s is the source directory or inside it: publish to another directory", loc.Path))
		}
	}
	where := loc.String()
	if opt.DryRun && loc.Kind == target.FS {
		// A dry run creates nothing, not even the directory: a missing one
		// is shown as an empty one.
		if _, err := os.Stat(loc.Path); errors.Is(err, os.ErrNotExist) {
			empty, err := os.MkdirTemp("", "rpmirror-dry-run-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(empty)
			log.WithField("target", where).Info("dry run: the target directory does not exist yet")
			loc.Path = empty
		}
	}
	dst, err := target.OpenLocation(cmd.Context(), loc, tcfg)
	if err != nil {
		return err
	}
	plog := log.WithField("target", where)
	start := time.Now()
	res, err := publish.Publish(cmd.Context(), src, dst, opt, plog)
	if res != nil {
		logPublishSummary(plog, res, time.Since(start), err)
	}
	if errors.Is(err, publish.ErrLocked) {
		return withCode(ExitLocked, err)
	}
	return err
}

// sameOrInside reports whether dir is src or a directory inside it.
func sameOrInside(dir, src string) (bool, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return false, err
	}
	s, err := filepath.Abs(src)
	if err != nil {
		return false, err
	}
	if r, err := filepath.EvalSymlinks(s); err == nil {
		s = r
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	rel, err := filepath.Rel(s, d)
	if err != nil {
		return false, err
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))), nil
}

func logPublishSummary(log logrus.FieldLogger, res *publish.Result, d time.Duration, err error) {
	fields := logrus.Fields{
		"packages": res.Packages, "objects": res.Objects, "uploaded": res.Uploaded, "bytes_uploaded": res.BytesUploaded,
		"skipped": res.Skipped, "superseded": res.Superseded, "orphans": res.Orphans, "retained": res.Retained,
		"deleted": res.Deleted, "repomd_changed": res.RepomdChanged, "revision": res.Revision,
		"seconds": d.Round(time.Millisecond).Seconds(),
	}
	if res.External > 0 {
		fields["external"] = res.External
	}
	switch {
	case err != nil && res.RepomdChanged:
		log.WithFields(fields).Error("published, but not finished (see the error); the next publish completes it")
	case err != nil:
		return
	case res.DryRun:
		log.WithFields(fields).Info("dry run: nothing changed")
	case !res.RepomdChanged && res.Uploaded == 0:
		log.WithFields(fields).Info("target already up to date; repomd.xml left as it was")
	default:
		log.WithFields(fields).Info("published")
	}
}

// applyConfig takes the [publish] values of the configuration file for
// the flags not given on the command line.
func (f *publishFlags) applyConfig(cmd *cobra.Command, c *fileConfig) {
	fl := cmd.Flags()
	p := c.Publish
	if p.Parallel != nil && !fl.Changed("parallel") {
		f.parallel = *p.Parallel
	}
	if p.GracePeriod != nil && !fl.Changed("grace-period") {
		f.gracePeriod = p.GracePeriod.d
	}
	if p.PackageCacheControl != nil && !fl.Changed("package-cache-control") {
		f.packageCacheControl = *p.PackageCacheControl
	}
	if p.Wait != nil && !fl.Changed("wait") {
		f.wait = p.Wait.d
	}
	if p.LockTTL != nil && !fl.Changed("lock-ttl") {
		f.lockTTL = p.LockTTL.d
	}
}
