package compress

import (
	"bytes"
	stdgzip "compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	dsbzip2 "github.com/dsnet/compress/bzip2"
)

// FuzzReader feeds arbitrary input to every reader: the first byte picks
// the type, the rest is the stream. Readers must not panic, must keep to
// MaxSize, and must agree with a second decoder where there is one.
func FuzzReader(f *testing.F) {
	for _, typ := range allTypes {
		for _, data := range [][]byte{nil, []byte("x"), primaryXML(20_000)[:20_000]} {
			z := compress(f, typ, data, 1, 0)
			f.Add(append([]byte{byte(typ)}, z...))
			f.Add(append(append([]byte{byte(typ)}, z...), z...))
		}
	}
	f.Add(append([]byte{byte(Zstd)}, zstdRawFrame(0x88, []byte("raw"))...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		typ, z := Type(in[0]%5), in[1:]
		const limit = 1 << 20
		got, err := decompress(z, typ, ReaderOptions{MaxSize: limit})
		if errors.Is(err, errDecoderPanic) {
			t.Fatal(err)
		}
		if len(got) > limit {
			t.Fatalf("read %d bytes; MaxSize is %d", len(got), limit)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "compress: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		// What we accept, a second decoder must read the same way.
		var other io.Reader
		switch typ {
		case Gzip:
			r, err := stdgzip.NewReader(bytes.NewReader(z))
			if err != nil {
				t.Fatalf("we read %d bytes; compress/gzip: %v", len(got), err)
			}
			other = r
		case Bzip2:
			r, _ := dsbzip2.NewReader(bytes.NewReader(z), nil)
			other = r
		default:
			return
		}
		want, err := io.ReadAll(io.LimitReader(other, limit+1))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("we read %d bytes; the other decoder %d bytes, %v", len(got), len(want), err)
		}
	})
}

// FuzzRoundTrip checks that everything written reads back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(nil), byte(Gzip), uint8(1))
	f.Add([]byte("<package/>"), byte(Zstd), uint8(4))
	f.Add(primaryXML(50_000)[:50_000], byte(Xz), uint8(2))
	f.Add(bytes.Repeat([]byte{0}, 70_000), byte(Bzip2), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, typ byte, conc uint8) {
		tp := Type(typ % 5)
		z := compress(t, tp, data, int(conc%5), 0)
		got, err := decompress(z, tp, ReaderOptions{MaxSize: int64(len(data))})
		if len(data) == 0 {
			// MaxSize 0 is no limit; the result must still be empty.
			got, err = decompress(z, tp, ReaderOptions{})
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes of %d, %v", tp, len(got), len(data), err)
		}
	})
}
