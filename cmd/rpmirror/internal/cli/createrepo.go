package cli

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
)

type createrepoFlags struct {
	outputDir         string
	workers           int
	checksum          string
	compressType      string
	generalCompress   string
	changelogLimit    int
	compressThreads   int
	uniqueMDFilenames bool
	simpleMDFilenames bool
	revision          string
	setTimestampToRev bool
	distro            []string
	content           []string
	repo              []string
	excludes          []string
	pkglist           string
	baseURL           string
	locationPrefix    string
	duplicatedNEVRA   string
	keepAllMetadata   bool
	discardAdditional bool
	noDatabase        bool
	database          bool
	errorExitVal      bool
	quiet, verbose    bool
}

func newCreaterepoCmd(g *globals) *cobra.Command {
	f := &createrepoFlags{}
	def := createrepo.DefaultOptions("")
	cmd := &cobra.Command{
		Use:   "createrepo [flags] DIR",
		Short: "Build repodata/ for a directory of RPM packages (createrepo_c compatible)",
		Long: `Build rpm-md metadata (repodata/repomd.xml, primary, filelists, other) for
every *.rpm under DIR, with createrepo_c's semantics and flag names.

Every package is read once: hashed while its header is parsed, by --workers
workers in parallel, each hashing two packages at once where the CPU has
SHA extensions; the three metadata files are compressed concurrently.
The output directory always has a readable repodata/repomd.xml: new
checksum-named files are written first, repomd.xml is renamed into place
last, and files only the old repomd.xml named are removed afterwards. If
nothing changed, repomd.xml is left byte-for-byte as it was.

A package that cannot be read (truncated, not an RPM, malformed header,
control characters in its text) is reported with the reason and left out;
the metadata for the rest is written and the exit code is 2.

Examples:
  rpmirror createrepo /srv/repo/el9/x86_64
  rpmirror createrepo --workers 8 --general-compress-type zstd -o /srv/out /srv/in
  rpmirror createrepo --revision 1700000000 --set-timestamp-to-revision DIR   # reproducible`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCreaterepo(cmd, g, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVarP(&f.outputDir, "outputdir", "o", "", "write repodata/ here instead of into DIR")
	fl.IntVar(&f.workers, "workers", def.Workers, "threads reading packages; each reads two at once on CPUs with SHA extensions (default: number of CPUs)")
	fl.StringVarP(&f.checksum, "checksum", "s", def.ChecksumType, "checksum type for packages and metadata: sha1, sha224, sha256, sha384, sha512")
	fl.StringVar(&f.generalCompress, "general-compress-type", "", "compression of the metadata files: gz, zstd, xz, bz2 (default gz, readable by EL7 yum)")
	fl.StringVar(&f.compressType, "compress-type", "", "same as --general-compress-type (rpmirror writes no sqlite databases)")
	fl.IntVar(&f.compressThreads, "compress-threads", def.CompressThreads, "threads compressing each metadata file; above 1, gz is written in parallel blocks (more memory; worth it on many cores)")
	fl.IntVar(&f.changelogLimit, "changelog-limit", def.ChangelogLimit, "keep only the newest N changelog entries of each package (-1: all)")
	fl.BoolVar(&f.uniqueMDFilenames, "unique-md-filenames", true, "name metadata files by their checksum (default; safe for caches and clients)")
	fl.BoolVar(&f.simpleMDFilenames, "simple-md-filenames", false, "name metadata files primary.xml.gz etc. (the directory is swapped atomically)")
	fl.StringVar(&f.revision, "revision", "", "repomd.xml revision (default: the current Unix time, or the previous revision if nothing changed)")
	fl.BoolVar(&f.setTimestampToRev, "set-timestamp-to-revision", false, "use --revision (a Unix time) as every timestamp and file mtime, for reproducible output")
	fl.StringArrayVar(&f.distro, "distro", nil, "distro tag, 'CPEID,NAME' or 'NAME' (repeatable)")
	fl.StringArrayVar(&f.content, "content", nil, "content tag (repeatable)")
	fl.StringArrayVar(&f.repo, "repo", nil, "repo tag (repeatable)")
	fl.StringArrayVarP(&f.excludes, "excludes", "x", nil, "skip files whose name or relative path matches this glob ('*' matches '/' too; repeatable)")
	fl.StringVarP(&f.pkglist, "pkglist", "i", "", "index only the files listed in this file (paths relative to DIR, one per line)")
	fl.StringVarP(&f.baseURL, "baseurl", "u", "", "base URL written as xml:base of every package location")
	fl.StringVar(&f.locationPrefix, "location-prefix", "", "prefix prepended to every package location href")
	fl.StringVar(&f.duplicatedNEVRA, "duplicated-nevra", "keep", "packages sharing a NEVRA: keep all (warn), or keep-last (newest build time)")
	fl.BoolVar(&f.keepAllMetadata, "keep-all-metadata", true, "carry comps, updateinfo, modules etc. over from the existing repomd.xml")
	fl.BoolVar(&f.discardAdditional, "discard-additional-metadata", false, "drop additional metadata records of the existing repomd.xml")
	fl.BoolVar(&f.noDatabase, "no-database", false, "accepted for createrepo_c compatibility: rpmirror writes no sqlite databases")
	fl.BoolVarP(&f.database, "database", "d", false, "sqlite databases: not supported yet")
	fl.BoolVar(&f.errorExitVal, "error-exit-val", false, "accepted for createrepo_c compatibility: exit code 2 on package errors is always on")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "log errors only")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log debug detail")
	fl.Lookup("database").Hidden = true
	return cmd
}

func runCreaterepo(cmd *cobra.Command, g *globals, f *createrepoFlags, dir string) error {
	c, err := g.config(cmd)
	if err != nil {
		return err
	}
	f.applyConfig(cmd, c)
	log, err := g.logger(f.quiet, f.verbose)
	if err != nil {
		return err
	}
	o, err := f.options(dir)
	if err != nil {
		return withCode(ExitUsage, err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return withCode(ExitUsage, fmt.Errorf("%s is not a directory", dir))
	}

	var progress createrepo.Progress
	if g.stderrIsTerminal() && !f.quiet {
		var bar *progressbar.ProgressBar
		progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total,
					progressbar.OptionSetWriter(g.env.Stderr),
					progressbar.OptionSetDescription("indexing"),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("pkg"),
					progressbar.OptionClearOnFinish(),
					progressbar.OptionThrottle(100e6),
				)
			}
			bar.Set(done)
			if done == total {
				bar.Finish()
			}
		}
	}

	if os.Getenv("GOGC") == "" {
		// The live heap of a run is a few megabytes of buffers and
		// compressor state; the workers reuse their parsers' memory and
		// the XML buffers are pooled, so little garbage is made (about
		// 35 MB on 5,000 packages of 1.7 GB). Collecting at 20% growth
		// instead of 100% therefore costs little CPU and keeps peak RSS
		// below createrepo_c's: measured on the benchmark corpora, 5,000
		// packages 21.3 MB (GOGC=30: 21.8, 50: 24.5, 100: 30), 50,000
		// packages 30 MB.
		debug.SetGCPercent(20)
	}
	res, err := createrepo.Run(cmd.Context(), o, log, progress)
	switch {
	case errors.Is(err, createrepo.ErrLocked):
		return withCode(ExitLocked, err)
	case errors.Is(err, createrepo.ErrPackagesFailed):
		logSummary(log, o, res)
		for _, pe := range res.Failed {
			fmt.Fprintf(g.env.Stderr, "  %s\n", pe)
		}
		return withCode(ExitPartial, err)
	case err != nil:
		return err
	}
	logSummary(log, o, res)
	return nil
}

func logSummary(log logrus.FieldLogger, o createrepo.Options, res *createrepo.Result) {
	fields := logrus.Fields{
		"packages": res.Packages, "failed": len(res.Failed), "outputdir": o.OutputDir,
	}
	if res.Duplicates > 0 {
		fields["duplicates"] = res.Duplicates
	}
	if res.Dropped > 0 {
		fields["dropped"] = res.Dropped
	}
	if res.Repomd != nil {
		fields["revision"] = res.Repomd.Revision
	}
	if res.Unchanged {
		log.WithFields(fields).Info("metadata unchanged; repomd.xml left as it was")
		return
	}
	log.WithFields(fields).Info("metadata written")
}

// applyConfig takes the [createrepo] values of the configuration file for
// the flags not given on the command line.
func (f *createrepoFlags) applyConfig(cmd *cobra.Command, c *fileConfig) {
	fl := cmd.Flags()
	cr := c.Createrepo
	setInt := func(flag string, dst *int, v *int) {
		if v != nil && !fl.Changed(flag) {
			*dst = *v
		}
	}
	setStr := func(flag string, dst *string, v *string) {
		if v != nil && !fl.Changed(flag) {
			*dst = *v
		}
	}
	setInt("workers", &f.workers, cr.Workers)
	setInt("changelog-limit", &f.changelogLimit, cr.ChangelogLimit)
	setStr("checksum", &f.checksum, cr.Checksum)
	if !fl.Changed("compress-type") {
		setStr("general-compress-type", &f.generalCompress, cr.CompressType)
	}
	setStr("duplicated-nevra", &f.duplicatedNEVRA, cr.DuplicatedNEVRA)
	if cr.UniqueMDFilenames != nil && !fl.Changed("unique-md-filenames") && !fl.Changed("simple-md-filenames") {
		f.uniqueMDFilenames = *cr.UniqueMDFilenames
	}
	if cr.KeepAllMetadata != nil && !fl.Changed("keep-all-metadata") && !fl.Changed("discard-additional-metadata") {
		f.keepAllMetadata = *cr.KeepAllMetadata
	}
}

func (f *createrepoFlags) options(dir string) (createrepo.Options, error) {
	o := createrepo.DefaultOptions(dir)
	o.OutputDir = f.outputDir
	if o.OutputDir == "" {
		o.OutputDir = dir
	}
	o.Workers = f.workers
	if _, err := repodata.NewHash(f.checksum); err != nil {
		return o, fmt.Errorf("--checksum: %w", err)
	}
	o.ChecksumType = f.checksum
	if f.checksum == "sha" {
		o.ChecksumType = "sha1"
	}
	ct := f.generalCompress
	if ct == "" {
		ct = f.compressType
	}
	if ct != "" {
		t, err := compress.ParseType(ct)
		if err != nil {
			return o, fmt.Errorf("--general-compress-type: %w", err)
		}
		o.Compression = t
	}
	o.ChangelogLimit = f.changelogLimit
	o.CompressThreads = f.compressThreads
	o.UniqueMDFilenames = f.uniqueMDFilenames && !f.simpleMDFilenames
	o.Revision = f.revision
	o.SetTimestampToRevision = f.setTimestampToRev
	for _, d := range f.distro {
		if cpe, name, ok := strings.Cut(d, ","); ok {
			o.DistroTags = append(o.DistroTags, createrepo.DistroTag{CPEID: cpe, Name: name})
		} else {
			o.DistroTags = append(o.DistroTags, createrepo.DistroTag{Name: d})
		}
	}
	o.ContentTags = f.content
	o.RepoTags = f.repo
	o.Excludes = f.excludes
	if f.pkglist != "" {
		list, err := readPkgList(f.pkglist)
		if err != nil {
			return o, fmt.Errorf("--pkglist: %w", err)
		}
		o.PkgList = list
	}
	o.BaseURL = f.baseURL
	o.LocationPrefix = f.locationPrefix
	dp, err := createrepo.ParseDuplicatePolicy(f.duplicatedNEVRA)
	if err != nil {
		return o, fmt.Errorf("--duplicated-nevra: %w", err)
	}
	o.Duplicates = dp
	o.KeepAllMetadata = f.keepAllMetadata && !f.discardAdditional
	if f.database {
		return o, fmt.Errorf("--database: sqlite metadata is not supported yet (dnf does not need it; EL7 yum reads the XML)")
	}
	if f.workers < 1 {
		return o, fmt.Errorf("--workers must be at least 1")
	}
	return o, nil
}

func readPkgList(path string) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	list := []string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			list = append(list, l)
		}
	}
	return list, sc.Err()
}
