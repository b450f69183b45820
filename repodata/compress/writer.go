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

// Levels, windows and block sizes, chosen with BenchmarkWriter
// (bench_test.go) on 16 MB of generated primary.xml and, for sizes, on
// the primary.xml and filelists.xml of a real createrepo_c repository.
// Speeds are MB/s of input per core, from CPU time on a shared 2-core
// x86-64 (best of several runs: wall time varied 3x with the load of
// others); sizes are percent of the input: generated / real primary /
// real filelists.
//
// gzip, level 4. createrepo_c uses zlib's default, level 6: 64 MB/s,
// 12.85 / 12.09 / 7.34%. klauspost level 6: 164 MB/s, 13.16 / 12.10 /
// 7.00%: the same size, 2.5x faster. Level 5 (klauspost's default) is
// ~210 MB/s for 13.59 / 12.56 / 7.41%, level 4 ~220 MB/s for 14.76 /
// 13.23 / 7.59%, level 1 ~360 MB/s for 16.35%. Level 7 is slower for
// nothing, level 9 is 25 MB/s for 12.43%. Levels 5 and up use larger
// match tables: with three metadata files compressed at once they raised
// createrepo's peak RSS by 7 MB (42 against 35 MB on 50,000 packages,
// createrepo_c: 35 MB), so level 4 it is, for 3-9% more bytes on real
// metadata than createrepo_c writes.
//
// pgzip blocks of 256 KiB: each block is compressed on its own with the
// previous 16 KiB as dictionary; 256 KiB blocks give 13.18% against
// 13.16% for 1 MiB, and allocate 5.7 MB per 16 MB stream against 15.5 MB
// (live memory is about Concurrency+2 blocks of input and of output, plus
// one flate state per goroutine). Two cores: ~250 MB/s of wall time.
//
// zstd, SpeedBetterCompression (about libzstd level 6), 2 MiB window.
// createrepo_c 1.x uses libzstd level 10: 27-33 MB/s, 11.35 / 10.25 / 5.43%.
// SpeedBetterCompression: 70-86 MB/s, 12.00 / 10.96 / 6.12%, 2.5x faster
// for 5-13% more. SpeedDefault (about level 3) is ~210 MB/s but 13.13 /
// 11.94 / 6.57%, 16-21% more than createrepo_c; SpeedBestCompression
// matches level 10 in size but at 20 MB/s is slower. The window costs
// little: 8 MiB gives 11.93 / 6.12%, 1 MiB 12.05 / 6.15%. With
// Concurrency > 1 a job is four windows, so 2 MiB windows make 8 MiB jobs
// that parallelise streams from 8 MiB up and allocate 66 MB per 16 MB
// stream at Concurrency 2 (106 MB with 8 MiB windows; 9 MB
// single-threaded); readers such as dnf need only a 2 MiB window.
//
// xz has no level in ulikunitz/xz; xz's default 8 MiB dictionary gives
// 9 MB/s and 12.66% (liblzma preset 5, createrepo_c's: 3 MB/s, 10.50%).
// bzip2 level 9, bzip2's default block size: 7-11 MB/s, 8.41% (level 5,
// createrepo_c's, 8.84% and hardly faster; libbz2 -9: 5.7 MB/s, 7.27%).
const (
	gzipLevel      = 4
	pgzipBlockSize = 256 << 10
	zstdLevel      = zstd.SpeedBetterCompression
	zstdWindowSize = 2 << 20
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
