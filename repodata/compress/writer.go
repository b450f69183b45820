package compress

import (
	"errors"
	"fmt"
	"io"

	dsbzip2 "github.com/dsnet/compress/bzip2"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"
)

// WriterOptions configures NewWriter. The zero value is valid.
type WriterOptions struct {
	// Concurrency is the number of goroutines that may compress one
	// stream at the same time. 0 and 1 compress in the goroutine that
	// calls Write and Close. Gzip and zstd use it; xz and bzip2 always
	// compress in the calling goroutine.
	//
	// The bytes written depend on the input, the Type and whether
	// Concurrency is above 1; they do not depend on how the input is split
	// into Write calls nor on the exact Concurrency above 1.
	Concurrency int
}

// Levels and block sizes, chosen by BenchmarkWriter on primary.xml-like
// input (see bench_test.go). Measured on a 2-core x86-64, 16 MB of
// generated primary.xml; zlib -6 (what createrepo_c uses) for reference:
// 32.7 MB/s, 11.4% of the input.
//
// gzipLevel 4: klauspost level 4 compresses 4.3x faster than zlib -6 for
// 5% more output (11.9%); level 1 is only 1.3x faster than level 4 and
// 20% larger than zlib; level 6 and the default (5) cost 1.5-1.9x the
// time of level 4 to save 2-4%.
//
// pgzipBlockSize 256 KiB: each block restarts the deflate stream with a
// 16 KiB dictionary from the previous one; 256 KiB blocks cost 0.3% of
// output against 1 MiB blocks, and keep memory near
// (Concurrency+2) * 2 * 256 KiB plus one flate state per goroutine.
//
// zstdLevel SpeedDefault (zstd level 3): createrepo_c 1.x uses libzstd
// level 10; SpeedDefault is 4.6x faster than that for 7% more output.
// SpeedBetterCompression saves 4% more for half the speed.
//
// bzip2Level 9 and xz's 8 MiB dictionary are what the bzip2 and xz
// command-line tools use by default.
const (
	gzipLevel      = 4
	pgzipBlockSize = 256 << 10
	zstdLevel      = zstd.SpeedDefault
	zstdWindowSize = 8 << 20
	bzip2Level     = 9
	xzDictCap      = 8 << 20
)

var errWriteAfterClose = errors.New("compress: write after Close")

// NewWriter returns a writer that compresses what is written to it as t
// and writes the result to w.
//
// The writer must be closed to finish the stream and release goroutines
// and buffers, also after a failed Write. Close flushes and writes the
// stream trailer but never closes w. Errors are sticky: after a Write
// fails, every later Write and Close returns the same error. Writes
// after Close fail; a second Close returns the first one's result.
//
// For None the writer is w itself with a Close that does nothing.
// The writer is not safe for concurrent use.
func NewWriter(w io.Writer, t Type, opt WriterOptions) (io.WriteCloser, error) {
	if opt.Concurrency < 0 {
		return nil, fmt.Errorf("compress: negative concurrency %d", opt.Concurrency)
	}
	if t == None {
		return nopWriteCloser{w}, nil
	}
	enc, err := newEncoder(w, t, opt.Concurrency)
	if err != nil {
		return nil, err
	}
	return &writer{t: t, enc: enc}, nil
}

// newEncoder returns the library's encoder for t with this package's
// settings.
func newEncoder(w io.Writer, t Type, concurrency int) (io.WriteCloser, error) {
	switch t {
	case Gzip:
		return newGzipEncoder(w, gzipLevel, concurrency, pgzipBlockSize)
	case Zstd:
		return newZstdEncoder(w, zstdLevel, concurrency, zstdWindowSize)
	case Xz:
		return newXzEncoder(w, xzDictCap)
	case Bzip2:
		return newBzip2Encoder(w, bzip2Level)
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownType, t)
}

func newGzipEncoder(w io.Writer, level, concurrency, blockSize int) (io.WriteCloser, error) {
	if concurrency <= 1 {
		enc, err := kgzip.NewWriterLevel(w, level)
		if err != nil {
			return nil, fmt.Errorf("compress: gz: %w", err)
		}
		return enc, nil
	}
	enc, err := pgzip.NewWriterLevel(w, level)
	if err != nil {
		return nil, fmt.Errorf("compress: gz: %w", err)
	}
	if err := enc.SetConcurrency(blockSize, concurrency); err != nil {
		return nil, fmt.Errorf("compress: gz: %w", err)
	}
	return pgzipEncoder{enc}, nil
}

// pgzipEncoder makes pgzip release its goroutines when the stream has
// failed: pgzip's Close returns early on a pending error and leaves the
// goroutine that writes blocks out waiting forever, while Reset closes
// the block queue and waits for all goroutines.
type pgzipEncoder struct{ *pgzip.Writer }

func (e pgzipEncoder) Close() error {
	err := e.Writer.Close()
	if err != nil {
		e.Writer.Reset(io.Discard)
	}
	return err
}

func newZstdEncoder(w io.Writer, level zstd.EncoderLevel, concurrency, window int) (io.WriteCloser, error) {
	opts := []zstd.EOption{
		zstd.WithEncoderLevel(level),
		zstd.WithWindowSize(window),
		zstd.WithEncoderConcurrency(max(concurrency, 1)),
	}
	if concurrency > 1 {
		// Without it a stream uses at most two goroutines whatever the
		// concurrency; with it, jobs of four windows are compressed in
		// parallel, each primed with the tail of the previous one.
		opts = append(opts, zstd.WithConcurrentBlocks(true))
	}
	enc, err := zstd.NewWriter(w, opts...)
	if err != nil {
		return nil, fmt.Errorf("compress: zstd: %w", err)
	}
	return enc, nil
}

func newXzEncoder(w io.Writer, dictCap int) (io.WriteCloser, error) {
	enc, err := xz.WriterConfig{DictCap: dictCap}.NewWriter(w)
	if err != nil {
		return nil, fmt.Errorf("compress: xz: %w", err)
	}
	return enc, nil
}

func newBzip2Encoder(w io.Writer, level int) (io.WriteCloser, error) {
	enc, err := dsbzip2.NewWriter(w, &dsbzip2.WriterConfig{Level: level})
	if err != nil {
		return nil, fmt.Errorf("compress: bz2: %w", err)
	}
	return enc, nil
}

// writer adds the sticky error and the "compress:" prefix to an encoder.
type writer struct {
	t      Type
	enc    io.WriteCloser
	err    error
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.closed {
		return 0, errWriteAfterClose
	}
	n, err := w.enc.Write(p)
	if err != nil {
		w.err = fmt.Errorf("compress: write %s: %w", w.t, err)
		return n, w.err
	}
	return n, nil
}

func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	// Close also after a failed Write: it is what releases the encoders'
	// goroutines.
	if err := w.enc.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("compress: close %s: %w", w.t, err)
	}
	return w.err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
