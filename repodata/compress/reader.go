package compress

import (
	"bufio"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ErrTooLarge is returned, wrapped with the limit, by a reader whose
// decompressed output would exceed ReaderOptions.MaxSize.
var ErrTooLarge = errors.New("compress: decompressed data too large")

// maxWindow bounds the history a reader keeps, and so its memory: zstd
// frames with a larger window and xz blocks with a larger dictionary are
// refused. 128 MiB is the default limit of the zstd command-line tool
// (--memory); xz presets use at most 64 MiB.
const maxWindow = 128 << 20

// ReaderOptions configures NewReader. The zero value is valid.
type ReaderOptions struct {
	// MaxSize is the most decompressed bytes the reader returns: a stream
	// that would expand beyond it fails with an error wrapping
	// ErrTooLarge, after MaxSize bytes have been returned. Exactly
	// MaxSize bytes is not an error. 0 means no limit.
	MaxSize int64
}

// errDecoderPanic marks a panic recovered from a decoder library.
var errDecoderPanic = errors.New("compress: decoder panic")

var errReadAfterClose = errors.New("compress: read after Close")

// NewReader returns a reader that decompresses t from r.
//
// NewReader does not read from r; format errors are returned by Read.
// The reader accepts what the reference tools write, including
// concatenated streams (multi-member gzip, several zstd frames, xz
// streams or bzip2 streams), and rejects trailing garbage and empty input.
// Every error other than io.EOF is wrapped and starts with "compress: ";
// errors are sticky. Memory is bounded whatever the input: zstd windows
// and xz dictionaries over 128 MiB are refused (as zstd -d does by
// default), so a reader holds at most about 128 MiB of history, which a
// few bytes of hostile input can make it allocate.
//
// Close releases the decoder; it does not close r. The reader reads r
// through its own buffer, so it may consume bytes of r beyond the end of
// the compressed data. For None the reader passes r through, applying
// only MaxSize. The reader is not safe for concurrent use.
func NewReader(r io.Reader, t Type, opt ReaderOptions) (io.ReadCloser, error) {
	if !t.valid() {
		return nil, fmt.Errorf("%w %s", ErrUnknownType, t)
	}
	if opt.MaxSize < 0 {
		return nil, fmt.Errorf("compress: negative MaxSize %d", opt.MaxSize)
	}
	return &reader{t: t, src: r, max: opt.MaxSize}, nil
}

// reader adds the size limit, the sticky error, the error prefix and
// panic recovery to a decoder, which it creates on the first Read.
type reader struct {
	t     Type
	src   io.Reader
	max   int64 // 0: unlimited
	n     int64 // bytes returned so far
	dec   io.Reader
	close func()
	err   error
}

func (r *reader) Read(p []byte) (n int, err error) {
	if r.err != nil {
		return 0, r.err
	}
	defer func() {
		// A decoder that panics on hostile input must not take the
		// process down; its state is dropped with the sticky error.
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: %s: %v", errDecoderPanic, r.t, v)
			r.err = err
		}
	}()
	if r.dec == nil {
		if err := r.open(); err != nil {
			r.err = fmt.Errorf("compress: read %s: %w", r.t, err)
			return 0, r.err
		}
	}
	if r.max > 0 {
		// Ask for one byte more than allowed, to tell "exactly MaxSize"
		// from "more than MaxSize".
		if rest := r.max - r.n; rest < int64(len(p)) {
			p = p[:rest+1]
		}
	}
	n, err = r.dec.Read(p)
	r.n += int64(n)
	if r.max > 0 && r.n > r.max {
		n -= int(r.n - r.max)
		r.n = r.max
		r.err = fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.max)
		return n, r.err
	}
	if err != nil {
		if err != io.EOF {
			err = fmt.Errorf("compress: read %s: %w", r.t, err)
		}
		r.err = err
	}
	return n, err
}

// open creates the decoder. Empty input is an error for every compressed
// type, as it is for the command-line tools.
func (r *reader) open() error {
	if r.t == None {
		r.dec = r.src
		return nil
	}
	br := bufio.NewReaderSize(r.src, 64<<10)
	if _, err := br.Peek(1); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	switch r.t {
	case Gzip:
		dec, err := kgzip.NewReader(br)
		if err != nil {
			return noEOF(err)
		}
		r.dec, r.close = dec, func() { dec.Close() }
	case Zstd:
		dec, err := zstd.NewReader(br,
			// One goroutine: the stream decoder otherwise runs
			// goroutines that only Close stops.
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxWindow),
		)
		if err != nil {
			return err
		}
		r.dec, r.close = dec, dec.Close
	case Xz:
		r.dec = newXzReader(br, r.max)
	case Bzip2:
		// The standard library decodes primary.xml 1.7x as fast as
		// dsnet/compress (18-22 against 10-11 MB/s per core, see
		// BenchmarkReader) and allocates a third as much.
		r.dec = bzip2.NewReader(br)
	}
	return nil
}

func (r *reader) Close() error {
	if r.close != nil {
		r.close()
		r.close = nil
	}
	r.dec = nil
	if r.err == nil || r.err == io.EOF {
		r.err = errReadAfterClose
	}
	return nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
