package createrepo

import (
	"fmt"
	"hash"
	"io"
	"math/bits"
	"os"
	"sync"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
)

// XML buffers travel from the workers through the collector to the
// record writers, which put them back here. They are pooled by capacity
// class (powers of two from 1 KiB to 1 MiB): a buffer got for n bytes
// holds at most about twice that, so a small package's XML does not
// wait in the reorder window in a large buffer. Recycling them rather
// than allocating each package's anew halves the garbage of a run.
const (
	minBufClass = 10 // 1 KiB
	bufClasses  = 11 // up to 1 MiB
)

var bufPools [bufClasses]sync.Pool

// bufClass is the class of the smallest buffers that hold n bytes; -1
// beyond the largest.
func bufClass(n int) int {
	c := max(bits.Len(uint(max(n, 1)-1))-minBufClass, 0)
	if c >= bufClasses {
		return -1
	}
	return c
}

// getBufFor returns an empty buffer with room for n bytes.
func getBufFor(n int) *[]byte {
	c := bufClass(n)
	if c < 0 {
		b := make([]byte, 0, n)
		return &b
	}
	if v := bufPools[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 1<<(c+minBufClass))
	return &b
}

// getBuf returns an empty buffer for a caller that will grow it.
func getBuf() *[]byte { return getBufFor(0) }

// putBuf recycles b into the class its capacity fills.
func putBuf(b *[]byte) {
	c := bits.Len(uint(cap(*b))) - 1 - minBufClass
	if c < 0 || c >= bufClasses {
		return // one huge package must not pin its buffer
	}
	bufPools[c].Put(b)
}

// recordWriter writes one metadata file (primary, filelists or other) to
// a temporary file in its own goroutine: open (uncompressed) bytes are
// hashed and counted, compressed, and the compressed bytes hashed and
// counted on their way to disk. The three record writers of a run
// compress concurrently with each other and with the package readers.
//
// write hands a buffer over; the writer returns it to bufPool. After an
// error every later write is dropped and finish reports the error.
type recordWriter struct {
	kind    repodata.Kind
	f       *os.File
	comp    io.WriteCloser
	open    *digestWriter
	zipped  *digestWriter
	ch      chan *[]byte
	done    chan struct{}
	err     error // owned by the goroutine until done is closed
	tmpPath string
}

// recordResult is what repomd.xml says of a written file.
type recordResult struct {
	kind         repodata.Kind
	tmpPath      string
	checksum     string
	openChecksum string
	size         int64
	openSize     int64
}

func newRecordWriter(dir string, kind repodata.Kind, ctype compress.Type, checksumType string, threads int) (*recordWriter, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+kind.String()+"-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary %s file: %w", kind, err)
	}
	oh, err := repodata.NewHash(checksumType)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil { // CreateTemp makes 0600; a web server must read it
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	zh, _ := repodata.NewHash(checksumType)
	rw := &recordWriter{
		kind:    kind,
		f:       f,
		zipped:  &digestWriter{w: f, h: zh},
		ch:      make(chan *[]byte, 4),
		done:    make(chan struct{}),
		tmpPath: f.Name(),
	}
	comp, err := compress.NewWriter(rw.zipped, ctype, compress.WriterOptions{Concurrency: threads})
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	rw.comp = comp
	rw.open = &digestWriter{w: comp, h: oh}
	go rw.loop()
	return rw, nil
}

func (rw *recordWriter) loop() {
	defer close(rw.done)
	for b := range rw.ch {
		if rw.err == nil {
			if _, err := rw.open.Write(*b); err != nil {
				rw.err = fmt.Errorf("write %s: %w", rw.kind, err)
			}
		}
		putBuf(b)
	}
}

func (rw *recordWriter) write(b *[]byte) { rw.ch <- b }

// finish flushes the compressor, syncs the file to disk and returns its
// digests. The file stays at tmpPath for the caller to rename.
func (rw *recordWriter) finish() (recordResult, error) {
	close(rw.ch)
	<-rw.done
	err := rw.err
	if err == nil {
		if err = rw.comp.Close(); err != nil {
			err = fmt.Errorf("compress %s: %w", rw.kind, err)
		}
	}
	if err == nil {
		if err = rw.f.Sync(); err != nil {
			err = fmt.Errorf("sync %s: %w", rw.tmpPath, err)
		}
	}
	if cerr := rw.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", rw.tmpPath, cerr)
	}
	if err != nil {
		os.Remove(rw.tmpPath)
		return recordResult{}, err
	}
	return recordResult{
		kind:         rw.kind,
		tmpPath:      rw.tmpPath,
		checksum:     fmt.Sprintf("%x", rw.zipped.h.Sum(nil)),
		openChecksum: fmt.Sprintf("%x", rw.open.h.Sum(nil)),
		size:         rw.zipped.n,
		openSize:     rw.open.n,
	}, nil
}

// abort stops the writer and removes its file.
func (rw *recordWriter) abort() {
	close(rw.ch)
	<-rw.done
	rw.comp.Close()
	rw.f.Close()
	os.Remove(rw.tmpPath)
}

// digestWriter hashes and counts what it passes on.
type digestWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (d *digestWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}
