// Package sha256x2 computes standard SHA-256 digests, and can hash two
// independent streams at once for nearly twice the throughput of one.
//
// With the x86 SHA extensions one SHA-256 stream is bound by the latency
// of SHA256RNDS2, not by its throughput: the SHA unit is idle most of
// the time. Write2 compresses blocks of two streams in one interleaved
// loop, filling that idle time. A caller with many independent inputs
// (createrepo hashing package files) can therefore hash them in pairs.
//
// On CPUs without the extensions, and on other architectures, Digest
// wraps crypto/sha256 and Write2 simply writes each stream.
package sha256x2

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

const (
	size      = 32
	blockSize = 64
)

// useAsm decides what New returns. It is a variable so that the tests
// can cover the crypto/sha256 fallback on machines with the assembly.
var useAsm = cpuSupported()

// Supported reports whether the two-stream assembly runs on this CPU.
// When false, everything still works, on crypto/sha256.
func Supported() bool { return useAsm }

var iv = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// Digest computes a standard SHA-256 (identical to crypto/sha256) and
// implements hash.Hash. Use New to make one; the zero value is not
// ready for use.
type Digest struct {
	h      [8]uint32
	buf    [blockSize]byte // partial block, buf[:nbuf]
	nbuf   int
	length uint64    // bytes written since Reset
	fb     hash.Hash // crypto/sha256 when the assembly is not used
}

var _ hash.Hash = (*Digest)(nil)

// New returns a Digest in its initial state.
func New() *Digest {
	d := new(Digest)
	if !useAsm {
		d.fb = sha256.New()
	}
	d.Reset()
	return d
}

// Reset returns d to its initial state.
func (d *Digest) Reset() {
	if d.fb != nil {
		d.fb.Reset()
		return
	}
	d.h = iv
	d.nbuf = 0
	d.length = 0
}

// Size returns 32.
func (d *Digest) Size() int { return size }

// BlockSize returns 64.
func (d *Digest) BlockSize() int { return blockSize }

// Write adds p to the stream. It never fails.
func (d *Digest) Write(p []byte) (int, error) {
	if d.fb != nil {
		return d.fb.Write(p)
	}
	d.write(p)
	return len(p), nil
}

// write is Write for the assembly. Separate so that Sum's padding,
// which never meets the interface call to crypto/sha256, does not escape.
func (d *Digest) write(p []byte) {
	d.length += uint64(len(p))
	full, p := d.topUp(p)
	if full {
		blocks1(&d.h, &d.buf[0], 1)
		d.nbuf = 0
	}
	d.finish(p)
}

// Write2 is d1.Write(p1) followed by d2.Write(p2), except that the
// 64-byte blocks the two streams have at the same time are compressed
// together, two at a time, by the interleaved assembly. d1 and d2 must
// be distinct. Either p may be empty.
//
// Only the blocks of one call are paired, so to get the speed-up both
// streams should be fed large, similar-sized chunks (a few tens of KiB
// each or more) in the same Write2 call.
func Write2(d1, d2 *Digest, p1, p2 []byte) {
	if d1 == d2 {
		panic("sha256x2: Write2 with the same Digest twice")
	}
	if d1.fb != nil || d2.fb != nil {
		d1.Write(p1)
		d2.Write(p2)
		return
	}
	d1.length += uint64(len(p1))
	d2.length += uint64(len(p2))

	// A completed partial block comes before the stream's bulk data;
	// pair it with whatever block the other stream has next.
	full1, p1 := d1.topUp(p1)
	full2, p2 := d2.topUp(p2)
	switch {
	case full1 && full2:
		blocks2(&d1.h, &d2.h, &d1.buf[0], &d2.buf[0], 1)
	case full1 && len(p2) >= blockSize:
		blocks2(&d1.h, &d2.h, &d1.buf[0], &p2[0], 1)
		p2 = p2[blockSize:]
	case full1:
		blocks1(&d1.h, &d1.buf[0], 1)
	case full2 && len(p1) >= blockSize:
		blocks2(&d1.h, &d2.h, &p1[0], &d2.buf[0], 1)
		p1 = p1[blockSize:]
	case full2:
		blocks1(&d2.h, &d2.buf[0], 1)
	}
	if full1 {
		d1.nbuf = 0
	}
	if full2 {
		d2.nbuf = 0
	}

	// The bulk: straight from the callers' slices, two blocks at a time.
	if n := min(len(p1), len(p2)) / blockSize; n > 0 {
		blocks2(&d1.h, &d2.h, &p1[0], &p2[0], n)
		p1 = p1[n*blockSize:]
		p2 = p2[n*blockSize:]
	}
	d1.finish(p1)
	d2.finish(p2)
}

// topUp moves the start of p into d's partial block, if d has one, and
// returns the rest of p. full reports that the partial block is now
// complete and must be compressed before the rest of p.
func (d *Digest) topUp(p []byte) (full bool, rest []byte) {
	if d.nbuf == 0 {
		return false, p
	}
	n := copy(d.buf[d.nbuf:], p)
	d.nbuf += n
	return d.nbuf == blockSize, p[n:]
}

// finish compresses the whole blocks of p on their own and buffers the
// tail. d's partial block must be empty unless p is.
func (d *Digest) finish(p []byte) {
	if n := len(p) / blockSize; n > 0 {
		blocks1(&d.h, &p[0], n)
		p = p[n*blockSize:]
	}
	if len(p) > 0 {
		d.nbuf = copy(d.buf[:], p)
	}
}

// Sum appends the digest of the bytes written so far to b. It does not
// change d.
func (d *Digest) Sum(b []byte) []byte {
	if d.fb != nil {
		return d.fb.Sum(b)
	}
	c := *d
	// Padding: 0x80, zeros up to 56 mod 64, the bit length big-endian.
	var pad [blockSize + 8]byte
	pad[0] = 0x80
	n := blockSize - 8 - int(c.length%blockSize)
	if n <= 0 {
		n += blockSize
	}
	binary.BigEndian.PutUint64(pad[n:], c.length<<3)
	c.write(pad[:n+8])

	var out [size]byte
	for i, v := range c.h {
		binary.BigEndian.PutUint32(out[4*i:], v)
	}
	return append(b, out[:]...)
}
