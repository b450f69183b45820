package rpmtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Tag numbers from rpm's include/rpm/rpmtag.h and the signature tags from
// lib/rpmtag.h (RPMSIGTAG_*). Only those this package writes itself.
const (
	tagHeaderSignatures = 62
	tagHeaderImmutable  = 63

	sigTagRSA         = 268
	sigTagSHA1        = 269
	sigTagSHA256      = 273
	sigTagSize        = 1000
	sigTagPGP         = 1002
	sigTagMD5         = 1004
	sigTagPayloadSize = 1007

	tagName            = 1000
	tagVersion         = 1001
	tagRelease         = 1002
	tagEpoch           = 1003
	tagSummary         = 1004
	tagDescription     = 1005
	tagGroup           = 1016
	tagChangelogTime   = 1080
	tagChangelogName   = 1081
	tagChangelogText   = 1082
	tagFileModes       = 1030
	tagFileFlags       = 1037
	tagSourceRPM       = 1044
	tagProvideName     = 1047
	tagRequireFlags    = 1048
	tagRequireName     = 1049
	tagRequireVersion  = 1050
	tagConflictFlags   = 1053
	tagConflictName    = 1054
	tagConflictVersion = 1055
	tagObsoleteName    = 1090
	tagSourcePackage   = 1106
	tagProvideFlags    = 1112
	tagProvideVersion  = 1113
	tagObsoleteFlags   = 1114
	tagObsoleteVersion = 1115
	tagDirIndexes      = 1116
	tagBasenames       = 1117
	tagDirNames        = 1118
	tagPayloadFormat   = 1124
	tagPayloadComp     = 1125

	tagOldSuggestsName    = 1156
	tagOldSuggestsVersion = 1157
	tagOldSuggestsFlags   = 1158
	tagOldEnhancesName    = 1159
	tagOldEnhancesVersion = 1160
	tagOldEnhancesFlags   = 1161

	tagFileDigestAlgo    = 5011
	tagRecommendName     = 5046
	tagRecommendVersion  = 5047
	tagRecommendFlags    = 5048
	tagSuggestName       = 5049
	tagSuggestVersion    = 5050
	tagSuggestFlags      = 5051
	tagSupplementName    = 5052
	tagSupplementVersion = 5053
	tagSupplementFlags   = 5054
	tagEnhanceName       = 5055
	tagEnhanceVersion    = 5056
	tagEnhanceFlags      = 5057
	tagPayloadDigest     = 5092
)

// Header entry types (rpmTagType_e).
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

var headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

const leadSize = 96

// entry is one header tag's value, already in its on-disk encoding.
type entry struct {
	typ   uint32
	count uint32
	data  []byte
}

// header is an RPM header as a set of tags. The region tag is not stored:
// encode adds it.
type header map[int]entry

func stringEntry(s string) entry {
	return entry{typ: typeString, count: 1, data: append([]byte(s), 0)}
}

func stringArrayEntry(ss []string) entry {
	var b []byte
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return entry{typ: typeStringArray, count: uint32(len(ss)), data: b}
}

func int32Entry(vs []uint32) entry {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return entry{typ: typeInt32, count: uint32(len(vs)), data: b}
}

func binEntry(b []byte) entry {
	return entry{typ: typeBin, count: uint32(len(b)), data: append([]byte(nil), b...)}
}

// alignment is the boundary rpm requires for the data of each type
// (hdrchkAlign): misaligned integers make librpm reject the header.
func alignment(typ uint32) int {
	switch typ {
	case typeInt16:
		return 2
	case typeInt32:
		return 4
	case typeInt64:
		return 8
	}
	return 1
}

// encode serializes h the way rpm's headerExport does: an index sorted by
// tag, preceded by the region entry regionTag (63 for the main header, 62
// for the signature header) whose trailer, the last 16 bytes of the data
// store, points back at the whole index. Data is laid out in index order,
// so offsets increase, which librpm checks.
func (h header) encode(regionTag int) []byte {
	tags := make([]int, 0, len(h))
	for t := range h {
		tags = append(tags, t)
	}
	sort.Ints(tags)

	var data []byte
	offsets := make([]int, len(tags))
	for i, t := range tags {
		e := h[t]
		if a := alignment(e.typ); len(data)%a != 0 {
			data = append(data, make([]byte, a-len(data)%a)...)
		}
		offsets[i] = len(data)
		data = append(data, e.data...)
	}
	n := len(tags) + 1
	trailerOffset := len(data)
	data = binary.BigEndian.AppendUint32(data, uint32(regionTag))
	data = binary.BigEndian.AppendUint32(data, typeBin)
	data = binary.BigEndian.AppendUint32(data, uint32(int32(-16*n)))
	data = binary.BigEndian.AppendUint32(data, 16)

	out := append([]byte(nil), headerMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(n))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	appendIndex := func(tag int, typ uint32, off int, count uint32) {
		out = binary.BigEndian.AppendUint32(out, uint32(tag))
		out = binary.BigEndian.AppendUint32(out, typ)
		out = binary.BigEndian.AppendUint32(out, uint32(off))
		out = binary.BigEndian.AppendUint32(out, count)
	}
	appendIndex(regionTag, typeBin, trailerOffset, 16)
	for i, t := range tags {
		appendIndex(t, h[t].typ, offsets[i], h[t].count)
	}
	return append(out, data...)
}

var errShortHeader = errors.New("rpmtest: short header")

// decodeHeader parses the header at the start of b. It returns the tags
// (without the region tag) and the header's length in bytes. It trusts its
// input more than a real reader should: it only ever reads what rpmpack or
// encode wrote.
func decodeHeader(b []byte) (header, int, error) {
	if len(b) < 16 {
		return nil, 0, errShortHeader
	}
	if !bytes.Equal(b[:4], headerMagic[:4]) {
		return nil, 0, errors.New("rpmtest: bad header magic")
	}
	il := int(binary.BigEndian.Uint32(b[8:]))
	dl := int(binary.BigEndian.Uint32(b[12:]))
	size := 16 + 16*il + dl
	if il < 0 || dl < 0 || len(b) < size {
		return nil, 0, errShortHeader
	}
	index := b[16 : 16+16*il]
	store := b[16+16*il : size]
	h := header{}
	for i := 0; i < il; i++ {
		ie := index[16*i:]
		tag := int(binary.BigEndian.Uint32(ie))
		typ := binary.BigEndian.Uint32(ie[4:])
		off := int(binary.BigEndian.Uint32(ie[8:]))
		count := binary.BigEndian.Uint32(ie[12:])
		if tag == tagHeaderImmutable || tag == tagHeaderSignatures {
			continue
		}
		if off < 0 || off > len(store) {
			return nil, 0, fmt.Errorf("rpmtest: tag %d: offset %d out of range", tag, off)
		}
		n, err := dataLen(typ, count, store[off:])
		if err != nil {
			return nil, 0, fmt.Errorf("rpmtest: tag %d: %w", tag, err)
		}
		h[tag] = entry{typ: typ, count: count, data: append([]byte(nil), store[off:off+n]...)}
	}
	return h, size, nil
}

func dataLen(typ, count uint32, b []byte) (int, error) {
	var n int
	switch typ {
	case typeNull:
		n = 0
	case typeChar, typeInt8, typeBin:
		n = int(count)
	case typeInt16:
		n = 2 * int(count)
	case typeInt32:
		n = 4 * int(count)
	case typeInt64:
		n = 8 * int(count)
	case typeString, typeStringArray, typeI18NString:
		for i := uint32(0); i < count; i++ {
			j := bytes.IndexByte(b[n:], 0)
			if j < 0 {
				return 0, errors.New("unterminated string")
			}
			n += j + 1
		}
	default:
		return 0, fmt.Errorf("unknown type %d", typ)
	}
	if n > len(b) {
		return 0, errors.New("data past end of store")
	}
	return n, nil
}

// strings decodes a STRING, I18NSTRING or STRING_ARRAY entry.
func (e entry) strings() []string {
	var out []string
	b := e.data
	for i := uint32(0); i < e.count; i++ {
		j := bytes.IndexByte(b, 0)
		if j < 0 {
			break
		}
		out = append(out, string(b[:j]))
		b = b[j+1:]
	}
	return out
}

// uint32s decodes an INT32 entry.
func (e entry) uint32s() []uint32 {
	out := make([]uint32, 0, e.count)
	for i := 0; i+4 <= len(e.data); i += 4 {
		out = append(out, binary.BigEndian.Uint32(e.data[i:]))
	}
	return out
}

// Layout says where the parts of an RPM file are, as byte offsets from the
// start of the file. The parts are contiguous: lead [0, SignatureStart),
// signature header [SignatureStart, HeaderStart) including its padding to
// 8 bytes, main header [HeaderStart, PayloadStart), compressed payload
// [PayloadStart, Size).
type Layout struct {
	SignatureStart int64 // always 96, the size of the lead
	HeaderStart    int64 // rpm-md's rpm:header-range start
	PayloadStart   int64 // rpm-md's rpm:header-range end
	Size           int64
}

// ParseLayout finds the parts of the RPM file b. It checks only what it
// needs to find them: the lead and header magics and that the headers fit
// in b. Tests use it to cut or corrupt a file at a chosen part.
func ParseLayout(b []byte) (Layout, error) {
	if len(b) < leadSize || !bytes.Equal(b[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
		return Layout{}, errors.New("rpmtest: no RPM lead")
	}
	_, sigLen, err := decodeHeader(b[leadSize:])
	if err != nil {
		return Layout{}, fmt.Errorf("rpmtest: signature header: %w", err)
	}
	hs := leadSize + sigLen + (8-sigLen%8)%8
	if hs > len(b) {
		return Layout{}, errShortHeader
	}
	_, hLen, err := decodeHeader(b[hs:])
	if err != nil {
		return Layout{}, fmt.Errorf("rpmtest: main header: %w", err)
	}
	return Layout{
		SignatureStart: leadSize,
		HeaderStart:    int64(hs),
		PayloadStart:   int64(hs + hLen),
		Size:           int64(len(b)),
	}, nil
}

// lead builds the 96-byte legacy lead. librpm checks only the magic, the
// major version and the signature type, but we fill it like rpmbuild:
// type 1 for source packages and the NEVR as the name.
func lead(nevr string, source bool) []byte {
	b := make([]byte, leadSize)
	copy(b, []byte{0xed, 0xab, 0xee, 0xdb, 3, 0})
	if source {
		b[7] = 1
	}
	b[9] = 1 // archnum: what rpmbuild writes on x86
	n := []byte(nevr)
	if len(n) > 65 {
		n = n[:65]
	}
	copy(b[10:76], n)
	b[77] = 1 // osnum: Linux
	b[79] = 5 // RPMSIGTYPE_HEADERSIG
	return b
}
