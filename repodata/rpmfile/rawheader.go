package rpmfile

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unsafe"
)

// An RPM file is a 96-byte lead, the signature header (padded to a
// multiple of 8 bytes), the main header and the payload. A header is a
// 16-byte intro (magic, reserved, entry count, data size), 16 bytes per
// index entry (tag, type, offset, count) and the data store.
//
// rawHeader reads a header into one buffer and decodes tags lazily, on
// request, with every offset and count checked against the store.
// Strings are slices of one string copy of the store, so a header costs
// a handful of allocations however many tags it has; the tags a
// metadata generator never looks at (file digests, owners, inodes, all
// but the newest changelog entries) cost nothing. Eagerly decoding every
// tag, as cavaliergopher/rpm does, made header parsing the largest cost
// of indexing small packages and most of the garbage.

const (
	leadSize   = 96
	introSize  = 16
	entrySize  = 16
	maxEntries = 0xffff    // rpm's hdrchkTags
	maxData    = 256 << 20 // rpm's HEADER_DATA_MAX
)

// Header tag types.
const (
	typeNull        = 0
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

var (
	leadMagic   = []byte{0xed, 0xab, 0xee, 0xdb}
	headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01}
)

type hdrEntry struct {
	tag, typ, off, count uint32
}

type rawHeader struct {
	entries []hdrEntry // sorted by tag
	data    string     // the store, for strings that share its memory
	raw     []byte     // the store, for integers
	size    int        // bytes the header occupies in the file, padding included
	a       *arena     // where decoded arrays go; nil: allocated
}

// lead is what rpm still reads from the 96-byte lead.
type lead struct {
	source bool // package type 1
}

func readLead(r io.Reader) (lead, error) {
	var b [leadSize]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return lead{}, truncated(err, "lead")
	}
	return parseLead(b[:])
}

// parseLead parses the 96 bytes of a lead.
func parseLead(b []byte) (lead, error) {
	if !bytes.Equal(b[:4], leadMagic) {
		return lead{}, ErrNotRPM
	}
	if b[4] < 3 || b[4] > 4 {
		return lead{}, fmt.Errorf("%w: unsupported RPM format version %d", ErrMalformed, b[4])
	}
	return lead{source: binary.BigEndian.Uint16(b[6:8]) == 1}, nil
}

// readRawHeader reads one header from r. pad: the header is followed by
// padding to a multiple of 8 bytes (the signature header is).
func readRawHeader(r io.Reader, what string, pad bool) (*rawHeader, error) {
	var intro [introSize]byte
	if _, err := io.ReadFull(r, intro[:]); err != nil {
		return nil, truncated(err, what)
	}
	total, err := introTotal(intro[:], what)
	if err != nil {
		return nil, err
	}
	b, err := readN(r, int64(total-introSize))
	if err != nil {
		return nil, truncated(err, what)
	}
	h := new(rawHeader)
	if err := h.parse(intro[:], b, what, nil); err != nil {
		return nil, err
	}
	if pad {
		if p := (8 - h.size%8) % 8; p > 0 {
			var skip [8]byte
			if _, err := io.ReadFull(r, skip[:p]); err != nil {
				return nil, truncated(err, what)
			}
			h.size += p
		}
	}
	return h, nil
}

// introTotal returns the bytes a header takes, from its 16-byte intro at
// the start of b, unpadded.
func introTotal(b []byte, what string) (int, error) {
	if !bytes.Equal(b[:4], headerMagic) {
		return 0, fmt.Errorf("%w: bad %s magic", ErrMalformed, what)
	}
	n := binary.BigEndian.Uint32(b[8:12])
	dlen := binary.BigEndian.Uint32(b[12:16])
	if n > maxEntries || dlen > maxData {
		return 0, fmt.Errorf("%w: %s claims %d entries and %d bytes of data", ErrMalformed, what, n, dlen)
	}
	return introSize + int(n)*entrySize + int(dlen), nil
}

// parse fills h from a header's intro (already checked by introTotal)
// and the index and store that follow it, b, all of it. The header's
// strings share b's memory, which must not be written while they are
// in use. Index slices come from a (nil: allocated).
func (h *rawHeader) parse(intro, b []byte, what string, a *arena) error {
	n := int(binary.BigEndian.Uint32(intro[8:12]))
	dlen := binary.BigEndian.Uint32(intro[12:16])
	h.entries = a.entries(h, n)
	h.a = a
	h.size = introSize + len(b)
	for i := range h.entries {
		e := b[i*entrySize:]
		h.entries[i] = hdrEntry{
			tag:   binary.BigEndian.Uint32(e[0:4]),
			typ:   binary.BigEndian.Uint32(e[4:8]),
			off:   binary.BigEndian.Uint32(e[8:12]),
			count: binary.BigEndian.Uint32(e[12:16]),
		}
		if h.entries[i].off > dlen {
			return fmt.Errorf("%w: %s tag %d points past the data", ErrMalformed, what, h.entries[i].tag)
		}
	}
	if !slices.IsSortedFunc(h.entries, cmpEntry) {
		slices.SortStableFunc(h.entries, cmpEntry)
	}
	h.raw = b[n*entrySize:]
	h.data = ""
	if len(h.raw) > 0 {
		h.data = unsafe.String(&h.raw[0], len(h.raw))
	}
	return nil
}

func cmpEntry(x, y hdrEntry) int { return cmp.Compare(x.tag, y.tag) }

// readN reads exactly n bytes. Sizes come from the file, so they are not
// trusted for the allocation: up to 4 MiB (nearly every header) is
// allocated at once, beyond that the buffer grows only with what is
// really read, so a truncated file claiming a huge header costs little.
func readN(r io.Reader, n int64) ([]byte, error) {
	const direct = 4 << 20
	if n <= direct {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var buf bytes.Buffer
	buf.Grow(direct)
	if _, err := io.CopyN(&buf, r, n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func truncated(err error, what string) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends inside the %s (truncated?)", ErrMalformed, what)
	}
	return err
}

func (h *rawHeader) find(tag uint32) (hdrEntry, bool) {
	i := sort.Search(len(h.entries), func(i int) bool { return h.entries[i].tag >= tag })
	if i < len(h.entries) && h.entries[i].tag == tag {
		return h.entries[i], true
	}
	return hdrEntry{}, false
}

func (h *rawHeader) has(tag uint32) bool { _, ok := h.find(tag); return ok }

// strs decodes a string-typed tag (STRING, STRING_ARRAY, I18NSTRING),
// at most limit strings when limit >= 0. A missing tag is nil without
// error; a tag of another type is an error.
func (h *rawHeader) strs(tag uint32, limit int) ([]string, error) {
	e, ok := h.find(tag)
	if !ok {
		return nil, nil
	}
	switch e.typ {
	case typeString, typeStringArray, typeI18NString:
	default:
		return nil, fmt.Errorf("%w: tag %d has type %d, want a string", ErrMalformed, tag, e.typ)
	}
	count := int(e.count)
	if e.typ == typeString {
		count = 1
	}
	if count > len(h.data) {
		return nil, fmt.Errorf("%w: tag %d claims %d strings", ErrMalformed, tag, count)
	}
	n := count
	if limit >= 0 && limit < n {
		n = limit
	}
	out := h.a.strings(n)
	off := int(e.off)
	for i := 0; i < n; i++ {
		end := indexNUL(h.data, off)
		if end < 0 {
			return nil, fmt.Errorf("%w: string of tag %d runs past the data", ErrMalformed, tag)
		}
		out[i] = h.data[off:end]
		off = end + 1
	}
	return out, nil
}

func indexNUL(s string, from int) int {
	if from > len(s) {
		return -1
	}
	if i := strings.IndexByte(s[from:], 0); i >= 0 {
		return from + i
	}
	return -1
}

// str returns the first string of a string-typed tag, "" when absent or
// malformed (librpm's headerGetString is as forgiving).
func (h *rawHeader) str(tag uint32) string {
	v, err := h.strs(tag, 1)
	if err != nil || len(v) == 0 {
		return ""
	}
	return v[0]
}

// count is the number of values of a tag, as the index says.
func (h *rawHeader) count(tag uint32) (int, bool) {
	e, ok := h.find(tag)
	if !ok {
		return 0, false
	}
	if e.typ == typeString {
		return 1, true
	}
	return int(e.count), true
}

// ints decodes an integer tag of any width, unsigned, as librpm does.
func (h *rawHeader) ints(tag uint32) ([]int64, error) {
	e, ok := h.find(tag)
	if !ok {
		return nil, nil
	}
	return h.decodeInts(e, int(e.count))
}

// decodeInts decodes the first n values of an integer entry.
func (h *rawHeader) decodeInts(e hdrEntry, n int) ([]int64, error) {
	tag := e.tag
	var size int
	switch e.typ {
	case typeChar, typeInt8:
		size = 1
	case typeInt16:
		size = 2
	case typeInt32:
		size = 4
	case typeInt64:
		size = 8
	default:
		return nil, fmt.Errorf("%w: tag %d has type %d, want an integer", ErrMalformed, tag, e.typ)
	}
	end := int64(e.off) + int64(e.count)*int64(size)
	if end > int64(len(h.raw)) {
		return nil, fmt.Errorf("%w: integers of tag %d run past the data", ErrMalformed, tag)
	}
	d := h.raw[e.off:end]
	out := h.a.int64s(min(n, int(e.count)))
	for i := range out {
		switch size {
		case 1:
			out[i] = int64(d[i])
		case 2:
			out[i] = int64(uint16(d[2*i])<<8 | uint16(d[2*i+1]))
		case 4:
			out[i] = int64(binary.BigEndian.Uint32(d[4*i:]))
		case 8:
			out[i] = int64(binary.BigEndian.Uint64(d[8*i:]))
		}
	}
	return out, nil
}

// num is the first value of an integer tag; ok is false when the tag is
// absent or unreadable.
func (h *rawHeader) num(tag uint32) (int64, bool) {
	e, ok := h.find(tag)
	if !ok || e.count == 0 {
		return 0, false
	}
	v, err := h.decodeInts(e, 1)
	if err != nil || len(v) == 0 {
		return 0, false
	}
	return v[0], true
}
