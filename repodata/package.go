// Package repodata is the model of rpm-md repository metadata (the
// primary, filelists, other and repomd.xml files that createrepo_c writes
// and dnf/librepo/libsolv read), with streaming writers and readers for
// each of those files.
//
// Strings in a Package are already what goes into the XML: valid UTF-8
// without forbidden control characters. Producing them from raw RPM header
// bytes (Latin-1 fallback, control character rejection) is the job of the
// package that reads RPM files (repodata/rpmfile); the writers here only
// escape.
package repodata

import "strings"

// Checksum is a digest as written in rpm-md: the algorithm name as
// createrepo_c spells it ("sha256", "sha1", ...) and the lower-case hex
// value.
type Checksum struct {
	Type  string
	Value string
}

// Package is one package entry: the union of what primary.xml,
// filelists.xml and other.xml say about it. Field order follows
// primary.xml.
type Package struct {
	Name    string
	Arch    string // "src" for source packages
	Epoch   string // never empty in metadata written by us: "0" if unset
	Version string
	Release string

	// Checksum is the digest of the whole RPM file; its Value is the
	// pkgid that links the entries of the three files.
	Checksum Checksum

	Summary     string
	Description string
	Packager    string
	URL         string

	FileTime  int64 // mtime of the RPM file
	BuildTime int64

	PackageSize   uint64 // size of the RPM file
	InstalledSize uint64
	ArchiveSize   uint64

	LocationHref string
	LocationBase string // xml:base; empty when not set

	License   string
	Vendor    string
	Group     string
	BuildHost string
	SourceRPM string

	// HeaderStart and HeaderEnd are the byte range of the main header
	// (rpm:header-range); HeaderEnd is the first payload byte.
	HeaderStart uint64
	HeaderEnd   uint64

	Provides    []Dependency
	Requires    []Dependency
	Conflicts   []Dependency
	Obsoletes   []Dependency
	Suggests    []Dependency
	Enhances    []Dependency
	Recommends  []Dependency
	Supplements []Dependency

	// Files lists every file in header order, as filelists.xml does.
	// primary.xml carries only those for which IsPrimaryFile is true, so
	// a Package read from primary.xml alone holds only those; merge
	// filelists by pkgid for the rest.
	Files []File

	// Changelogs are in the order they are written to other.xml: oldest
	// first.
	Changelogs []Changelog
}

// NEVRA returns name-epoch:version-release.arch, the identity dnf uses.
func (p *Package) NEVRA() string {
	var b strings.Builder
	b.Grow(len(p.Name) + len(p.Epoch) + len(p.Version) + len(p.Release) + len(p.Arch) + 4)
	b.WriteString(p.Name)
	b.WriteByte('-')
	if p.Epoch != "" && p.Epoch != "0" {
		b.WriteString(p.Epoch)
		b.WriteByte(':')
	}
	b.WriteString(p.Version)
	b.WriteByte('-')
	b.WriteString(p.Release)
	b.WriteByte('.')
	b.WriteString(p.Arch)
	return b.String()
}

// Dependency is one rpm:entry of provides, requires and the other
// dependency lists.
type Dependency struct {
	Name string
	// Flags is the comparison: "", "EQ", "LT", "GT", "LE" or "GE". Epoch,
	// Version and Release are written only when Flags is set.
	Flags   string
	Epoch   string
	Version string
	Release string
	// Pre marks a requirement needed before installation (Requires(pre),
	// Requires(post) and PreReq); only meaningful for Requires.
	Pre bool
}

// FileType is the type attribute of a file entry.
type FileType uint8

const (
	FileRegular FileType = iota // no type attribute
	FileDir                     // type="dir"
	FileGhost                   // type="ghost"
)

// String returns the attribute value, "" for a regular file.
func (t FileType) String() string {
	switch t {
	case FileDir:
		return "dir"
	case FileGhost:
		return "ghost"
	}
	return ""
}

// ParseFileType is the inverse of FileType.String. Unknown values, and
// "file" which createrepo_c treats as regular, give FileRegular.
func ParseFileType(s string) FileType {
	switch s {
	case "dir":
		return FileDir
	case "ghost":
		return FileGhost
	}
	return FileRegular
}

// File is one file owned by a package.
type File struct {
	Path string
	Type FileType
}

// Changelog is one changelog entry of other.xml.
type Changelog struct {
	Author string
	Date   int64
	Text   string
}

// IsPrimaryFile reports whether a file path belongs in primary.xml as well
// as in filelists.xml. The rule is createrepo_c's (and yum's before it):
// anything under /etc/, /usr/lib/sendmail, and any path containing "bin/"
// anywhere. dnf and libsolv rely on this exact set to resolve file
// requires without loading filelists.
func IsPrimaryFile(path string) bool {
	return strings.HasPrefix(path, "/etc/") ||
		path == "/usr/lib/sendmail" ||
		strings.Contains(path, "bin/")
}
