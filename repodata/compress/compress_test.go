package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

var allTypes = []Type{None, Gzip, Zstd, Xz, Bzip2}

// compressedTypes are the types that are not None.
var compressedTypes = allTypes[1:]

// compress returns data compressed as t, written in chunks of chunk bytes
// (all at once if chunk is 0).
func compress(t testing.TB, typ Type, data []byte, concurrency, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, typ, WriterOptions{Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	if chunk == 0 {
		chunk = max(len(data), 1)
	}
	for p := data; len(p) > 0; {
		n := min(chunk, len(p))
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatalf("%s: Write: %v", typ, err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("%s: Close: %v", typ, err)
	}
	return buf.Bytes()
}

// decompress reads all of data as t.
func decompress(data []byte, typ Type, opt ReaderOptions) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(data), typ, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func TestParseType(t *testing.T) {
	tests := []struct {
		in      string
		want    Type
		wantErr string // substring; "" for no error
	}{
		{"none", None, ""},
		{"gz", Gzip, ""},
		{"gzip", Gzip, ""},
		{"GZ", Gzip, ""},
		{"zstd", Zstd, ""},
		{"zst", Zstd, ""},
		{"xz", Xz, ""},
		{"bz2", Bzip2, ""},
		{"bzip2", Bzip2, ""},
		{"BZip2", Bzip2, ""},
		{"zck", None, "not supported yet"},
		{"ZCK", None, "not supported yet"},
		{"lzma", None, "unknown compression type"},
		{"", None, "unknown compression type"},
		{" gz", None, "unknown compression type"},
	}
	for _, tt := range tests {
		got, err := ParseType(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseType(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "compress: ") {
			t.Errorf("ParseType(%q) error = %v; want one containing %q", tt.in, err, tt.wantErr)
		}
		if tt.in != "zck" && tt.in != "ZCK" && !errors.Is(err, ErrUnknownType) {
			t.Errorf("ParseType(%q) error %v does not wrap ErrUnknownType", tt.in, err)
		}
	}
}

func TestTypeNames(t *testing.T) {
	tests := []struct {
		t              Type
		String, Suffix string
	}{
		{None, "none", ""},
		{Gzip, "gz", ".gz"},
		{Zstd, "zstd", ".zst"},
		{Xz, "xz", ".xz"},
		{Bzip2, "bz2", ".bz2"},
		{Type(9), "Type(9)", ""},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.String {
			t.Errorf("Type(%d).String() = %q; want %q", uint8(tt.t), got, tt.String)
		}
		if got := tt.t.Suffix(); got != tt.Suffix {
			t.Errorf("Type(%d).Suffix() = %q; want %q", uint8(tt.t), got, tt.Suffix)
		}
		if tt.t.valid() {
			if got, err := ParseType(tt.t.String()); err != nil || got != tt.t {
				t.Errorf("ParseType(%v.String()) = %v, %v", tt.t, got, err)
			}
			if got := FromFilename("primary.xml" + tt.t.Suffix()); got != tt.t {
				t.Errorf("FromFilename(primary.xml%s) = %v", tt.t.Suffix(), got)
			}
		}
	}
}

func TestFromFilename(t *testing.T) {
	tests := []struct {
		name string
		want Type
	}{
		{"repodata/abc-primary.xml.gz", Gzip},
		{"x.gzip", Gzip},
		{"x.gunzip", Gzip},
		{"abc-other.xml.zst", Zstd},
		{"abc-primary.sqlite.xz", Xz},
		{"abc-primary.sqlite.bz2", Bzip2},
		{"x.bzip2", Bzip2},
		{"repomd.xml", None},
		{"abc-primary.xml.zck", None},
		{"x.GZ", None},
		{"gz", None},
		{"", None},
		{"x.zstd", None},
	}
	for _, tt := range tests {
		if got := FromFilename(tt.name); got != tt.want {
			t.Errorf("FromFilename(%q) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{'x'}},
		{"small", []byte("<metadata packages=\"0\"/>\n")},
		{"xml 5MB", primaryXML(5 << 20)},
		{"random 3MB", randomBytes(3 << 20)},
	}
	for _, typ := range allTypes {
		for _, in := range inputs {
			for _, conc := range []int{1, 4} {
				if testing.Short() && len(in.data) > 1<<20 && (typ == Xz || typ == Bzip2) {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/c%d", typ, in.name, conc), func(t *testing.T) {
					// Odd write sizes exercise the encoders' buffering.
					z := compress(t, typ, in.data, conc, 100_003)
					got, err := decompress(z, typ, ReaderOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, in.data) {
						t.Fatalf("round trip changed the data: got %d bytes, want %d", len(got), len(in.data))
					}
					// Reading byte by byte exercises the readers' state
					// machines at every boundary.
					if len(in.data) < 1<<10 {
						r, _ := NewReader(bytes.NewReader(z), typ, ReaderOptions{})
						got, err := io.ReadAll(oneByteReader{r})
						if err != nil || !bytes.Equal(got, in.data) {
							t.Fatalf("byte-by-byte read: %q, %v", got, err)
						}
					}
				})
			}
		}
	}
}

type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// TestDeterministic checks that output depends on the input and on
// whether Concurrency > 1, not on Write sizes nor on the exact
// concurrency: checksums in repomd.xml must be reproducible.
func TestDeterministic(t *testing.T) {
	data := primaryXML(3 << 20)
	for _, typ := range compressedTypes {
		if testing.Short() && (typ == Xz || typ == Bzip2) {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			ref1 := compress(t, typ, data, 1, 0)
			if got := compress(t, typ, data, 0, 4093); !bytes.Equal(got, ref1) {
				t.Error("single-threaded output depends on write sizes")
			}
			if typ != Gzip && typ != Zstd {
				return
			}
			ref2 := compress(t, typ, data, 2, 0)
			for _, c := range []struct{ conc, chunk int }{{2, 1 << 20}, {4, 0}, {4, 65521}, {3, 7}} {
				if got := compress(t, typ, data, c.conc, c.chunk); !bytes.Equal(got, ref2) {
					t.Errorf("concurrent output differs with concurrency %d, writes of %d", c.conc, c.chunk)
				}
			}
		})
	}
}

func TestMaxSize(t *testing.T) {
	const limit = 1 << 20
	// A bomb: a few KB that expand to 16 times the limit.
	bomb := bytes.Repeat([]byte("<rpm:entry name=\"x\"/>\n"), 16*limit/22)
	exact := primaryXML(limit)[:limit]
	for _, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			z := compress(t, typ, exact, 1, 0)
			got, err := decompress(z, typ, ReaderOptions{MaxSize: limit})
			if err != nil || !bytes.Equal(got, exact) {
				t.Errorf("exactly MaxSize bytes: got %d bytes, %v", len(got), err)
			}
			got, err = decompress(z, typ, ReaderOptions{MaxSize: limit - 1})
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("MaxSize-1: error %v; want ErrTooLarge", err)
			}
			if !bytes.Equal(got, exact[:limit-1]) {
				t.Errorf("MaxSize-1: got %d bytes; want the first %d", len(got), limit-1)
			}

			z = compress(t, typ, bomb, 1, 0)
			if typ != None && len(z) > len(bomb)/100 {
				t.Fatalf("bomb compresses to %d bytes; not a bomb", len(z))
			}
			r, _ := NewReader(bytes.NewReader(z), typ, ReaderOptions{MaxSize: limit})
			defer r.Close()
			n, err := io.Copy(io.Discard, r)
			if !errors.Is(err, ErrTooLarge) || n != limit {
				t.Fatalf("bomb: read %d bytes, %v; want %d bytes and ErrTooLarge", n, err, limit)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(limit)) {
				t.Errorf("error %q does not say the limit", err)
			}
			if _, err2 := r.Read(make([]byte, 10)); err2 != err {
				t.Errorf("error not sticky: %v after %v", err2, err)
			}
		})
	}
	if _, err := NewReader(bytes.NewReader(nil), Gzip, ReaderOptions{MaxSize: -1}); err == nil {
		t.Error("negative MaxSize accepted")
	}
}

// TestConcatenated checks that concatenated streams (gzip members, zstd
// frames, xz and bzip2 streams) read as the concatenation of their data.
func TestConcatenated(t *testing.T) {
	a, b := primaryXML(200_000), []byte("second stream\n")
	for _, typ := range compressedTypes {
		t.Run(typ.String(), func(t *testing.T) {
			z := append(compress(t, typ, a, 1, 0), compress(t, typ, b, 1, 0)...)
			z = append(z, compress(t, typ, nil, 1, 0)...)
			got, err := decompress(z, typ, ReaderOptions{})
			if err != nil || !bytes.Equal(got, append(a[:len(a):len(a)], b...)) {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestCorrupt checks that damaged input is an error and never a panic.
func TestCorrupt(t *testing.T) {
	data := primaryXML(100_000)
	for _, typ := range compressedTypes {
		t.Run(typ.String(), func(t *testing.T) {
			z := compress(t, typ, data, 1, 0)
			check := func(what string, in []byte, mayEqual bool) {
				t.Helper()
				got, err := decompress(in, typ, ReaderOptions{})
				if errors.Is(err, errDecoderPanic) {
					t.Fatalf("%s: %v", what, err)
				}
				if err == nil && !(mayEqual && bytes.Equal(got, data)) {
					t.Errorf("%s: no error", what)
				}
				if err != nil && !strings.HasPrefix(err.Error(), "compress: ") {
					t.Errorf("%s: error %q lacks the package prefix", what, err)
				}
			}
			check("empty input", nil, false)
			for n := 1; n < len(z); n += 1 + n/8 {
				check(fmt.Sprintf("truncated to %d of %d bytes", n, len(z)), z[:n], false)
			}
			check("truncated by one byte", z[:len(z)-1], false)
			check("trailing garbage", append(z[:len(z):len(z)], "garbage"...), false)
			check("not compressed", data, false)
			rng := rand.New(rand.NewPCG(3, 4))
			for range 200 {
				bad := bytes.Clone(z)
				i := rng.IntN(len(bad))
				bad[i] ^= 1 << rng.IntN(8)
				// A flip in a field that does not affect the data (a
				// gzip timestamp, say) may go unnoticed.
				check(fmt.Sprintf("bit flip at %d", i), bad, true)
			}
		})
	}
	_, err := decompress(nil, Gzip, ReaderOptions{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("empty gzip input: %v; want io.ErrUnexpectedEOF", err)
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

var errFail = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errFail
	}
	w.n -= len(p)
	return len(p), nil
}

// Close fails the test run if a Writer closes its underlying writer.
func (w *failWriter) Close() error { panic("underlying writer closed") }

func TestWriterStickyError(t *testing.T) {
	data := primaryXML(3 << 20)
	for _, typ := range allTypes {
		for _, conc := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/c%d", typ, conc), func(t *testing.T) {
				before := runtime.NumGoroutine()
				w, err := NewWriter(&failWriter{n: 1000}, typ, WriterOptions{Concurrency: conc})
				if err != nil {
					t.Fatal(err)
				}
				var first error
				for p := data; len(p) > 0 && first == nil; p = p[min(len(p), 32<<10):] {
					_, first = w.Write(p[:min(len(p), 32<<10)])
				}
				closeErr := w.Close()
				if first == nil {
					first = closeErr
				}
				if !errors.Is(first, errFail) {
					t.Fatalf("error %v; want one wrapping %v", first, errFail)
				}
				if typ == None {
					return
				}
				if closeErr != first {
					t.Errorf("Close returned %v after Write returned %v", closeErr, first)
				}
				if _, err := w.Write([]byte("x")); err != first {
					t.Errorf("Write after failure returned %v; want %v", err, first)
				}
				if err := w.Close(); err != first {
					t.Errorf("second Close returned %v; want %v", err, first)
				}
				checkGoroutines(t, before)
			})
		}
	}
}

func TestWriterClose(t *testing.T) {
	for _, typ := range allTypes {
		for _, conc := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/c%d", typ, conc), func(t *testing.T) {
				before := runtime.NumGoroutine()
				fw := &failWriter{n: 1 << 30}
				w, err := NewWriter(fw, typ, WriterOptions{Concurrency: conc})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Write(primaryXML(1 << 20)); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Errorf("second Close: %v", err)
				}
				if typ != None {
					if _, err := w.Write([]byte("x")); err == nil {
						t.Error("Write after Close succeeded")
					}
				}
				checkGoroutines(t, before)
			})
		}
	}
	if _, err := NewWriter(io.Discard, Type(7), WriterOptions{}); !errors.Is(err, ErrUnknownType) {
		t.Errorf("NewWriter(Type(7)): %v", err)
	}
	if _, err := NewWriter(io.Discard, Gzip, WriterOptions{Concurrency: -1}); err == nil {
		t.Error("negative concurrency accepted")
	}
}

func TestReaderClose(t *testing.T) {
	data := primaryXML(1 << 20)
	for _, typ := range allTypes {
		t.Run(typ.String(), func(t *testing.T) {
			z := compress(t, typ, data, 1, 0)
			before := runtime.NumGoroutine()
			r, err := NewReader(bytes.NewReader(z), typ, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Stop half way: Close must still release everything.
			if _, err := io.ReadFull(r, make([]byte, len(data)/2)); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Read(make([]byte, 10)); err == nil {
				t.Error("Read after Close succeeded")
			}
			checkGoroutines(t, before)
		})
	}
	if _, err := NewReader(bytes.NewReader(nil), Type(7), ReaderOptions{}); !errors.Is(err, ErrUnknownType) {
		t.Errorf("NewReader(Type(7)): %v", err)
	}
}

// checkGoroutines fails if more goroutines run than before, once those
// that are exiting have had a moment to do so.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("%d goroutines running, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
}
