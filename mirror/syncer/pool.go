package syncer

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
)

// pool is the local content-addressed store of verified packages:
//
//	pool/sha256/<2 hex>/<sha256>.rpm    the package, immutable
//	pool/partial/<sha256 of identity>   a download in progress
//
// A package enters the pool only after every byte was hashed and the
// size and checksum matched what its source promised; its metadata is
// parsed from the same bytes in the same pass, so no package is ever read
// twice, and kept in the catalog of the repository that fetched it. The
// package is written to its partial file and fsynced, then renamed: a
// crash leaves the pool consistent, a file in pool/sha256 always has the
// content its name says, and a partial download is resumed by the next
// run. Pooled files are never modified (publishing may hard-link them).
//
// Contract: safe for concurrent use, and shared by concurrent runs:
// a partial download is flocked by the run fetching it.
type pool struct {
	dir     string
	parse   rpmfile.Options
	metaKey string
}

func newPool(dir string, parse rpmfile.Options) (*pool, error) {
	for _, d := range []string{"sha256", "partial"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	key := fmt.Sprintf("%s-cl%d", parse.ChecksumType, parse.ChangelogLimit)
	return &pool{dir: dir, parse: parse, metaKey: key}, nil
}

func (p *pool) path(sum string) string {
	return filepath.Join(p.dir, "sha256", sum[:2], sum+".rpm")
}

// has reports whether the pool holds the package with this sha256.
func (p *pool) has(sum string) bool {
	if len(sum) != 64 {
		return false
	}
	fi, err := os.Stat(p.path(sum))
	return err == nil && fi.Mode().IsRegular()
}

// reparse reads the metadata of a pooled package that the catalog does
// not know (fetched by another repository, or by a run that died before
// its journal entry was written): reading the verified local copy once
// more beats downloading it again. The content must still hash to its
// name. It returns nil when the package is not in the pool or damaged.
func (p *pool) reparse(sum string) *repodata.Package {
	if len(sum) != 64 {
		return nil
	}
	f, err := os.Open(p.path(sum))
	if err != nil {
		return nil
	}
	defer f.Close()
	var sha hash.Hash
	r := io.Reader(f)
	if p.parse.ChecksumType != "sha256" {
		sha = sha256.New()
		r = io.TeeReader(f, sha)
	}
	pkg, err := rpmfile.Read(r, p.parse)
	if err != nil {
		return nil
	}
	got := pkg.Checksum.Value
	if sha != nil {
		got = hex.EncodeToString(sha.Sum(nil))
	}
	if got != sum {
		return nil
	}
	if fi, err := f.Stat(); err == nil {
		pkg.FileTime = fi.ModTime().Unix()
	}
	return pkg
}

// ingest fetches a candidate into the pool, verifying it, and returns
// its metadata (checksummed with the pool's checksum type) and sha256.
// progress is called with the byte counts as they arrive; verified is called once the content is verified and durable, before
// it enters the pool; an error from it abandons the package.
//
// A transport failure keeps the partial download for the next attempt
// (resumed with a Range request); content that fails verification or is
// not a readable RPM is discarded.
func (p *pool) ingest(ctx context.Context, src source.Source, c *source.Candidate, progress func(int64), verified func(sum string, pkg *repodata.Package) error) (*repodata.Package, string, error) {
	// The partial file is named after everything that identifies the
	// content, so a package replaced upstream (re-signed under the same
	// name) never resumes onto the old one's prefix.
	part := filepath.Join(p.dir, "partial", hexSum(identity(c)+"\x00"+c.Href))
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, "", err
	}
	// Repositories share the pool; another process fetching the same
	// file right now is not waited for.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("%s: being fetched by another rpmirror run; will be retried", c.Href)
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			os.Remove(part)
		}
	}()
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, "", err
	}
	if c.Size >= 0 && offset > c.Size {
		if err := f.Truncate(0); err != nil {
			return nil, "", err
		}
		offset = 0
	}

	// The parser hashes every byte with the pool's checksum type; a
	// separate SHA-256 (the pool's key) only when that is another type.
	var sha hash.Hash
	if p.parse.ChecksumType != "sha256" {
		sha = sha256.New()
	}
	var verify hash.Hash // the source's checksum, when not sha256
	if c.Checksum.Value != "" && c.Checksum.Type != "sha256" {
		if verify, err = repodata.NewHash(c.Checksum.Type); err != nil {
			return nil, "", fmt.Errorf("%w: %s: %v", source.ErrVerify, c.Href, err)
		}
	}
	// The RPM is parsed from the same bytes as they are hashed and
	// written, pushed to an rpmfile.Writer: the one and only read of the
	// package, with no goroutine and no copy in between.
	parser, err := rpmfile.NewWriter(p.parse)
	if err != nil {
		return nil, "", err
	}
	sinks := []io.Writer{parser}
	if sha != nil {
		sinks = append(sinks, sha)
	}
	if verify != nil {
		sinks = append(sinks, verify)
	}
	tee := io.MultiWriter(sinks...)
	var ferr error
	if offset > 0 {
		// Bytes of an interrupted earlier attempt are re-read once to
		// restore the hash and parse state.
		if _, ferr = f.Seek(0, io.SeekStart); ferr == nil {
			_, ferr = io.Copy(tee, io.LimitReader(f, offset))
		}
		if _, err := f.Seek(offset, io.SeekStart); ferr == nil {
			ferr = err
		}
	}
	progress(offset)
	w := &countWriter{w: io.MultiWriter(f, tee), n: offset, progress: progress}
	if ferr == nil {
		ferr = src.Fetch(ctx, c, offset, w)
	}
	pkg, perr := parser.Package()

	switch {
	case ferr != nil && perr != nil && errors.Is(ferr, perr):
		// The parser gave up first and the download stopped because of it.
		return nil, "", fmt.Errorf("%s: %w", c.Href, perr)
	case ferr != nil:
		keep = !errors.Is(ferr, source.ErrVerify)
		return nil, "", fmt.Errorf("%s: %w", c.Href, ferr)
	}
	if c.Size >= 0 && w.n != c.Size {
		return nil, "", fmt.Errorf("%w: %s: %d bytes, the source said %d", source.ErrVerify, c.Href, w.n, c.Size)
	}
	var sum string
	switch {
	case sha != nil:
		sum = hex.EncodeToString(sha.Sum(nil))
	case perr == nil:
		sum = pkg.Checksum.Value
	default:
		// Every byte arrived but they are no RPM: whatever their
		// checksum, they are not published.
		return nil, "", fmt.Errorf("%s: %w", c.Href, perr)
	}
	if want := c.Checksum.Value; want != "" {
		got := sum
		if verify != nil {
			got = hex.EncodeToString(verify.Sum(nil))
		}
		if !strings.EqualFold(got, want) {
			return nil, "", fmt.Errorf("%w: %s: %s checksum %s, the source said %s", source.ErrVerify, c.Href, c.Checksum.Type, got, want)
		}
	}
	if perr != nil {
		return nil, "", fmt.Errorf("%s: %w", c.Href, perr)
	}
	if err := f.Sync(); err != nil {
		return nil, "", err
	}
	if fi, err := f.Stat(); err == nil {
		pkg.FileTime = fi.ModTime().Unix()
	}
	// Recorded before the rename: a package in the pool is then always
	// in the journal too (short of a machine crash), which matters for a
	// candidate without a sha256, found again only by its identity.
	if err := verified(sum, pkg); err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(filepath.Dir(p.path(sum)), 0o755); err != nil {
		return nil, "", err
	}
	if err := os.Rename(part, p.path(sum)); err != nil {
		return nil, "", err
	}
	return pkg, sum, nil
}

// countWriter counts the bytes written through it and reports them to
// progress, when set.
type countWriter struct {
	w        io.Writer
	n        int64
	progress func(int64)
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if c.progress != nil {
		c.progress(int64(n))
	}
	return n, err
}

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func writeFileAtomic(path string, data []byte) error {
	return writeFileAtomicFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileAtomicFunc replaces path with what write writes, durably:
// temporary file, fsync, rename.
func writeFileAtomicFunc(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
