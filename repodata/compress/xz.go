package compress

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// xzReader decodes the .xz container format (tukaani.org/xz/xz-file-format.txt)
// and hands only the LZMA2 data of each block to ulikunitz/xz/lzma.
//
// ulikunitz/xz's own xz.Reader allocates, for every block, the whole
// dictionary the block header declares, up to 4 GiB: a 512-byte file of
// eight streams made it take 8 GB of memory and 12 s to return 40 bytes.
// Here the dictionary is checked before it is allocated and capped at
// what the block can use: its declared uncompressed size and MaxSize,
// since no match reaches further back than the output so far. The total
// allocated over all blocks is bounded by maxWindow plus four times the
// output so far, so many small blocks cannot force repeated large
// allocations either; real files allocate one dictionary per stream, or
// one per block of several dictionaries' worth of output (xz -T).
//
// Only the LZMA2 filter is supported (as in ulikunitz/xz), and the check
// types None, CRC32, CRC64 and SHA-256 (all that xz writes).
type xzReader struct {
	src     *bufio.Reader
	maxSize int64 // ReaderOptions.MaxSize, 0 for none
	state   int
	err     error

	flags   [2]byte // stream flags of the current stream
	check   xzCheck
	records []xzRecord // blocks of the current stream, for the index

	out       int64 // bytes decoded so far, all streams
	dictTotal int64 // dictionary bytes allocated so far

	// The current block.
	lz        *lzma.Reader2
	lzIn      countingReader
	headerLen int64
	compSize  int64 // declared compressed size, -1 if absent
	plainSize int64 // declared uncompressed size, -1 if absent
	blockOut  int64
}

const (
	xzStreamHeader  = iota // at the start of input
	xzBlockOrIndex         // after a stream header or a block
	xzStreamPadding        // after a stream footer
)

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

type xzRecord struct{ unpadded, plain int64 }

func newXzReader(src *bufio.Reader, maxSize int64) *xzReader {
	return &xzReader{src: src, maxSize: maxSize}
}

func (x *xzReader) Read(p []byte) (int, error) {
	for x.err == nil {
		if x.lz == nil {
			x.err = x.next()
			continue
		}
		n, err := x.lz.Read(p)
		x.check.write(p[:n])
		x.blockOut += int64(n)
		x.out += int64(n)
		if x.plainSize >= 0 && x.blockOut > x.plainSize {
			err = errors.New("xz: block larger than its header says")
		} else if err == io.EOF {
			err = x.endBlock()
		}
		if err != nil {
			x.err = noEOF(err)
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
	return 0, x.err
}

// next reads the container up to the data of the next block, or to the
// end of input (io.EOF).
func (x *xzReader) next() error {
	switch x.state {
	case xzStreamHeader:
		var h [12]byte
		if _, err := io.ReadFull(x.src, h[:]); err != nil {
			return noEOF(err)
		}
		return x.streamHeader(h[:])
	case xzBlockOrIndex:
		size, err := x.src.ReadByte()
		if err != nil {
			return noEOF(err)
		}
		if size == 0 {
			if err := x.index(); err != nil {
				return err
			}
			x.state = xzStreamPadding
			return nil
		}
		return x.blockHeader(size)
	default:
		// Stream padding is zero bytes in groups of four; anything else
		// after a stream must be the next stream.
		var h [12]byte
		n, err := io.ReadFull(x.src, h[:4])
		if n == 0 && err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return noEOF(err)
		}
		if h == [12]byte{} {
			return nil
		}
		if _, err := io.ReadFull(x.src, h[4:]); err != nil {
			return noEOF(err)
		}
		return x.streamHeader(h[:])
	}
}

func (x *xzReader) streamHeader(h []byte) error {
	if !bytes.Equal(h[:6], xzMagic) {
		return errors.New("xz: not an xz stream")
	}
	if binary.LittleEndian.Uint32(h[8:]) != crc32.ChecksumIEEE(h[6:8]) {
		return errors.New("xz: stream header checksum mismatch")
	}
	if h[6] != 0 || h[7]&0xf0 != 0 {
		return errors.New("xz: unsupported stream flags")
	}
	if err := x.check.init(h[7]); err != nil {
		return err
	}
	x.flags = [2]byte{h[6], h[7]}
	x.records = x.records[:0]
	x.state = xzBlockOrIndex
	return nil
}

// blockHeader reads the rest of a block header whose first byte is size
// and starts decoding the block's data.
func (x *xzReader) blockHeader(size byte) error {
	h := make([]byte, (int(size)+1)*4)
	h[0] = size
	if _, err := io.ReadFull(x.src, h[1:]); err != nil {
		return noEOF(err)
	}
	body, sum := h[:len(h)-4], h[len(h)-4:]
	if binary.LittleEndian.Uint32(sum) != crc32.ChecksumIEEE(body) {
		return errors.New("xz: block header checksum mismatch")
	}
	flags := body[1]
	if flags&0x3c != 0 {
		return errors.New("xz: unsupported block flags")
	}
	if flags&0x03 != 0 {
		return errors.New("xz: unsupported filter chain (only LZMA2 is)")
	}
	rest := body[2:]
	x.compSize, x.plainSize = -1, -1
	var err error
	if flags&0x40 != 0 {
		if x.compSize, rest, err = xzUvarint(rest); err != nil {
			return err
		}
		if x.compSize == 0 {
			return errors.New("xz: zero compressed size in block header")
		}
	}
	if flags&0x80 != 0 {
		if x.plainSize, rest, err = xzUvarint(rest); err != nil {
			return err
		}
	}
	var id, propsLen int64
	if id, rest, err = xzUvarint(rest); err != nil {
		return err
	}
	if propsLen, rest, err = xzUvarint(rest); err != nil {
		return err
	}
	if id != 0x21 || propsLen != 1 || len(rest) < 1 {
		return fmt.Errorf("xz: unsupported filter %#x (only LZMA2 is)", id)
	}
	if !allZero(rest[1:]) {
		return errors.New("xz: non-zero block header padding")
	}
	dict, err := xzDictSize(rest[0])
	if err != nil {
		return err
	}

	if x.plainSize >= 0 {
		dict = min(dict, x.plainSize)
	}
	if x.maxSize > 0 {
		dict = min(dict, x.maxSize)
	}
	dict = max(dict, lzma.MinDictCap)
	if dict > maxWindow {
		return fmt.Errorf("xz: dictionary of %d bytes exceeds the limit of %d", dict, maxWindow)
	}
	x.dictTotal += dict
	if x.dictTotal > maxWindow+4*x.out {
		return fmt.Errorf("xz: blocks need %d bytes of dictionaries for %d bytes of output", x.dictTotal, x.out)
	}

	x.lzIn = countingReader{r: x.src}
	lz, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(&x.lzIn)
	if err != nil {
		return err
	}
	x.lz = lz
	x.headerLen = int64(len(h))
	x.blockOut = 0
	x.check.reset()
	return nil
}

// endBlock checks the sizes, padding and check of the block just decoded.
func (x *xzReader) endBlock() error {
	if !x.lz.EOS() {
		return io.ErrUnexpectedEOF
	}
	x.lz = nil
	comp := x.lzIn.n
	if x.compSize >= 0 && comp != x.compSize {
		return errors.New("xz: block compressed size differs from its header")
	}
	if x.plainSize >= 0 && x.blockOut != x.plainSize {
		return errors.New("xz: block uncompressed size differs from its header")
	}
	var buf [3 + 64]byte
	pad := (4 - (x.headerLen+comp)%4) % 4
	tail := buf[:pad+int64(x.check.size)]
	if _, err := io.ReadFull(x.src, tail); err != nil {
		return noEOF(err)
	}
	if !allZero(tail[:pad]) {
		return errors.New("xz: non-zero block padding")
	}
	if !x.check.verify(tail[pad:]) {
		return errors.New("xz: block check mismatch")
	}
	x.records = append(x.records, xzRecord{
		unpadded: x.headerLen + comp + int64(x.check.size),
		plain:    x.blockOut,
	})
	return nil
}

// index reads the index (its indicator byte already read) and the stream
// footer, and checks them against the blocks read.
func (x *xzReader) index() error {
	crc := crc32.Update(0, crc32.IEEETable, []byte{0})
	size := int64(1)
	uvarint := func() (int64, error) {
		var v uint64
		for i := 0; i < 9; i++ {
			b, err := x.src.ReadByte()
			if err != nil {
				return 0, noEOF(err)
			}
			crc = crc32.Update(crc, crc32.IEEETable, []byte{b})
			size++
			if i > 0 && b == 0 {
				break
			}
			v |= uint64(b&0x7f) << (7 * i)
			if b&0x80 == 0 {
				return int64(v), nil
			}
		}
		return 0, errors.New("xz: invalid integer in index")
	}
	count, err := uvarint()
	if err != nil {
		return err
	}
	if count != int64(len(x.records)) {
		return errors.New("xz: index does not match the blocks")
	}
	for _, rec := range x.records {
		unpadded, err := uvarint()
		if err != nil {
			return err
		}
		plain, err := uvarint()
		if err != nil {
			return err
		}
		if unpadded != rec.unpadded || plain != rec.plain {
			return errors.New("xz: index does not match the blocks")
		}
	}
	var buf [3 + 4 + 12]byte
	pad := (4 - size%4) % 4
	tail := buf[:pad+4+12]
	if _, err := io.ReadFull(x.src, tail); err != nil {
		return noEOF(err)
	}
	if !allZero(tail[:pad]) {
		return errors.New("xz: non-zero index padding")
	}
	crc = crc32.Update(crc, crc32.IEEETable, tail[:pad])
	if binary.LittleEndian.Uint32(tail[pad:]) != crc {
		return errors.New("xz: index checksum mismatch")
	}
	size += pad + 4
	f := tail[pad+4:]
	if binary.LittleEndian.Uint32(f) != crc32.ChecksumIEEE(f[4:10]) {
		return errors.New("xz: stream footer checksum mismatch")
	}
	if (int64(binary.LittleEndian.Uint32(f[4:]))+1)*4 != size {
		return errors.New("xz: stream footer does not match the index size")
	}
	if f[8] != x.flags[0] || f[9] != x.flags[1] {
		return errors.New("xz: stream footer flags differ from the header")
	}
	if f[10] != 'Y' || f[11] != 'Z' {
		return errors.New("xz: invalid stream footer")
	}
	return nil
}

// xzUvarint decodes a multibyte integer of the xz format from p.
func xzUvarint(p []byte) (int64, []byte, error) {
	var v uint64
	for i := 0; i < 9 && i < len(p); i++ {
		b := p[i]
		if i > 0 && b == 0 {
			break
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return int64(v), p[i+1:], nil
		}
	}
	return 0, nil, errors.New("xz: invalid integer in block header")
}

// xzDictSize decodes the LZMA2 dictionary size property.
func xzDictSize(b byte) (int64, error) {
	switch {
	case b > 40:
		return 0, errors.New("xz: invalid LZMA2 dictionary size")
	case b == 40:
		return 1<<32 - 1, nil
	}
	return int64(2|b&1) << (b/2 + 11), nil
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// xzCheck is the integrity check of an xz stream.
type xzCheck struct {
	id    byte
	size  int
	crc32 uint32
	crc64 uint64
	sha   hash.Hash
}

var crc64Table = crc64.MakeTable(crc64.ECMA)

func (c *xzCheck) init(id byte) error {
	c.id = id
	switch id {
	case 0x00:
		c.size = 0
	case 0x01:
		c.size = 4
	case 0x04:
		c.size = 8
	case 0x0a:
		c.size = 32
		if c.sha == nil {
			c.sha = sha256.New()
		}
	default:
		return fmt.Errorf("xz: unsupported check type %#x", id)
	}
	return nil
}

func (c *xzCheck) reset() {
	c.crc32, c.crc64 = 0, 0
	if c.id == 0x0a {
		c.sha.Reset()
	}
}

func (c *xzCheck) write(p []byte) {
	switch c.id {
	case 0x01:
		c.crc32 = crc32.Update(c.crc32, crc32.IEEETable, p)
	case 0x04:
		c.crc64 = crc64.Update(c.crc64, crc64Table, p)
	case 0x0a:
		c.sha.Write(p)
	}
}

func (c *xzCheck) verify(stored []byte) bool {
	switch c.id {
	case 0x01:
		return binary.LittleEndian.Uint32(stored) == c.crc32
	case 0x04:
		return binary.LittleEndian.Uint64(stored) == c.crc64
	case 0x0a:
		return bytes.Equal(stored, c.sha.Sum(nil))
	}
	return true
}
