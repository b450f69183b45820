package compress

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"strings"
	"testing"
	"time"
)

// xzWithDict returns a valid xz stream of data whose block header declares
// the LZMA2 dictionary size property dictByte (40: 4 GiB - 1).
func xzWithDict(t *testing.T, data []byte, dictByte byte) []byte {
	t.Helper()
	z := compress(t, Xz, data, 1, 0)
	// The block header follows the 12-byte stream header: size byte 2
	// (12 bytes), no flags, filter 0x21 (LZMA2) with 1 byte of
	// properties, padding, CRC32.
	h := z[12:24]
	if h[0] != 2 || h[1] != 0 || h[2] != 0x21 || h[3] != 1 {
		t.Fatalf("unexpected block header % x", h)
	}
	h[4] = dictByte
	binary.LittleEndian.PutUint32(h[8:], crc32.ChecksumIEEE(h[:8]))
	return z
}

// TestXzHugeDictionary checks that a block header declaring a huge
// dictionary cannot make the reader allocate it: ulikunitz/xz's own
// reader allocated 8 GB for eight such streams of 64 bytes each.
func TestXzHugeDictionary(t *testing.T) {
	data := []byte("hello, dictionary\n")
	evil := bytes.Repeat(xzWithDict(t, data, 40), 8)

	start := time.Now()
	_, err := decompress(evil, Xz, ReaderOptions{})
	if err == nil || !strings.Contains(err.Error(), "dictionary") {
		t.Errorf("4 GiB dictionary without MaxSize: %v; want a dictionary error", err)
	}

	// With MaxSize the dictionary can be capped: the stream is valid.
	got, err := decompress(evil, Xz, ReaderOptions{MaxSize: 1 << 20})
	if err != nil || !bytes.Equal(got, bytes.Repeat(data, 8)) {
		t.Errorf("4 GiB dictionary with MaxSize: %q, %v", got, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestXzDictionaryBudget checks that many blocks with large dictionaries
// and little data cannot make the reader allocate again and again.
func TestXzDictionaryBudget(t *testing.T) {
	const dict64MiB = 28 // (2|0) << (28/2 + 11)
	if d, _ := xzDictSize(dict64MiB); d != 64<<20 {
		t.Fatalf("xzDictSize(%d) = %d", dict64MiB, d)
	}
	evil := bytes.Repeat(xzWithDict(t, []byte("x"), dict64MiB), 1000)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decompress(evil, Xz, ReaderOptions{})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "dictionaries") {
		t.Errorf("1000 streams with 64 MiB dictionaries: %v; want a dictionary error", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 200<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

func TestXzDictSize(t *testing.T) {
	tests := []struct {
		b    byte
		want int64
	}{
		{0, 4 << 10}, {1, 6 << 10}, {2, 8 << 10}, {18, 2 << 20}, {22, 8 << 20},
		{38, 2 << 30}, {39, 3 << 30}, {40, 1<<32 - 1},
	}
	for _, tt := range tests {
		got, err := xzDictSize(tt.b)
		if err != nil || got != tt.want {
			t.Errorf("xzDictSize(%d) = %d, %v; want %d", tt.b, got, err, tt.want)
		}
	}
	if _, err := xzDictSize(41); err == nil {
		t.Error("xzDictSize(41) succeeded")
	}
}
