// Package rpmfile reads an RPM package file into a repodata.Package in one
// pass over its bytes: the file is hashed while its header is parsed, and
// the rest of it (the payload) is only hashed, never decompressed.
//
// Headers are read by a small lazy reader of our own (rawheader.go) that
// bounds-checks every offset and decodes only the tags metadata needs.
// cavaliergopher/rpm, the reference Go implementation of the format, is
// what its tests compare it with tag by tag; we do not parse with it
// because it decodes every tag eagerly (most of the CPU and garbage of
// indexing small packages) and can panic on malformed headers.
//
// The mapping from header to metadata is createrepo_c 0.17's
// (src/parsehdr.c, src/xml_dump.c), field by field, because dnf and libsolv
// were written against what createrepo_c produces. Where createrepo_c
// silently makes do with a malformed header (dependency or file arrays of
// different lengths, a directory index out of range) we reject the
// package instead: metadata built from such a header would be a guess.
package rpmfile

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/rpmirror/rpmirror/repodata"
)

// Errors a caller may act on. Every error returned by Read wraps one of
// them or an I/O error of the underlying reader.
var (
	// ErrNotRPM: the input does not start with an RPM lead.
	ErrNotRPM = errors.New("rpmfile: not an RPM file")
	// ErrMalformed: the lead, signature or header is damaged or truncated,
	// or its tags contradict each other.
	ErrMalformed = errors.New("rpmfile: malformed RPM")
	// ErrControlChars: a string that would go into the metadata contains
	// an ASCII control character other than tab, LF and CR. createrepo_c
	// rejects such packages too: XML 1.0 cannot carry them.
	ErrControlChars = errors.New("rpmfile: forbidden control characters (ASCII < 32 other than 9, 10, 13)")
)

// Options says how a package is turned into metadata.
type Options struct {
	// ChecksumType names the digest of the whole file written as pkgid
	// (repodata.NewHash). Default "sha256".
	ChecksumType string
	// ChangelogLimit is how many of the newest changelog entries are kept;
	// -1 keeps all. createrepo_c's default is 10; the zero value of
	// Options keeps none, so set it.
	ChangelogLimit int
}

// Buffers are pooled: allocating (and zeroing) them per package costs
// more than parsing a small package's header. headerBufSize holds most
// headers in one fill; payloads are hashed in payloadBufSize reads.
const (
	headerBufSize  = 64 << 10
	payloadBufSize = 128 << 10
)

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, headerBufSize) }}
	bufPool    = sync.Pool{New: func() any { b := make([]byte, payloadBufSize); return &b }}
)

// Read parses the RPM read from r and consumes r to EOF, hashing every
// byte exactly once. The returned package has everything but the fields
// that depend on where the file lives: LocationHref, LocationBase and
// FileTime are left for the caller. PackageSize is the number of bytes
// read.
//
// Read never panics on malformed input; it is safe for concurrent use.
func Read(r io.Reader, opt Options) (*repodata.Package, error) {
	typ, h, err := opt.checksum()
	if err != nil {
		return nil, err
	}
	hr := &hashingReader{r: r, h: h}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(hr)
	defer func() { br.Reset(nil); readerPool.Put(br) }()

	if magic, err := br.Peek(4); len(magic) < 4 || string(magic) != "\xed\xab\xee\xdb" {
		if hr.err != nil {
			return nil, fmt.Errorf("rpmfile: reading lead: %w", hr.err)
		}
		if len(magic) == 0 && err == io.EOF {
			return nil, fmt.Errorf("%w: empty file", ErrNotRPM)
		}
		return nil, fmt.Errorf("%w: no RPM lead magic at the start", ErrNotRPM)
	}
	ld, sig, hdr, err := readHeaders(br)
	if err != nil {
		if hr.err != nil {
			return nil, fmt.Errorf("rpmfile: reading header: %w", hr.err)
		}
		return nil, err
	}
	// What bufio holds was hashed when it was read; discard it and hash
	// the rest straight from the source.
	if _, err := br.Discard(br.Buffered()); err != nil {
		return nil, err
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		_, err := hr.Read(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rpmfile: reading payload: %w", err)
		}
	}

	return finish(ld, sig, hdr, opt, typ, h, hr.n, nil)
}

// checksum returns the checksum type the options ask for (sha256 by
// default) and a hash of it.
func (opt Options) checksum() (string, hash.Hash, error) {
	typ := opt.ChecksumType
	if typ == "" {
		typ = "sha256"
	}
	h, err := repodata.NewHash(typ)
	return typ, h, err
}

// finish builds the package from its parsed headers, the hash of all its
// bytes and their count, and checks the size.
func finish(ld lead, sig, hdr *rawHeader, opt Options, typ string, h hash.Hash, size int64, a *arena) (*repodata.Package, error) {
	p, err := buildPackage(ld, sig, hdr, opt, a)
	if err != nil {
		return nil, err
	}
	if a == nil {
		compact(p)
	}
	p.HeaderStart = uint64(leadSize + sig.size)
	p.HeaderEnd = p.HeaderStart + uint64(hdr.size)
	var sum [64]byte
	p.Checksum = repodata.Checksum{Type: typ, Value: hex.EncodeToString(h.Sum(sum[:0]))}
	p.PackageSize = uint64(size)
	if p.HeaderEnd > p.PackageSize {
		return nil, fmt.Errorf("%w: header ends at byte %d but the file has %d bytes", ErrMalformed, p.HeaderEnd, p.PackageSize)
	}
	// The signature header records the size of header plus payload; a
	// file of another size was truncated or has something appended, and
	// a mirror must not index it. (createrepo_c does not check this.)
	if want, ok := signedSize(sig); ok && p.HeaderStart+want != p.PackageSize {
		return nil, fmt.Errorf("%w: the signature header says %d bytes of header and payload, the file has %d (truncated?)",
			ErrMalformed, want, p.PackageSize-p.HeaderStart)
	}
	return p, nil
}

// readHeaders reads lead, signature header and main header.
func readHeaders(r io.Reader) (lead, *rawHeader, *rawHeader, error) {
	ld, err := readLead(r)
	if err != nil {
		return lead{}, nil, nil, err
	}
	sig, err := readRawHeader(r, "signature header", true)
	if err != nil {
		return lead{}, nil, nil, err
	}
	hdr, err := readRawHeader(r, "header", false)
	if err != nil {
		return lead{}, nil, nil, err
	}
	return ld, sig, hdr, nil
}

// hashingReader hashes and counts what passes through it and remembers
// the source's first error other than EOF.
type hashingReader struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (hr *hashingReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	if n > 0 {
		hr.h.Write(p[:n])
		hr.n += int64(n)
	}
	if err != nil && err != io.EOF && hr.err == nil {
		hr.err = err
	}
	return n, err
}

func formatUint(v int64) string { return strconv.FormatUint(uint64(v), 10) }
