// Package createrepo builds rpm-md repository metadata for a directory of
// RPM files, with createrepo_c's semantics and a parallel pipeline:
//
//	walk → N workers (read+hash each RPM once, render its XML) →
//	one ordered collector → three compressing record writers →
//	checksum-named files → repomd.xml renamed into place last.
//
// Memory is bounded by the sorted list of file names plus a fixed window of
// packages in flight, whatever the number of packages.
package createrepo

import (
	"fmt"
	"runtime"
	"strconv"
	"time"

	"github.com/rpmirror/rpmirror/repodata/compress"
)

// DuplicatePolicy says what to do with packages that share a NEVRA.
type DuplicatePolicy uint8

const (
	// KeepDuplicates writes every package and warns (createrepo_c's
	// default).
	KeepDuplicates DuplicatePolicy = iota
	// KeepLast writes only the package with the newest build time of each
	// NEVRA; on equal build times the one sorted last wins.
	KeepLast
)

// ParseDuplicatePolicy accepts createrepo_c's --duplicated-nevra values.
func ParseDuplicatePolicy(s string) (DuplicatePolicy, error) {
	switch s {
	case "keep":
		return KeepDuplicates, nil
	case "keep-last":
		return KeepLast, nil
	}
	return 0, fmt.Errorf("unknown duplicated-nevra policy %q (want keep or keep-last)", s)
}

func (d DuplicatePolicy) String() string {
	if d == KeepLast {
		return "keep-last"
	}
	return "keep"
}

// Options configure a run. Start from DefaultOptions.
type Options struct {
	// InputDir is the directory searched for *.rpm files; hrefs are
	// relative to it.
	InputDir string
	// OutputDir receives repodata/; default InputDir.
	OutputDir string

	Workers        int
	ChecksumType   string
	Compression    compress.Type
	ChangelogLimit int // -1: all

	// CompressThreads is how many threads compress each metadata file
	// (the three files always compress concurrently with each other and
	// with the package readers). 1, the default, writes one gzip stream
	// per file; above 1, gzip is written in independent blocks (pgzip),
	// which pays off on many cores but costs memory and a little size.
	// The compressed bytes, and so the checksum-named file names, depend
	// on whether it is above 1, never on the worker count.
	CompressThreads int

	UniqueMDFilenames bool
	// Revision is written as <revision>; empty means the current Unix
	// time (createrepo_c's default).
	Revision string
	// SetTimestampToRevision writes the revision (a Unix time) as every
	// record's timestamp and as the files' mtime, for reproducible output.
	SetTimestampToRevision bool

	DistroTags  []DistroTag
	ContentTags []string
	RepoTags    []string

	// Excludes are glob patterns (createrepo_c's: '*' also matches '/')
	// tested against each file's base name and its path relative to
	// InputDir; a matching directory is not descended into.
	Excludes []string
	// PkgList, if non-nil, replaces the directory walk: paths relative to
	// InputDir.
	PkgList []string

	BaseURL        string // location xml:base
	LocationPrefix string // prepended to every location href

	Duplicates DuplicatePolicy

	// KeepAllMetadata carries records other than primary, filelists and
	// other (and their sqlite/zchunk variants) over from the existing
	// repomd.xml: comps, updateinfo, modules. createrepo_c's default
	// since 0.18.
	KeepAllMetadata bool

	// Additional are files of other record types (group, updateinfo,
	// modules, ...) to include as they are, each under a checksum-named
	// copy; they replace records of the same type carried over from the
	// existing repomd.xml.
	Additional []AdditionalFile

	// Now returns the current time; tests inject it.
	Now func() time.Time

	// singleLane makes workers read one package at a time even where
	// they could hash several at once (tests compare both ways).
	singleLane bool
	// largePackage, if set, replaces the package size from which
	// packages are started early (tests start every one early).
	largePackage int64
}

// AdditionalFile is a metadata file of another record type.
type AdditionalFile struct {
	Type string // the repomd.xml record type, e.g. "group", "updateinfo"
	Path string // a local file; compressed if its name says so
	// MaxOpenSize bounds the decompressed size of a compressed file
	// (whose open checksum is computed by decompressing it); beyond it
	// the run fails with an error wrapping compress.ErrTooLarge. 0 means
	// no bound. The syncer sets it to the open-size upstream declared.
	MaxOpenSize int64
}

// DistroTag is a <distro> tag with an optional cpeid.
type DistroTag struct {
	CPEID string
	Name  string
}

// DefaultOptions returns createrepo_c's defaults for a directory.
func DefaultOptions(dir string) Options {
	return Options{
		InputDir:          dir,
		Workers:           runtime.NumCPU(),
		ChecksumType:      "sha256",
		Compression:       compress.Gzip,
		ChangelogLimit:    10,
		CompressThreads:   1,
		UniqueMDFilenames: true,
		KeepAllMetadata:   true,
		Now:               time.Now,
	}
}

func (o *Options) validate() error {
	if o.InputDir == "" {
		return fmt.Errorf("no input directory")
	}
	if o.Workers < 1 {
		return fmt.Errorf("workers must be at least 1, not %d", o.Workers)
	}
	if o.CompressThreads < 1 {
		return fmt.Errorf("compress threads must be at least 1, not %d", o.CompressThreads)
	}
	if o.SetTimestampToRevision {
		if _, err := strconv.ParseInt(o.Revision, 10, 64); err != nil {
			return fmt.Errorf("--set-timestamp-to-revision needs --revision to be a Unix time, not %q", o.Revision)
		}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OutputDir == "" {
		o.OutputDir = o.InputDir
	}
	return nil
}
