package compress

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// zstdRawFrame returns a zstd frame holding data in one raw block, with
// the window descriptor wd and no checksum.
func zstdRawFrame(wd byte, data []byte) []byte {
	f := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, wd}
	h := uint32(len(data))<<3 | 1 // last block, raw
	f = append(f, byte(h), byte(h>>8), byte(h>>16))
	return append(f, data...)
}

// TestZstdWindow checks that frames declaring a window over the limit are
// refused, and that frames declaring the largest allowed window do not
// allocate it again for each frame.
func TestZstdWindow(t *testing.T) {
	const (
		window128MiB = 17 << 3 // windowLog 10+17
		window256MiB = 18 << 3
	)
	_, err := decompress(zstdRawFrame(window256MiB, []byte("x")), Zstd, ReaderOptions{})
	if err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("256 MiB window: %v; want a window error", err)
	}

	frames := bytes.Repeat(zstdRawFrame(window128MiB, []byte("x")), 1000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := decompress(frames, Zstd, ReaderOptions{})
	runtime.ReadMemStats(&after)
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("x"), 1000)) {
		t.Errorf("1000 frames with 128 MiB windows: %d bytes, %v", len(got), err)
	}
	t.Logf("allocated %d MiB", (after.TotalAlloc-before.TotalAlloc)>>20)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 300<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}
