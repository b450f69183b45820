package compress

import (
	"bufio"
	"bytes"
	stdbzip2 "compress/bzip2"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// benchInput is 16 MB of generated primary.xml, or the file named by
// RPMIRROR_BENCH_FILE (an uncompressed metadata file) if set.
func benchInput(b *testing.B) []byte {
	if name := os.Getenv("RPMIRROR_BENCH_FILE"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	return primaryXML(16 << 20)
}

// BenchmarkWriter measures speed (MB/s of input; cpu-MB/s per core) and
// output size (%size: percent of the input) of NewWriter and of the
// levels, windows and block sizes it was chosen from (see writer.go).
// Sub-benchmark names contain slashes; select them level by level:
//
//	go test -run '^$' -bench 'BenchmarkWriter/^zstd$/^better' ./repodata/compress/
func BenchmarkWriter(b *testing.B) {
	type newEnc func(io.Writer) (io.WriteCloser, error)
	gz := func(level, conc, block int) newEnc {
		return func(w io.Writer) (io.WriteCloser, error) { return newGzipEncoder(w, level, conc, block) }
	}
	zs := func(level zstd.EncoderLevel, conc, window int) newEnc {
		return func(w io.Writer) (io.WriteCloser, error) { return newZstdEncoder(w, level, conc, window) }
	}
	cases := []struct {
		name string
		new  newEnc
	}{
		{"NewWriter/gz/c1", func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, Gzip, WriterOptions{}) }},
		{"NewWriter/gz/c2", func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, Gzip, WriterOptions{Concurrency: 2}) }},
		{"NewWriter/zstd/c1", func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, Zstd, WriterOptions{}) }},
		{"NewWriter/zstd/c2", func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, Zstd, WriterOptions{Concurrency: 2}) }},
		{"NewWriter/xz", func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, Xz, WriterOptions{}) }},
		{"NewWriter/bz2", func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, Bzip2, WriterOptions{}) }},

		{"gz/stdlib-L6", func(w io.Writer) (io.WriteCloser, error) { return stdgzip.NewWriterLevel(w, 6) }},
		{"gz/L1", gz(1, 1, 0)},
		{"gz/L2", gz(2, 1, 0)},
		{"gz/L3", gz(3, 1, 0)},
		{"gz/L4", gz(4, 1, 0)},
		{"gz/L5", gz(5, 1, 0)},
		{"gz/L6", gz(6, 1, 0)},
		{"gz/L7", gz(7, 1, 0)},
		{"gz/L9", gz(9, 1, 0)},
		{"gz/default", gz(-1, 1, 0)},
		{"gz/pgzip-L6-c2-128k", gz(6, 2, 128<<10)},
		{"gz/pgzip-L6-c2-256k", gz(6, 2, 256<<10)},
		{"gz/pgzip-L6-c2-1m", gz(6, 2, 1<<20)},
		{"gz/pgzip-L6-c4-256k", gz(6, 4, 256<<10)},

		{"zstd/fastest-c1", zs(zstd.SpeedFastest, 1, 1<<20)},
		{"zstd/default-c1-w8m", zs(zstd.SpeedDefault, 1, 8<<20)},
		{"zstd/default-c1-w1m", zs(zstd.SpeedDefault, 1, 1<<20)},
		{"zstd/default-c2-w1m", zs(zstd.SpeedDefault, 2, 1<<20)},
		{"zstd/better-c1-w8m", zs(zstd.SpeedBetterCompression, 1, 8<<20)},
		{"zstd/better-c1-w2m", zs(zstd.SpeedBetterCompression, 1, 2<<20)},
		{"zstd/better-c1-w1m", zs(zstd.SpeedBetterCompression, 1, 1<<20)},
		{"zstd/better-c2-w8m", zs(zstd.SpeedBetterCompression, 2, 8<<20)},
		{"zstd/better-c2-w2m", zs(zstd.SpeedBetterCompression, 2, 2<<20)},
		{"zstd/better-c2-w1m", zs(zstd.SpeedBetterCompression, 2, 1<<20)},
		{"zstd/better-c4-w1m", zs(zstd.SpeedBetterCompression, 4, 1<<20)},
		{"zstd/best-c1-w8m", zs(zstd.SpeedBestCompression, 1, 8<<20)},
		{"zstd/default-c2-async", func(w io.Writer) (io.WriteCloser, error) {
			// WithEncoderConcurrency alone, without concurrent blocks.
			return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(2))
		}},

		{"xz/dict8m", func(w io.Writer) (io.WriteCloser, error) { return newXzEncoder(w, 8<<20) }},
		{"bz2/L5", func(w io.Writer) (io.WriteCloser, error) { return newBzip2Encoder(w, 5) }},
		{"bz2/L9", func(w io.Writer) (io.WriteCloser, error) { return newBzip2Encoder(w, 9) }},
	}
	data := benchInput(b)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var out bytes.Buffer
			out.Grow(len(data))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			defer reportCPU(b, len(data))()
			for b.Loop() {
				out.Reset()
				w, err := c.new(&out)
				if err != nil {
					b.Fatal(err)
				}
				// 128 KiB writes, as an XML encoder's buffer would do.
				for p := data; len(p) > 0; p = p[min(len(p), 128<<10):] {
					if _, err := w.Write(p[:min(len(p), 128<<10)]); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(100*float64(out.Len())/float64(len(data)), "%size")
		})
	}
}

// BenchmarkReader measures decompression speed (MB/s of output) of
// NewReader for each type, and of the alternatives it was chosen over.
func BenchmarkReader(b *testing.B) {
	data := benchInput(b)
	streams := map[Type][]byte{}
	for _, typ := range allTypes {
		streams[typ] = compress(b, typ, data, 1, 0)
	}
	type newDec func(io.Reader) (io.Reader, error)
	ours := func(typ Type) newDec {
		return func(r io.Reader) (io.Reader, error) { return NewReader(r, typ, ReaderOptions{MaxSize: 1 << 40}) }
	}
	cases := []struct {
		name string
		typ  Type
		new  newDec
	}{
		{"gz", Gzip, ours(Gzip)},
		{"gz/stdlib", Gzip, func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) }},
		{"zstd", Zstd, ours(Zstd)},
		{"xz", Xz, ours(Xz)},
		{"xz/ulikunitz-container", Xz, func(r io.Reader) (io.Reader, error) { return xz.NewReader(bufioReader(r)) }},
		{"bz2", Bzip2, ours(Bzip2)},
		{"bz2/stdlib", Bzip2, func(r io.Reader) (io.Reader, error) { return stdbzip2.NewReader(bufioReader(r)), nil }},
		{"bz2/dsnet", Bzip2, func(r io.Reader) (io.Reader, error) { return dsbzip2.NewReader(bufioReader(r), nil) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			defer reportCPU(b, len(data))()
			for b.Loop() {
				r, err := c.new(bytes.NewReader(streams[c.typ]))
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				if err != nil || n != int64(len(data)) {
					b.Fatal(fmt.Sprint(n, err))
				}
				if c, ok := r.(io.Closer); ok {
					c.Close()
				}
			}
		})
	}
}

func bufioReader(r io.Reader) io.Reader { return bufio.NewReaderSize(r, 64<<10) }

// reportCPU reports the process's CPU time per operation as cpu-MB/s, the
// speed one core would give: the machines we measure on are shared, and
// wall time varies with the load of others while CPU time hardly does.
// Call it as defer reportCPU(b, n)().
func reportCPU(b *testing.B, n int) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			perOp := (cpuTime() - start).Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/perOp/1e6, "cpu-MB/s")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
