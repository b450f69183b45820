package dir

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/rpmirror/rpmirror/repodata/rpmfile"
)

// This file reads the few header tags a candidate carries (name, epoch,
// version, release, arch, build time) with a handful of small reads: the
// lead, the two header indexes and the strings themselves, nearly always
// within the first read. repodata/rpmfile is the reference reader and
// gives the same answers (the tests compare them on every test package),
// but it has no entry point that stops after the header: Read consumes
// the file to the end. When it gains one, this file goes.

// errNotRPM wraps every reason a file's header cannot be read.
var errNotRPM = errors.New("not a readable RPM header")

// nevra is what List learns from a header.
type nevra struct {
	name, epoch, version, release, arch string
	buildTime                           int64
}

const (
	leadSize   = 96
	introSize  = 16
	entrySize  = 16
	maxEntries = 0xffff    // rpm's limits, as rpmfile has them
	maxData    = 256 << 20 //
	firstRead  = 64 << 10  // lead, signature and index of nearly every package

	tagName          = 1000
	tagVersion       = 1001
	tagRelease       = 1002
	tagEpoch         = 1003
	tagBuildTime     = 1006
	tagArch          = 1022
	tagSourceRPM     = 1044
	tagSourcePackage = 1106
	tagDirNames      = 1118

	typeChar, typeInt8, typeInt16, typeInt32, typeInt64 = 1, 2, 3, 4, 5
	typeString, typeStringArray, typeI18NString         = 6, 8, 9
)

var (
	leadMagic   = []byte{0xed, 0xab, 0xee, 0xdb}
	headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01}
)

// hdrReader reads a file of a known size, keeping its first bytes.
type hdrReader struct {
	r     io.ReaderAt
	size  int64
	first []byte
}

func (h *hdrReader) at(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > h.size {
		return nil, fmt.Errorf("%w: truncated (wants bytes %d-%d of %d)", errNotRPM, off, off+n, h.size)
	}
	if off+n <= int64(len(h.first)) {
		return h.first[off : off+n], nil
	}
	b := make([]byte, n)
	if _, err := h.r.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

type entry struct{ typ, off, count uint32 }

// readNEVRA reads the candidate fields of the RPM in r, which has size
// bytes. I/O errors come back as they are; anything wrong with the
// content wraps errNotRPM.
func readNEVRA(r io.ReaderAt, size int64) (nevra, error) {
	h := &hdrReader{r: r, size: size}
	h.first = make([]byte, min(size, firstRead))
	if m, err := r.ReadAt(h.first, 0); m < len(h.first) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // shorter than it was a moment ago
		}
		return nevra{}, err
	}
	ld, err := h.at(0, leadSize)
	if err != nil {
		return nevra{}, err
	}
	if !bytes.Equal(ld[:4], leadMagic) {
		return nevra{}, fmt.Errorf("%w: no RPM lead", errNotRPM)
	}
	if ld[4] < 3 || ld[4] > 4 {
		return nevra{}, fmt.Errorf("%w: RPM format version %d", errNotRPM, ld[4])
	}
	leadSource := binary.BigEndian.Uint16(ld[6:8]) == 1

	// The signature header, padded to 8 bytes, then the header.
	sigN, sigLen, err := h.intro(leadSize)
	if err != nil {
		return nevra{}, err
	}
	sigSize := int64(sigN)*entrySize + int64(sigLen)
	start := leadSize + introSize + sigSize + (8-sigSize%8)%8
	n, dlen, err := h.intro(start)
	if err != nil {
		return nevra{}, err
	}
	index, err := h.at(start+introSize, int64(n)*entrySize)
	if err != nil {
		return nevra{}, err
	}
	data := start + introSize + int64(n)*entrySize
	if data+int64(dlen) > size {
		return nevra{}, fmt.Errorf("%w: header runs past the end of the file", errNotRPM)
	}
	tags := map[uint32]entry{}
	for i := int64(0); i < int64(n); i++ {
		e := index[i*entrySize:]
		tag := binary.BigEndian.Uint32(e)
		switch tag {
		case tagName, tagVersion, tagRelease, tagEpoch, tagBuildTime, tagArch, tagSourceRPM, tagSourcePackage, tagDirNames:
		default:
			continue
		}
		if _, dup := tags[tag]; dup {
			continue // the first one counts, as in rpmfile
		}
		en := entry{typ: binary.BigEndian.Uint32(e[4:]), off: binary.BigEndian.Uint32(e[8:]), count: binary.BigEndian.Uint32(e[12:])}
		if en.off > dlen {
			return nevra{}, fmt.Errorf("%w: tag %d points past the header data", errNotRPM, tag)
		}
		tags[tag] = en
	}
	// Like rpmfile (and librpm), a tag of the wrong type or running past
	// the data reads as absent; only I/O errors are errors.
	strOK := func(tag uint32) (string, bool, error) {
		e, ok := tags[tag]
		if !ok || (e.typ != typeString && e.typ != typeStringArray && e.typ != typeI18NString) ||
			(e.typ != typeString && e.count == 0) {
			return "", false, nil
		}
		var out []byte
		for off, end := data+int64(e.off), data+int64(dlen); off < end; {
			b, err := h.at(off, min(end-off, 4<<10))
			if err != nil {
				return "", false, err
			}
			if i := bytes.IndexByte(b, 0); i >= 0 {
				return string(append(out, b[:i]...)), true, nil
			}
			out = append(out, b...)
			off += int64(len(b))
		}
		return "", false, nil // not terminated
	}
	str := func(tag uint32) (string, error) {
		s, _, err := strOK(tag)
		return s, err
	}
	num := func(tag uint32) (int64, bool, error) {
		e, ok := tags[tag]
		if !ok || e.count == 0 {
			return 0, false, nil
		}
		var w int64
		switch e.typ {
		case typeChar, typeInt8:
			w = 1
		case typeInt16:
			w = 2
		case typeInt32:
			w = 4
		case typeInt64:
			w = 8
		default:
			return 0, false, nil
		}
		if int64(e.off)+int64(e.count)*w > int64(dlen) {
			return 0, false, nil
		}
		b, err := h.at(data+int64(e.off), w)
		if err != nil {
			return 0, false, err
		}
		var v uint64
		for _, c := range b {
			v = v<<8 | uint64(c)
		}
		return int64(v), true, nil
	}

	var p nevra
	for _, f := range []struct {
		tag uint32
		dst *string
	}{{tagName, &p.name}, {tagVersion, &p.version}, {tagRelease, &p.release}, {tagArch, &p.arch}} {
		s, err := str(f.tag)
		if err != nil {
			return nevra{}, err
		}
		v, ok := rpmfile.CleanText(s)
		if !ok {
			return nevra{}, fmt.Errorf("%w: control characters in tag %d", errNotRPM, f.tag)
		}
		*f.dst = v
	}
	if p.name == "" {
		return nevra{}, fmt.Errorf("%w: no package name", errNotRPM)
	}
	epoch, _, err := num(tagEpoch)
	if err != nil {
		return nevra{}, err
	}
	p.epoch = fmt.Sprint(uint64(epoch))
	if p.buildTime, _, err = num(tagBuildTime); err != nil {
		return nevra{}, err
	}

	// A source package, as librpm (and rpmfile) tell one: SOURCEPACKAGE,
	// else no SOURCERPM and a source lead or a file list in one unnamed
	// directory.
	src, hasSrcPkg, err := num(tagSourcePackage)
	if err != nil {
		return nevra{}, err
	}
	isSource := src != 0
	if !hasSrcPkg {
		if _, has := tags[tagSourceRPM]; !has {
			isSource = leadSource
			if !isSource {
				if e, ok := tags[tagDirNames]; ok && (e.count == 1 || e.typ == typeString) {
					d, ok, err := strOK(tagDirNames)
					if err != nil {
						return nevra{}, err
					}
					isSource = ok && d == ""
				}
			}
		}
	}
	if isSource {
		p.arch = "src"
	}
	return p, nil
}

// intro reads a header's 16-byte introduction at off.
func (h *hdrReader) intro(off int64) (n, dlen uint32, err error) {
	b, err := h.at(off, introSize)
	if err != nil {
		return 0, 0, err
	}
	if !bytes.Equal(b[:4], headerMagic) {
		return 0, 0, fmt.Errorf("%w: bad header magic at byte %d", errNotRPM, off)
	}
	n, dlen = binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])
	if n > maxEntries || dlen > maxData {
		return 0, 0, fmt.Errorf("%w: header at byte %d claims %d entries and %d bytes", errNotRPM, off, n, dlen)
	}
	return n, dlen, nil
}
