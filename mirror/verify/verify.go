// Package verify checks that a published repository is whole: that what
// repodata/repomd.xml promises is there, byte for byte, on any
// storage.Backend — a directory, an S3 bucket, or the HTTP origin dnf
// hosts fetch from.
//
// Verify reads repomd.xml; downloads every metadata file it lists and
// checks its size and checksum (the one dnf verifies); reads primary
// (decompressed, bounded by Options.MaxMetadataSize) and checks that
// every package it lists exists with the size primary gives — and, with
// Options.Checksums, downloads each package and checks its checksum. It
// reports every problem it finds, not only the first, in a deterministic
// order. Admins run it after each publish; tests use it to check that a
// publish left nothing broken.
//
// A problem is a fact about the repository (a missing file, a wrong
// size, a corrupt file, metadata that cannot be used); Verify returns an
// error only when it was stopped (a cancelled context) or misused. A
// storage error on one object — the backend's retries spent, or a body
// cut short three times — is reported as that object's problem
// (Unreadable), and the rest is still checked.
package verify

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/retry"
)

// RepomdKey is where a repository's index is.
const RepomdKey = "repodata/repomd.xml"

// maxRepomdSize bounds the read of repomd.xml: real ones are a few KiB.
const maxRepomdSize = 16 << 20

// readAttempts is how often an object whose transfer breaks off with a
// transient error is read from the start.
const readAttempts = 3

// Kind is a kind of problem.
type Kind int

// The kinds of problem, in the order a report lists them for one key.
const (
	// Missing: the object does not exist.
	Missing Kind = iota + 1
	// SizeMismatch: the object's size differs from the metadata's.
	SizeMismatch
	// ChecksumMismatch: the object's checksum differs from the
	// metadata's.
	ChecksumMismatch
	// BadMetadata: metadata that cannot be used: repomd.xml or primary
	// that does not parse or is too large, a repomd.xml without a
	// primary record, a location that is not a safe path, a checksum type
	// that cannot be verified.
	BadMetadata
	// Unreadable: the object exists (or may) but could not be read: a
	// storage error that retries did not cure.
	Unreadable
)

func (k Kind) String() string {
	switch k {
	case Missing:
		return "missing"
	case SizeMismatch:
		return "size mismatch"
	case ChecksumMismatch:
		return "checksum mismatch"
	case BadMetadata:
		return "bad metadata"
	case Unreadable:
		return "unreadable"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Problem is one thing wrong with one object.
type Problem struct {
	// Key is the object's key, as the metadata names it (a location
	// href, which may be an invalid key for BadMetadata).
	Key  string
	Kind Kind
	// Detail says what exactly: "size 1234, want 2345", "sha256
	// 3a4b…, want 9f8e…", the error of a failed read.
	Detail string
}

// String formats the problem as "KEY: KIND: DETAIL".
func (p Problem) String() string {
	if p.Detail == "" {
		return p.Key + ": " + p.Kind.String()
	}
	return p.Key + ": " + p.Kind.String() + ": " + p.Detail
}

// Report is the result of a verification.
type Report struct {
	// Revision is repomd.xml's <revision>; "" if it could not be read.
	Revision string
	// Metadata is the number of metadata files (repomd.xml records)
	// checked; Packages the number of packages.
	Metadata int
	Packages int
	// External counts records and packages with an xml:base: they live
	// elsewhere and were not checked.
	External int
	// Problems are sorted by key, then kind, then detail.
	Problems []Problem
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Count returns the number of problems of kind k.
func (r *Report) Count(k Kind) int {
	n := 0
	for _, p := range r.Problems {
		if p.Kind == k {
			n++
		}
	}
	return n
}

// Summary says in one line what was checked and found:
// "8 packages, 3 metadata files: 2 problems (1 missing, 1 size mismatch)".
func (r *Report) Summary() string {
	s := fmt.Sprintf("%d packages, %d metadata files", r.Packages, r.Metadata)
	if r.External > 0 {
		s += fmt.Sprintf(" (%d elsewhere, not checked)", r.External)
	}
	if r.OK() {
		return s + ": no problems"
	}
	var kinds []string
	for k := Missing; k <= Unreadable; k++ {
		if n := r.Count(k); n > 0 {
			kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
		}
	}
	noun := "problems"
	if len(r.Problems) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("%s: %d %s (%s)", s, len(r.Problems), noun, strings.Join(kinds, ", "))
}

// Options control a verification.
type Options struct {
	// Checksums downloads every package and checks its checksum; without
	// it packages are checked for presence and size only (a Stat each:
	// a HEAD over HTTP). Metadata files are always downloaded and
	// checked.
	Checksums bool
	// Parallelism is the number of objects checked at once.
	Parallelism int
	// MaxMetadataSize bounds what is read of a metadata file, compressed
	// and decompressed: a larger one is reported as bad metadata.
	MaxMetadataSize int64
}

// DefaultOptions returns the options Verify uses for zero fields: sizes
// only, 8 objects at once, metadata up to 2 GiB.
func DefaultOptions() Options {
	return Options{Parallelism: 8, MaxMetadataSize: 2 << 30}
}

// Verify checks the repository at the root of b; see the package
// documentation. Zero fields of opt take their DefaultOptions values; log
// (nil: none) gets a debug line per object checked. The error is non-nil
// only when ctx ended; the report then holds what was found so far.
func Verify(ctx context.Context, b storage.Backend, opt Options, log logrus.FieldLogger) (*Report, error) {
	def := DefaultOptions()
	if opt.Parallelism <= 0 {
		opt.Parallelism = def.Parallelism
	}
	if opt.MaxMetadataSize <= 0 {
		opt.MaxMetadataSize = def.MaxMetadataSize
	}
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	v := &verifier{b: b, opt: opt, log: log, rep: &Report{}}
	err := v.run(ctx)
	slices.SortFunc(v.rep.Problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), cmp.Compare(a.Kind, b.Kind), strings.Compare(a.Detail, b.Detail))
	})
	v.rep.Problems = slices.Compact(v.rep.Problems)
	if err != nil {
		return v.rep, fmt.Errorf("verify: %w", err)
	}
	return v.rep, nil
}

type verifier struct {
	b   storage.Backend
	opt Options
	log logrus.FieldLogger

	mu  sync.Mutex // guards rep
	rep *Report
}

func (v *verifier) problem(key string, k Kind, format string, args ...any) {
	p := Problem{Key: key, Kind: k, Detail: fmt.Sprintf(format, args...)}
	v.log.WithField("key", key).Debug(p.String())
	v.mu.Lock()
	v.rep.Problems = append(v.rep.Problems, p)
	v.mu.Unlock()
}

// storageProblem reports a failed storage operation on key.
func (v *verifier) storageProblem(key string, err error) {
	if errors.Is(err, storage.ErrNotExist) {
		v.problem(key, Missing, "")
		return
	}
	v.problem(key, Unreadable, "%v", err)
}

// pkgRef is what primary says of a package file.
type pkgRef struct {
	href     string
	size     uint64
	checksum repodata.Checksum
}

func (v *verifier) run(ctx context.Context) error {
	md, ok := v.readRepomd(ctx)
	if !ok {
		return ctx.Err()
	}
	v.rep.Revision = md.Revision
	primary := md.Record("primary")
	if primary == nil {
		v.problem(RepomdKey, BadMetadata, "no primary record")
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.opt.Parallelism)
	var pkgs []pkgRef
	for i := range md.Records {
		rec := &md.Records[i]
		if rec.Base != "" {
			v.rep.External++
			continue
		}
		v.rep.Metadata++
		if rec == primary {
			// Read in this goroutine while the other records are
			// checked: the packages depend on it.
			continue
		}
		g.Go(func() error {
			v.checkRecord(gctx, rec)
			return nil
		})
	}
	if primary != nil && primary.Base == "" {
		pkgs = v.readPrimary(ctx, primary)
	}
	seen := map[pkgRef]bool{}
	for _, p := range pkgs {
		if seen[p] {
			continue
		}
		seen[p] = true
		v.rep.Packages++
		g.Go(func() error {
			v.checkPackage(gctx, p)
			return nil
		})
	}
	_ = g.Wait()
	return ctx.Err()
}

// readRepomd reads and parses repomd.xml; ok is false when it cannot be
// used (the problem is reported).
func (v *verifier) readRepomd(ctx context.Context) (*repodata.Repomd, bool) {
	var data []byte
	err := v.reread(ctx, func() (bool, error) {
		rc, err := v.b.Open(ctx, RepomdKey)
		if err != nil {
			return false, err
		}
		defer rc.Close()
		data, err = io.ReadAll(io.LimitReader(rc, maxRepomdSize+1))
		return true, err
	})
	if err != nil {
		if ctx.Err() == nil {
			v.storageProblem(RepomdKey, err)
		}
		return nil, false
	}
	if len(data) > maxRepomdSize {
		v.problem(RepomdKey, BadMetadata, "larger than %d bytes", maxRepomdSize)
		return nil, false
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(data))
	if err != nil {
		v.problem(RepomdKey, BadMetadata, "%v", err)
		return nil, false
	}
	v.log.WithFields(logrus.Fields{"key": RepomdKey, "revision": md.Revision, "records": len(md.Records)}).Debug("read repomd.xml")
	return md, true
}

// reread runs read, and again from the start when the object was opened
// but its transfer broke off with an error storage/retry calls transient,
// up to readAttempts times. Opening is the backend's to retry (a backend
// from storage/target is wrapped in storage/retry), reading is ours.
func (v *verifier) reread(ctx context.Context, read func() (opened bool, err error)) error {
	var err error
	for range readAttempts {
		var opened bool
		opened, err = read()
		if err == nil || !opened || !retry.Retryable(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// newHash returns the hash of a checksum from the metadata, or reports
// that it cannot be verified.
func (v *verifier) newHash(key string, c repodata.Checksum) hash.Hash {
	h, err := repodata.NewHash(c.Type)
	if err != nil {
		v.problem(key, BadMetadata, "checksum type %q cannot be verified", c.Type)
		return nil
	}
	return h
}

// counter counts and hashes the bytes read through it, and keeps the
// underlying reader's error so that a storage failure is told from bad
// content.
type counter struct {
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// hashObject reads key whole (at most limit+1 bytes) and returns the
// number of bytes and their hash.
func (v *verifier) hashObject(ctx context.Context, key string, newHash func() hash.Hash, limit int64) (int64, string, error) {
	var (
		n   int64
		sum string
	)
	err := v.reread(ctx, func() (bool, error) {
		rc, err := v.b.Open(ctx, key)
		if err != nil {
			return false, err
		}
		defer rc.Close()
		c := &counter{r: io.LimitReader(rc, limit+1), h: newHash()}
		if _, err := io.Copy(io.Discard, c); err != nil {
			return true, err
		}
		n, sum = c.n, hex.EncodeToString(c.h.Sum(nil))
		return true, nil
	})
	return n, sum, err
}

func (v *verifier) checkRecord(ctx context.Context, rec *repodata.Record) {
	key := rec.Href
	h := v.newHash(key, rec.Checksum)
	if h == nil {
		return
	}
	// The whole file (within bounds), for its exact size.
	limit := v.opt.MaxMetadataSize
	n, sum, err := v.hashObject(ctx, key, func() hash.Hash { h.Reset(); return h }, limit)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		v.storageProblem(key, err)
		return
	}
	v.checkContent(key, n, limit, rec.Size, sum, rec.Checksum, "")
	v.log.WithFields(logrus.Fields{"key": key, "type": rec.Type}).Debug("checked metadata file")
}

// checkContent compares what was read of key (n bytes, at most limit+1)
// with the size (<= 0: unknown) and checksum the metadata give. what
// prefixes the details ("open-" for uncompressed content).
func (v *verifier) checkContent(key string, n, limit, wantSize int64, sum string, want repodata.Checksum, what string) {
	switch {
	case n > limit && limit == wantSize:
		// A package longer than it was a moment ago, when Stat saw it.
		v.problem(key, SizeMismatch, "%ssize more than %d, want %d", what, wantSize, wantSize)
		return
	case n > limit:
		v.problem(key, BadMetadata, "larger than the %d bytes allowed", limit)
		return
	case wantSize > 0 && n != wantSize:
		v.problem(key, SizeMismatch, "%ssize %d, want %d", what, n, wantSize)
		return
	}
	if !strings.EqualFold(sum, want.Value) {
		v.problem(key, ChecksumMismatch, "%schecksum %s %s, want %s", what, want.Type, sum, want.Value)
	}
}

// readPrimary checks the primary file like any record, and returns the
// packages it lists. The file is downloaded once: hashed as it is
// decompressed and parsed.
func (v *verifier) readPrimary(ctx context.Context, rec *repodata.Record) []pkgRef {
	key := rec.Href
	h := v.newHash(key, rec.Checksum)
	if h == nil {
		// The packages can still be checked.
		h = nopHash{}
	}
	var openHash hash.Hash
	if rec.OpenChecksum.Type != "" {
		openHash, _ = repodata.NewHash(rec.OpenChecksum.Type)
	}
	// The whole file (within bounds), for its exact size.
	limit := v.opt.MaxMetadataSize
	var (
		pkgs     []pkgRef
		c        *counter
		oc       *counter
		parseErr error
	)
	err := v.reread(ctx, func() (bool, error) {
		pkgs, parseErr = nil, nil
		rc, err := v.b.Open(ctx, key)
		if err != nil {
			return false, err
		}
		defer rc.Close()
		h.Reset()
		c = &counter{r: io.LimitReader(rc, limit+1), h: h}
		dec, err := compress.NewReader(c, compress.FromFilename(key), compress.ReaderOptions{MaxSize: v.opt.MaxMetadataSize})
		if err != nil {
			return true, err
		}
		defer dec.Close()
		oh := openHash
		if oh == nil {
			oh = nopHash{}
		}
		oh.Reset()
		oc = &counter{r: dec, h: oh}
		parseErr = repodata.ReadPrimary(oc, func(p *repodata.Package) error {
			pkgs = append(pkgs, pkgRef{href: p.LocationHref, size: p.PackageSize, checksum: p.Checksum})
			if p.LocationBase != "" {
				pkgs[len(pkgs)-1].href = "" // elsewhere
			}
			return nil
		})
		if parseErr == nil {
			_, parseErr = io.Copy(io.Discard, oc) // the rest, for the open-checksum
		}
		if c.err != nil {
			return true, c.err // a storage error: read again
		}
		// Whatever the parser left, for the checksum.
		_, err = io.Copy(io.Discard, c)
		return true, err
	})
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		v.storageProblem(key, err)
		return nil
	}
	if c.n > limit {
		// Cut short, so the parse error says nothing more.
		v.problem(key, BadMetadata, "larger than the %d bytes allowed", limit)
		return nil
	}
	if _, ok := h.(nopHash); !ok {
		v.checkContent(key, c.n, limit, rec.Size, hex.EncodeToString(h.Sum(nil)), rec.Checksum, "")
	}
	if parseErr != nil {
		if errors.Is(parseErr, compress.ErrTooLarge) {
			v.problem(key, BadMetadata, "more than %d bytes uncompressed", v.opt.MaxMetadataSize)
		} else {
			v.problem(key, BadMetadata, "packages not checked: %v", parseErr)
		}
		return nil
	}
	if openHash != nil {
		v.checkContent(key, oc.n, v.opt.MaxMetadataSize, rec.OpenSize, hex.EncodeToString(openHash.Sum(nil)), rec.OpenChecksum, "open-")
	}
	v.log.WithFields(logrus.Fields{"key": key, "packages": len(pkgs)}).Debug("read primary")

	var valid []pkgRef
	for _, p := range pkgs {
		if p.href == "" {
			v.rep.External++
			continue
		}
		if err := repodata.CheckHref(p.href); err != nil {
			v.problem(p.href, BadMetadata, "location is not a safe path: %v", err)
			continue
		}
		if err := storage.ValidKey(p.href); err != nil {
			v.problem(p.href, BadMetadata, "location is not a valid key: %v", err)
			continue
		}
		valid = append(valid, p)
	}
	return valid
}

// nopHash stands in for a hash that cannot be computed.
type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }

func (v *verifier) checkPackage(ctx context.Context, p pkgRef) {
	o, err := v.b.Stat(ctx, p.href)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		v.storageProblem(p.href, err)
		return
	case o.Size < 0 || uint64(o.Size) != p.size:
		v.problem(p.href, SizeMismatch, "size %d, want %d", o.Size, p.size)
		return
	}
	if !v.opt.Checksums {
		v.log.WithField("key", p.href).Debug("checked package size")
		return
	}
	h := v.newHash(p.href, p.checksum)
	if h == nil {
		return
	}
	n, sum, err := v.hashObject(ctx, p.href, func() hash.Hash { h.Reset(); return h }, o.Size)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		v.storageProblem(p.href, err)
		return
	}
	v.checkContent(p.href, n, o.Size, int64(p.size), sum, p.checksum, "")
	v.log.WithField("key", p.href).Debug("checked package checksum")
}
