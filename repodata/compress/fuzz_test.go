package compress

import (
	"bytes"
	stdbzip2 "compress/bzip2"
	stdgzip "compress/gzip"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

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
	// Structures our writers do not make: several xz blocks with sizes in
	// their headers and an index of several records, several zstd blocks.
	for _, tool := range []struct {
		typ  Type
		argv []string
	}{
		{Xz, []string{"xz", "-c", "-T2", "--block-size=5000"}},
		{Xz, []string{"xz", "-c", "--check=sha256"}},
		{Zstd, []string{"zstd", "-c", "-19", "--no-check"}},
		{Gzip, []string{"gzip", "-c", "-9"}},
		{Bzip2, []string{"bzip2", "-c", "-1"}},
	} {
		cmd := exec.Command(tool.argv[0], tool.argv[1:]...)
		cmd.Stdin = bytes.NewReader(primaryXML(20_000)[:20_000])
		if z, err := cmd.Output(); err == nil {
			f.Add(append([]byte{byte(tool.typ)}, z...))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		typ, z := Type(in[0]%5), in[1:]
		const limit = 1 << 20
		// The fuzzer does not report inputs that hang; a crash it does.
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("%s reader still running after 10s on %d bytes", typ, len(z)))
		})
		defer watchdog.Stop()
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
		// What we accept, the other decoders must read the same way.
		var others []io.Reader
		switch typ {
		case Gzip:
			r, err := stdgzip.NewReader(bytes.NewReader(z))
			if err != nil {
				t.Fatalf("we read %d bytes; compress/gzip: %v", len(got), err)
			}
			others = append(others, r)
		case Bzip2:
			r, _ := dsbzip2.NewReader(bytes.NewReader(z), nil)
			others = append(others, r, stdbzip2.NewReader(bytes.NewReader(z)))
		}
		for _, other := range others {
			want, err := io.ReadAll(io.LimitReader(other, limit+1))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("we read %d bytes; %T %d bytes, %v", len(got), other, len(want), err)
			}
		}
	})
}

// FuzzRoundTrip checks that everything written reads back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte(nil), byte(Gzip), uint8(1))
	f.Add([]byte("<package/>"), byte(Zstd), uint8(4))
	f.Add(primaryXML(8_000)[:8_000], byte(Xz), uint8(2))
	f.Add(bytes.Repeat([]byte{0}, 10_000), byte(Bzip2), uint8(1))
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
