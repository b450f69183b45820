// Package rpmtest builds RPM files in code for tests and demos.
//
// A Spec says what a package is; Build turns it into the bytes of an RPM
// file that librpm (rpm -qp, rpm -K, createrepo_c, dnf) accepts as if
// rpmbuild had written it: lead, signature header with size, MD5, SHA1
// and SHA256 digests (and OpenPGP signatures when the Spec has a Signer),
// main header with an immutable region, compressed cpio payload.
//
// The bytes are a function of the Spec alone: building the same Spec twice,
// in the same process or not, gives the same bytes (testdata/sha256sums
// pins them). Nothing reads the clock or the environment; signatures use
// TestKey, a key derived from a fixed seed.
//
// Cases is the catalogue of edge cases that the compatibility tests run
// through createrepo_c and our createrepo; Demo is a small set of
// installable packages for the README and the dnf end-to-end test;
// NotRPM, Truncated and Broken (InconsistentDeps, DirIndexOutOfRange) are
// bad input for error-path tests, and ParseLayout finds where to cut.
//
// Strings in a Spec are bytes, not necessarily UTF-8: a Summary of
// "caf\xe9" is written as those four bytes, which is how Latin-1 text in
// old packages looks.
package rpmtest

import (
	"fmt"
	"strings"
	"time"
)

// Spec describes one package. The zero value of an optional field leaves
// its tag out of the header, except where a default is documented.
type Spec struct {
	// Comment says what the package exercises. It is not written to the
	// file.
	Comment string

	// WantReject is set for a package that is a well-formed RPM but that
	// createrepo_c refuses to index (for example a control character in
	// the description); a compatible createrepo must refuse it too.
	WantReject bool

	// FileName, if set, is the path relative to the target directory that
	// WriteFile writes to, with '/' separators; it may name a
	// subdirectory. If empty, the file is named like rpmbuild names it
	// (see RelPath).
	FileName string

	Name string
	// Epoch nil means no EPOCH tag; new(uint32(0)) writes an EPOCH tag
	// of 0. The two read the same in rpm-md (epoch="0") but not in rpm.
	Epoch   *uint32
	Version string
	Release string
	// Arch is the ARCH tag, "noarch" if empty. For a source package it
	// is the build architecture, as rpmbuild writes it; the file name
	// and rpm-md say "src".
	Arch string

	// Source makes a source package: SOURCEPACKAGE is 1, there is no
	// SOURCERPM tag, and the lead's type is source.
	// File paths of a source package are relative ("foo.spec").
	Source bool

	Summary     string
	Description string
	License     string
	Vendor      string
	Group       string
	URL         string
	Packager    string
	BuildHost   string
	BuildTime   time.Time // no BUILDTIME tag if zero
	// SourceRPM is the SOURCERPM of a binary package; empty means
	// "name-version-release.src.rpm". Ignored for source packages.
	SourceRPM string

	// Compressor is the payload compressor: "gzip" (the default), "xz",
	// "lzma" or "zstd", optionally with a level ("gzip:6"), as rpmpack
	// takes it.
	Compressor string

	// Dependencies, written in the order given, duplicates included.
	// Provides is preceded by the self-provide "name = [epoch:]version-
	// release" that rpmbuild adds (to source packages too), unless
	// NoSelfProvide is set or Provides already has an identical entry.
	// See HeaderProvides.
	Provides      []Dep
	NoSelfProvide bool
	Requires      []Dep
	Conflicts     []Dep
	Obsoletes     []Dep
	Recommends    []Dep
	Suggests      []Dep
	Supplements   []Dep
	Enhances      []Dep

	// Files in any order; the header and payload list them sorted by
	// path, as rpmbuild does.
	Files []File

	// Changelogs in header order: newest first, as rpmbuild writes them
	// (rpm-md's other.xml has them oldest first).
	Changelogs []Changelog

	// Scriptlets, run by /bin/sh. rpmbuild would add "Requires(pre):
	// /bin/sh" and so on; Build does not, list them in Requires.
	Pre, Post, PreUn, PostUn string

	// Signer, if set, signs the package like rpmsign with an OpenPGP
	// key: a header-only signature (RSA tag) and a header+payload one
	// (PGP tag). TestKey().Sign is such a function.
	Signer SignFunc

	// RawTags are applied last, in order, to the main header: each
	// replaces the tag's value, or deletes the tag if its Value is nil.
	// This is the escape hatch for what the fields above cannot say,
	// including deliberately broken headers.
	RawTags []RawTag
}

// SignFunc returns a detached binary OpenPGP signature of data. It has the
// shape of rpmpack's SetPGPSigner argument.
type SignFunc func(data []byte) ([]byte, error)

// RawTag sets one main header tag to a raw value. Tag is a number from
// rpm's rpmtag.h (100 and above; lower numbers are refused by librpm).
// Value's Go type picks the header type:
//
//	nil                  delete the tag
//	string               STRING
//	I18NString           I18NSTRING
//	[]string             STRING_ARRAY
//	[]byte               BIN
//	[]uint16, []int16    INT16
//	[]uint32, []int32    INT32
//	[]uint64             INT64
type RawTag struct {
	Tag   int
	Value any
}

// I18NString is a RawTag value written as type I18NSTRING, which rpmbuild
// uses for SUMMARY, DESCRIPTION and GROUP.
type I18NString string

// Dep is one entry of a dependency list: the parallel NAME, FLAGS and
// VERSION arrays of the header.
type Dep struct {
	Name    string
	Flags   DepFlags
	Version string // "[epoch:]version[-release]", empty when unversioned
}

// String renders d the way rpm -q --requires does: "name", or
// "name >= version".
func (d Dep) String() string {
	op := d.Flags.op()
	if op == "" {
		return d.Name
	}
	return d.Name + " " + op + " " + d.Version
}

// DepFlags are rpm's rpmsenseFlags (include/rpm/rpmds.h).
type DepFlags uint32

// Comparison flags and the others that matter to rpm-md.
const (
	LT           DepFlags = 1 << 1
	GT           DepFlags = 1 << 2
	EQ           DepFlags = 1 << 3
	LE                    = LT | EQ
	GE                    = GT | EQ
	PostTrans    DepFlags = 1 << 5  // Requires(posttrans)
	PreReq       DepFlags = 1 << 6  // legacy PreReq (rpmbuild 4.18 writes ScriptPre|ScriptPreUn instead)
	PreTrans     DepFlags = 1 << 7  // Requires(pretrans)
	Interp       DepFlags = 1 << 8  // scriptlet interpreter
	ScriptPre    DepFlags = 1 << 9  // Requires(pre)
	ScriptPost   DepFlags = 1 << 10 // Requires(post)
	ScriptPreUn  DepFlags = 1 << 11 // Requires(preun)
	ScriptPostUn DepFlags = 1 << 12 // Requires(postun)
	FindRequires DepFlags = 1 << 14 // found by the dependency generator
	FindProvides DepFlags = 1 << 15
	MissingOK    DepFlags = 1 << 19 // legacy weak Requires
	RPMLib       DepFlags = 1 << 24 // rpmlib(...) feature
	Strong       DepFlags = 1 << 27 // legacy weak deps: Recommends/Supplements rather than Suggests/Enhances
)

func (f DepFlags) op() string {
	switch f & (LT | GT | EQ) {
	case LT:
		return "<"
	case GT:
		return ">"
	case EQ:
		return "="
	case LE:
		return "<="
	case GE:
		return ">="
	}
	return ""
}

// File is one entry of the package's file list.
type File struct {
	// Path is absolute ("/usr/bin/foo"), or relative ("foo.spec") in a
	// source package.
	Path string
	// Mode holds the permission bits (including setuid, setgid, sticky);
	// 0 means 0644 for regular files, 0755 for directories and 0777 for
	// symlinks. The type bits come from Dir and Symlink.
	Mode    uint32
	Content []byte // regular files only
	Dir     bool
	Symlink string // the link target; makes the entry a symlink
	Flags   FileFlags
	Owner   string // "root" if empty
	Group   string // "root" if empty
	// MTime of the file in the header and payload; zero means the
	// Spec's BuildTime.
	MTime time.Time
}

// FileFlags are rpm's rpmfileAttrs (FILEFLAGS).
type FileFlags uint32

// File flags.
const (
	FileConfig    FileFlags = 1 << 0 // %config
	FileDoc       FileFlags = 1 << 1 // %doc
	FileMissingOK FileFlags = 1 << 3 // %config(missingok)
	FileNoReplace FileFlags = 1 << 4 // %config(noreplace)
	FileSpec      FileFlags = 1 << 5 // the spec file of a source package
	FileGhost     FileFlags = 1 << 6 // %ghost: listed, not in the payload
	FileLicense   FileFlags = 1 << 7 // %license
	FileReadme    FileFlags = 1 << 8 // %readme
	FileArtifact  FileFlags = 1 << 12
)

// Changelog is one changelog entry.
type Changelog struct {
	Time   time.Time // stored in seconds
	Author string    // "Name <email> - version-release", as in a spec file
	Text   string
}

// RelPath is where WriteFile puts the package, relative to its target
// directory: FileName if set, else "name-version-release.arch.rpm" with
// arch "src" for a source package. The epoch is not part of it.
func (s Spec) RelPath() string {
	if s.FileName != "" {
		return s.FileName
	}
	return fmt.Sprintf("%s-%s-%s.%s.rpm", s.Name, s.Version, s.Release, s.rpmmdArch())
}

// NEVRA is "name-[epoch:]version-release.arch", with arch "src" for a
// source package and the epoch left out when there is no EPOCH tag.
func (s Spec) NEVRA() string {
	return s.nevr() + "." + s.rpmmdArch()
}

// EVR is "[epoch:]version-release", the version of the self-provide.
func (s Spec) EVR() string {
	evr := s.Version
	if s.Release != "" {
		evr += "-" + s.Release
	}
	if s.Epoch != nil {
		evr = fmt.Sprintf("%d:%s", *s.Epoch, evr)
	}
	return evr
}

func (s Spec) nevr() string { return s.Name + "-" + s.EVR() }

func (s Spec) arch() string {
	if s.Arch == "" {
		return "noarch"
	}
	return s.Arch
}

func (s Spec) rpmmdArch() string {
	if s.Source {
		return "src"
	}
	return s.arch()
}

// HeaderProvides is the PROVIDE* list that Build writes: Provides,
// preceded by the self-provide unless the rules on Provides leave it out.
func (s Spec) HeaderProvides() []Dep {
	if s.NoSelfProvide {
		return s.Provides
	}
	self := Dep{Name: s.Name, Flags: EQ, Version: s.EVR()}
	for _, p := range s.Provides {
		if p == self {
			return s.Provides
		}
	}
	return append([]Dep{self}, s.Provides...)
}

func (s Spec) validate() error {
	switch {
	case s.Name == "" || s.Version == "":
		return fmt.Errorf("rpmtest: spec %q: name and version are required", s.Name)
	case strings.ContainsAny(s.Name+s.Version+s.Release, " \t\n"):
		return fmt.Errorf("rpmtest: spec %q: blank in name, version or release", s.Name)
	}
	seen := map[string]bool{}
	for _, f := range s.Files {
		switch {
		case f.Path == "" || f.Path == "/" || strings.HasSuffix(f.Path, "/"):
			return fmt.Errorf("rpmtest: spec %q: bad file path %q", s.Name, f.Path)
		case !s.Source && !strings.HasPrefix(f.Path, "/"):
			return fmt.Errorf("rpmtest: spec %q: file path %q is not absolute", s.Name, f.Path)
		case f.Dir && f.Symlink != "":
			return fmt.Errorf("rpmtest: spec %q: %s is both a directory and a symlink", s.Name, f.Path)
		case seen[f.Path]:
			return fmt.Errorf("rpmtest: spec %q: file %s listed twice", s.Name, f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}
