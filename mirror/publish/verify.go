package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/rpmirror/rpmirror/repodata"
)

// ErrChecksumMismatch is wrapped by the error of a local file whose bytes
// do not have the checksum (or size) the repository metadata gives it.
// Nothing that names such a file is ever published.
var ErrChecksumMismatch = errors.New("publish: file does not match the metadata")

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// digest is a checksum the bytes of an object must have.
type digest struct {
	typ   string // rpm-md name: sha256, sha1, sha512 ...
	value string // lower-case hex
}

func (d digest) String() string { return d.typ + ":" + d.value }

// newHashes returns one hash per digest, sharing one for digests of the
// same type.
func newHashes(want []digest) ([]hash.Hash, error) {
	hs := make([]hash.Hash, len(want))
	byType := map[string]hash.Hash{}
	for i, d := range want {
		if h, ok := byType[d.typ]; ok {
			hs[i] = h
			continue
		}
		h, err := repodata.NewHash(d.typ)
		if err != nil {
			return nil, err
		}
		byType[d.typ] = h
		hs[i] = h
	}
	return hs, nil
}

// verifyingReader reads the first size bytes of a file for an upload and
// hashes them as they pass. The Read that would deliver the last byte
// first checks every digest and, if one does not match, returns an error
// wrapping ErrChecksumMismatch instead of the last bytes: whatever the
// backend does with the stream, it cannot store a complete object whose
// bytes differ from what the metadata says. So the SHA-256 given to Put
// is the one of the bytes sent, computed in the same pass.
//
// Seek(0, io.SeekStart) (a retry) starts the hashing again; a seek
// elsewhere followed by reads is an error, because the hashes would no
// longer cover the bytes sent.
type verifyingReader struct {
	f      io.ReadSeeker
	name   string // for errors: the local file
	size   int64
	want   []digest
	hashes []hash.Hash
	pos    int64
	skew   bool // a seek left the hashes behind pos
	err    error
	// mismatch is sticky: a file found different once is not sent again
	// (by a retry after Seek(0)).
	mismatch error
	// onMismatch, if set, is called when mismatch is set.
	onMismatch func(error)
}

var _ io.ReadSeeker = (*verifyingReader)(nil)

func newVerifyingReader(f io.ReadSeeker, name string, size int64, want []digest) (*verifyingReader, error) {
	hs, err := newHashes(want)
	if err != nil {
		return nil, err
	}
	v := &verifyingReader{f: f, name: name, size: size, want: want, hashes: hs}
	if size == 0 {
		// No Read may ever reach the end of an empty object: check now.
		if err := v.verify(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (v *verifyingReader) reset() {
	seen := map[hash.Hash]bool{}
	for _, h := range v.hashes {
		if !seen[h] {
			h.Reset()
			seen[h] = true
		}
	}
	v.pos, v.skew, v.err = 0, false, v.mismatch
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	if v.pos >= v.size {
		return 0, io.EOF
	}
	if v.skew {
		v.err = fmt.Errorf("publish: %s: read after a seek away from the start (cannot verify)", v.name)
		return 0, v.err
	}
	if rem := v.size - v.pos; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := v.f.Read(p)
	v.write(p[:n])
	v.pos += int64(n)
	if v.pos == v.size {
		if verr := v.verify(); verr != nil {
			v.fail(verr)
			return 0, verr
		}
		return n, nil
	}
	if err == io.EOF {
		v.fail(fmt.Errorf("%w: %s has %d bytes, the metadata says %d", ErrChecksumMismatch, v.name, v.pos, v.size))
		return n, v.err
	}
	return n, err
}

func (v *verifyingReader) fail(err error) {
	v.err, v.mismatch = err, err
	if v.onMismatch != nil {
		v.onMismatch(err)
	}
}

func (v *verifyingReader) write(p []byte) {
	seen := map[hash.Hash]bool{}
	for _, h := range v.hashes {
		if !seen[h] {
			h.Write(p)
			seen[h] = true
		}
	}
}

func (v *verifyingReader) verify() error {
	for i, d := range v.want {
		if got := hex.EncodeToString(v.hashes[i].Sum(nil)); got != d.value {
			return fmt.Errorf("%w: %s: its %s is %s, the metadata says %s", ErrChecksumMismatch, v.name, d.typ, got, d.value)
		}
	}
	return nil
}

func (v *verifyingReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = v.pos + offset
	case io.SeekEnd:
		abs = v.size + offset
	default:
		return 0, fmt.Errorf("publish: seek %s: bad whence %d", v.name, whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("publish: seek %s: negative position", v.name)
	}
	if abs == v.pos {
		return abs, nil
	}
	if _, err := v.f.Seek(abs, io.SeekStart); err != nil {
		return 0, err
	}
	if abs == 0 {
		v.reset()
		return 0, nil
	}
	v.pos = abs
	if abs < v.size {
		v.skew = true
	}
	return abs, nil
}

// hashFile reads a local file once and returns its SHA-256 after checking
// its size and every digest of want.
func hashFile(name string, size int64, want []digest) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	defer f.Close()
	v, err := newVerifyingReader(f, name, size, want)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(h, v)
	if err != nil {
		return "", err
	}
	if n != size {
		return "", fmt.Errorf("%w: %s has %d bytes, the metadata says %d", ErrChecksumMismatch, name, n, size)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
