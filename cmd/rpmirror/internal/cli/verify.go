package cli

import (
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/rpmirror/rpmirror/mirror/verify"
)

type verifyFlags struct {
	checksums       bool
	parallel        int
	maxMetadataSize int64
}

func newVerifyCmd(g *globals) *cobra.Command {
	f := &verifyFlags{}
	def := verify.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "verify [flags] TARGET",
		Short: "Check that a published repository is whole (every file present, right size and checksum)",
		Long: `Check a published repository as dnf would find it: read
repodata/repomd.xml, download every metadata file it lists and check its
size and checksum, read primary and check that every package it lists
exists with the right size — and, with --checksums, download every package
and check its checksum. Run it after every publish.

TARGET is a directory, file:///DIR, s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&path-style=1&tls=0,
http(s)://HOST/PATH (the repository as clients fetch it), or the NAME of a
[target.NAME] table of the configuration file. S3 credentials come from the
configuration or from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, never
from the URL. Nothing is written.

Every problem is printed on standard output, one per line, sorted:
  KEY: missing
  KEY: size mismatch: size 1000, want 2837
  KEY: checksum mismatch: checksum sha256 3a4b..., want 9f8e...
  KEY: bad metadata: ...      (repomd.xml or primary unusable, unsafe location)
  KEY: unreadable: ...        (a storage error that retries did not cure)

Exit codes: 0 no problems; 1 problems found, or the target could not be
read (see standard error); 64 usage error (bad flags, invalid TARGET, a
directory that does not exist).

Examples:
  rpmirror verify /srv/repo/el9/x86_64
  rpmirror verify --checksums s3://repos/el9/x86_64?region=eu-west-1
  rpmirror verify https://mirror.example.org/el9/x86_64/
  rpmirror --config /etc/rpmirror.toml verify production`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, g, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.BoolVar(&f.checksums, "checksums", false, "download every package and check its checksum (default: presence and size only)")
	fl.IntVar(&f.parallel, "parallel", def.Parallelism, "objects checked at once")
	fl.Int64Var(&f.maxMetadataSize, "max-metadata-size", def.MaxMetadataSize, "largest metadata file accepted, compressed or not, in bytes")
	return cmd
}

func runVerify(cmd *cobra.Command, g *globals, f *verifyFlags, spec string) error {
	c, err := g.config(cmd)
	if err != nil {
		return err
	}
	log, err := g.logger(false, false)
	if err != nil {
		return err
	}
	switch {
	case f.parallel < 1:
		return withCode(ExitUsage, fmt.Errorf("--parallel %d: want at least 1", f.parallel))
	case f.maxMetadataSize < 1:
		return withCode(ExitUsage, fmt.Errorf("--max-metadata-size %d: want at least 1", f.maxMetadataSize))
	}
	tc := c.targetConfig(log)
	tc.MustExist = true // never create the directory we were asked to check
	b, err := openTarget(cmd.Context(), spec, tc)
	if err != nil {
		return err
	}
	opt := verify.Options{Checksums: f.checksums, Parallelism: f.parallel, MaxMetadataSize: f.maxMetadataSize}
	rep, err := verify.Verify(cmd.Context(), b, opt, log.WithField("target", spec))
	if rep != nil {
		for _, p := range rep.Problems {
			fmt.Fprintln(g.env.Stdout, p)
		}
	}
	if err != nil {
		return err
	}
	fields := logrus.Fields{"target": spec, "revision": rep.Revision, "packages": rep.Packages,
		"metadata": rep.Metadata, "problems": len(rep.Problems), "checksums": f.checksums}
	if !rep.OK() {
		log.WithFields(fields).Error("repository has problems")
		return withCode(ExitFailure, fmt.Errorf("verify %s: %s", spec, rep.Summary()))
	}
	log.WithFields(fields).Info("repository verified: " + rep.Summary())
	return nil
}
