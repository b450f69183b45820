// Package compress reads and writes the compression formats of rpm-md
// repository metadata: gzip, zstd, xz and bzip2, plus None for files that
// are stored uncompressed.
//
// Writers produce ordinary single streams that zlib, libzstd, liblzma,
// libbz2 and their command-line tools read. Readers are meant for hostile
// input: they accept what those tools write (including concatenated
// streams), bound their memory, refuse to expand beyond
// ReaderOptions.MaxSize, and report malformed input as an error, never a
// panic.
package compress

import (
	"errors"
	"fmt"
	"strings"
)

// Type is a compression format.
type Type uint8

// The compression formats, in the order createrepo_c lists them.
const (
	None Type = iota
	Gzip
	Zstd
	Xz
	Bzip2
)

// ErrUnknownType is returned, wrapped, for a Type or a name that is not one
// of the formats above.
var ErrUnknownType = errors.New("compress: unknown compression type")

// String returns createrepo_c's name of t: "none", "gz", "zstd", "xz" or
// "bz2".
func (t Type) String() string {
	switch t {
	case None:
		return "none"
	case Gzip:
		return "gz"
	case Zstd:
		return "zstd"
	case Xz:
		return "xz"
	case Bzip2:
		return "bz2"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Suffix returns the file name suffix of t as createrepo_c writes it:
// ".gz", ".zst", ".xz", ".bz2", or "" for None and unknown types.
func (t Type) Suffix() string {
	switch t {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	case Xz:
		return ".xz"
	case Bzip2:
		return ".bz2"
	}
	return ""
}

func (t Type) valid() bool { return t <= Bzip2 }

// ParseType returns the Type named s, one of createrepo_c's --compress-type
// values ("gz", "gzip", "zstd", "xz", "bz2", "bzip2") or "zst" or "none".
// Like createrepo_c it ignores case. "zck" is a valid createrepo_c value
// that this package does not implement; it gives an error saying so.
// Other values give an error wrapping ErrUnknownType.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "none":
		return None, nil
	case "gz", "gzip":
		return Gzip, nil
	case "zstd", "zst":
		return Zstd, nil
	case "xz":
		return Xz, nil
	case "bz2", "bzip2":
		return Bzip2, nil
	case "zck":
		return None, errors.New("compress: zchunk (zck) compression is not supported yet")
	}
	return None, fmt.Errorf("%w %q (want gz, zstd, xz, bz2 or none)", ErrUnknownType, s)
}

// FromFilename returns the Type that the suffix of name stands for, as
// createrepo_c detects it: ".gz", ".gzip", ".gunzip", ".zst", ".xz", ".bz2"
// or ".bzip2". Any other name, including one ending in ".zck", gives None;
// the suffix match is case-sensitive.
func FromFilename(name string) Type {
	for _, s := range suffixes {
		if strings.HasSuffix(name, s.suffix) {
			return s.t
		}
	}
	return None
}

var suffixes = []struct {
	suffix string
	t      Type
}{
	{".gz", Gzip},
	{".gzip", Gzip},
	{".gunzip", Gzip},
	{".zst", Zstd},
	{".xz", Xz},
	{".bz2", Bzip2},
	{".bzip2", Bzip2},
}
