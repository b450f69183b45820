package rpmfile

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash"
	"sync"

	"github.com/rpmirror/rpmirror/repodata"
)

// Writer parses an RPM pushed to it: the bytes of the file are written
// to it in order (by a download, say), and Package returns what Read
// would have returned for the same bytes. It hashes every byte once,
// buffers only the headers, and needs no goroutine: a caller that
// receives a file in chunks parses it without a pipe.
//
// Write fails as soon as the bytes cannot be an RPM (no lead magic, a
// malformed header), so that a transfer can stop early; the error is
// sticky. A Writer is not safe for concurrent use.
type Writer struct {
	opt Options
	typ string
	h   hash.Hash
	n   int64

	buf  []byte  // the file's first bytes, until the headers are parsed
	bufp *[]byte // buf's pooled backing array
	need int     // bytes the headers are known to take at least

	parsed        bool
	ld            lead
	sig, hdr      *rawHeader
	err           error
	finished      bool
	pkg           *repodata.Package
	pkgErr        error
	headerPrefix  int // leadSize + the padded signature header, once known
	headerIsKnown bool
}

// NewWriter returns a Writer for the options of Read.
func NewWriter(opt Options) (*Writer, error) {
	typ, h, err := opt.checksum()
	if err != nil {
		return nil, err
	}
	return &Writer{opt: opt, typ: typ, h: h, need: leadSize + introSize}, nil
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.finished {
		return 0, fmt.Errorf("rpmfile: write after Package")
	}
	w.h.Write(p)
	w.n += int64(len(p))
	// Only the headers are buffered: what advance says they need, no
	// more (a download written in 128 KiB chunks would otherwise copy
	// the start of every payload).
	for q := p; !w.parsed && len(q) > 0; {
		if w.bufp == nil {
			w.bufp = headerBufs.Get().(*[]byte)
			w.buf = (*w.bufp)[:0]
		}
		k := min(len(q), w.need-len(w.buf))
		if k <= 0 {
			k = len(q) // cannot happen: advance raises need past buf
		}
		w.buf = append(w.buf, q[:k]...)
		q = q[k:]
		if err := w.advance(); err != nil {
			w.err = err
			return 0, err
		}
	}
	return len(p), nil
}

// advance learns what it can of the headers' size from the buffered
// bytes and parses them once all are there.
func (w *Writer) advance() error {
	b := w.buf
	if len(b) >= 4 && !bytes.Equal(b[:4], leadMagic) {
		return fmt.Errorf("%w: no RPM lead magic at the start", ErrNotRPM)
	}
	for len(b) >= w.need {
		if !w.headerIsKnown && w.headerPrefix == 0 {
			// The signature header's intro is there.
			size, err := introTotal(b[leadSize:], "signature header")
			if err != nil {
				return w.canonical(err)
			}
			size += (8 - size%8) % 8
			w.headerPrefix = leadSize + size
			w.need = w.headerPrefix + introSize
			continue
		}
		if !w.headerIsKnown {
			size, err := introTotal(b[w.headerPrefix:], "header")
			if err != nil {
				return w.canonical(err)
			}
			w.headerIsKnown = true
			w.need = w.headerPrefix + size
			continue
		}
		ld, sig, hdr, err := readHeaders(bytes.NewReader(b[:w.need]))
		if err != nil {
			return err
		}
		w.ld, w.sig, w.hdr, w.parsed = ld, sig, hdr, true
		w.releaseBuf() // the headers copied what they keep
		return nil
	}
	return nil
}

// canonical returns the error readHeaders gives for the buffered bytes,
// so that a Writer and Read word the same problem the same way; err when
// readHeaders finds none (it cannot, but a guess is no error message).
func (w *Writer) canonical(err error) error {
	if _, _, _, rerr := readHeaders(bytes.NewReader(w.buf)); rerr != nil {
		return rerr
	}
	return err
}

// introTotal returns the bytes a header takes, from its 16-byte intro at
// the start of b, unpadded; it checks what readRawHeader checks there.
func introTotal(b []byte, what string) (int, error) {
	if !bytes.Equal(b[:4], headerMagic) {
		return 0, fmt.Errorf("%w: bad %s magic", ErrMalformed, what)
	}
	n := binary.BigEndian.Uint32(b[8:12])
	dlen := binary.BigEndian.Uint32(b[12:16])
	if n > maxEntries || dlen > maxData {
		return 0, fmt.Errorf("%w: %s claims %d entries and %d bytes of data", ErrMalformed, what, n, dlen)
	}
	return introSize + int(n)*entrySize + int(dlen), nil
}

// Package returns the package, after the last byte was written; what
// Read returns for the same bytes. Later calls return the same.
func (w *Writer) Package() (*repodata.Package, error) {
	if w.finished {
		return w.pkg, w.pkgErr
	}
	w.finished = true
	switch {
	case w.err != nil:
		w.pkgErr = w.err
	case w.n == 0:
		w.pkgErr = fmt.Errorf("%w: empty file", ErrNotRPM)
	case w.n < 4:
		w.pkgErr = fmt.Errorf("%w: no RPM lead magic at the start", ErrNotRPM)
	case !w.parsed:
		// The file ended inside the headers: readHeaders says where.
		_, _, _, err := readHeaders(bytes.NewReader(w.buf))
		if err == nil {
			err = fmt.Errorf("%w: incomplete headers", ErrMalformed)
		}
		w.pkgErr = err
	default:
		w.pkg, w.pkgErr = finish(w.ld, w.sig, w.hdr, w.opt, w.typ, w.h, w.n)
	}
	w.releaseBuf()
	return w.pkg, w.pkgErr
}

// headerBufs hold the headers of packages being pushed to Writers, as
// Read's bufio readers are pooled: one allocation per package otherwise.
var headerBufs = sync.Pool{New: func() any { b := make([]byte, 0, headerBufSize); return &b }}

func (w *Writer) releaseBuf() {
	if w.bufp != nil {
		if cap(w.buf) <= 1<<20 { // one huge header must not pin its buffer
			*w.bufp = w.buf[:0]
			headerBufs.Put(w.bufp)
		}
		w.bufp = nil
	}
	w.buf = nil
}
