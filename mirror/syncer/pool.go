package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
//	pool/sha256/<2 hex>/<sha256>.<key>.json
//	                                    its metadata as parsed when it was
//	                                    fetched, per parse options
//	pool/partial/<sha256 of identity>   a download in progress
//	pool/known/<sha256 of identity>     the sha256 of the verified content
//	                                    of a candidate without a sha256
//	                                    checksum (a directory or Koji file,
//	                                    a sha1/sha512 upstream)
//
// A package enters the pool only after every byte was hashed and the
// size and checksum matched what its source promised; its metadata is
// parsed from the same bytes in the same pass, so no package is ever read
// twice. Writes are temp file + fsync + rename: a crash leaves the pool
// consistent, and a partial download is resumed by the next run.
type pool struct {
	dir     string
	parse   rpmfile.Options
	metaKey string
}

func newPool(dir string, parse rpmfile.Options) (*pool, error) {
	for _, d := range []string{"sha256", "partial", "known"} {
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

func (p *pool) metaPath(sum string) string {
	return filepath.Join(p.dir, "sha256", sum[:2], sum+"."+p.metaKey+".json")
}

// lookup returns the cached metadata of a pooled package, or nil.
func (p *pool) lookup(sum string) *repodata.Package {
	if len(sum) != 64 {
		return nil
	}
	if _, err := os.Stat(p.path(sum)); err != nil {
		return nil
	}
	b, err := os.ReadFile(p.metaPath(sum))
	if err != nil {
		return p.reparse(sum)
	}
	var pkg repodata.Package
	if json.Unmarshal(b, &pkg) != nil || pkg.Name == "" {
		return p.reparse(sum)
	}
	return &pkg
}

// reparse rebuilds the metadata of a pooled package whose metadata file
// is gone or damaged (by hand, or by a crash of an older version, which
// wrote the package first): reading the verified local copy once more
// beats downloading it again. The content must still hash to its name.
func (p *pool) reparse(sum string) *repodata.Package {
	f, err := os.Open(p.path(sum))
	if err != nil {
		return nil
	}
	defer f.Close()
	opt := p.parse
	pkg, err := rpmfile.Read(f, opt)
	if err != nil {
		return nil
	}
	got := pkg.Checksum.Value
	if opt.ChecksumType != "sha256" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil
		}
		got = hex.EncodeToString(h.Sum(nil))
	}
	if got != sum {
		return nil
	}
	if fi, err := f.Stat(); err == nil {
		pkg.FileTime = fi.ModTime().Unix()
	}
	if b, err := json.Marshal(pkg); err == nil {
		writeFileAtomic(p.metaPath(sum), b)
	}
	return pkg
}

// ingest fetches a candidate into the pool, verifying it, and returns
// its metadata (checksummed with the pool's checksum type) and sha256.
//
// A transport failure keeps the partial download for the next attempt
// (resumed with a Range request); content that fails verification or is
// not a readable RPM is discarded.
func (p *pool) ingest(ctx context.Context, src source.Source, c *source.Candidate) (*repodata.Package, string, error) {
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

	sha := sha256.New()
	var verify hash.Hash // the source's checksum, when not sha256
	if c.Checksum.Value != "" && c.Checksum.Type != "sha256" {
		if verify, err = repodata.NewHash(c.Checksum.Type); err != nil {
			return nil, "", fmt.Errorf("%w: %s: %v", source.ErrVerify, c.Href, err)
		}
	}
	// The RPM is parsed from the same bytes as they are hashed and
	// written, through a pipe: the one and only read of the package.
	pr, pw := io.Pipe()
	type parsed struct {
		pkg *repodata.Package
		err error
	}
	done := make(chan parsed, 1)
	go func() {
		pkg, err := rpmfile.Read(pr, p.parse)
		pr.CloseWithError(err) // a parse error stops the download
		done <- parsed{pkg, err}
	}()
	sinks := []io.Writer{sha, pw}
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
	w := &countWriter{w: io.MultiWriter(f, tee), n: offset}
	if ferr == nil {
		ferr = src.Fetch(ctx, c, offset, w)
	}
	pw.CloseWithError(ferr)
	res := <-done

	switch {
	case ferr != nil && res.err != nil && errors.Is(ferr, res.err):
		// The parser gave up first and the download stopped because of it.
		return nil, "", fmt.Errorf("%s: %w", c.Href, res.err)
	case ferr != nil:
		keep = !errors.Is(ferr, source.ErrVerify)
		return nil, "", fmt.Errorf("%s: %w", c.Href, ferr)
	}
	if c.Size >= 0 && w.n != c.Size {
		return nil, "", fmt.Errorf("%w: %s: %d bytes, the source said %d", source.ErrVerify, c.Href, w.n, c.Size)
	}
	sum := hex.EncodeToString(sha.Sum(nil))
	if want := c.Checksum.Value; want != "" {
		got := sum
		if verify != nil {
			got = hex.EncodeToString(verify.Sum(nil))
		}
		if !strings.EqualFold(got, want) {
			return nil, "", fmt.Errorf("%w: %s: %s checksum %s, the source said %s", source.ErrVerify, c.Href, c.Checksum.Type, got, want)
		}
	}
	if res.err != nil {
		return nil, "", fmt.Errorf("%s: %w", c.Href, res.err)
	}
	if err := f.Sync(); err != nil {
		return nil, "", err
	}
	pkg := res.pkg
	dst := p.path(sum)
	if fi, err := f.Stat(); err == nil {
		pkg.FileTime = fi.ModTime().Unix()
	}
	// Metadata first, package last: lookup needs both, and a crash in
	// between leaves only metadata, which the next fetch rewrites.
	b, err := json.Marshal(pkg)
	if err != nil {
		return nil, "", err
	}
	if err := writeFileAtomic(p.metaPath(sum), b); err != nil {
		return nil, "", err
	}
	if err := os.Rename(part, dst); err != nil {
		return nil, "", err
	}
	if c.Checksum.Type != "sha256" {
		if err := writeFileAtomic(p.knownPath(identity(c)), []byte(sum)); err != nil {
			return nil, "", err
		}
	}
	return pkg, sum, nil
}

func (p *pool) knownPath(id string) string { return filepath.Join(p.dir, "known", hexSum(id)) }

// recall returns the sha256 of the content a candidate without a sha256
// checksum had when it was last verified, or "".
func (p *pool) recall(id string) string {
	b, err := os.ReadFile(p.knownPath(id))
	if err != nil || len(b) != 64 {
		return ""
	}
	return string(b)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func hexSum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
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
