package rpmfile

import (
	"bytes"
	"fmt"
	"hash"

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
//
// A Writer can be Reset and used for the next file, reusing its memory;
// a caller indexing thousands of packages one after the other (and
// done with each Package before the next) makes almost no garbage.
type Writer struct {
	opt      Options
	typ      string
	h        hash.Hash // Package's checksum comes from it
	own      hash.Hash // the Writer's own hash, kept across Resets
	external bool      // the caller writes to h (NewWriterHashed)
	n        int64

	// buf holds the file's first bytes, up to the end of the headers,
	// and stays: once the Writer is reused, the parsed header's strings
	// share its memory.
	buf  []byte
	need int // bytes the headers are known to take at least

	parsed        bool
	ld            lead
	sig, hdr      *rawHeader
	err           error
	finished      bool
	pkg           *repodata.Package
	pkgErr        error
	sigEnd        int // leadSize + the signature header, unpadded, once known
	headerPrefix  int // sigEnd + padding, once known
	headerIsKnown bool

	reused bool // Reset was called: packages are built in buf and a
	a      arena
}

// NewWriter returns a Writer for the options of Read.
func NewWriter(opt Options) (*Writer, error) {
	typ, h, err := opt.checksum()
	if err != nil {
		return nil, err
	}
	return &Writer{opt: opt, typ: typ, h: h, own: h, need: leadSize + introSize}, nil
}

// NewWriterHashed returns a Writer that leaves the hashing to its caller:
// every byte written to the Writer must also be written, in order, to h,
// a hash of opt.ChecksumType, and Package takes the checksum from h. It
// lets a caller hash several files at once (sha256x2.Write2).
func NewWriterHashed(opt Options, h hash.Hash) *Writer {
	typ := opt.ChecksumType
	if typ == "" {
		typ = "sha256"
	}
	return &Writer{opt: opt, typ: typ, h: h, external: true, need: leadSize + introSize}
}

// writerKeep is the largest header buffer a Writer keeps across Reset:
// most headers take 5-50 KB; a large one is garbage after its package.
const writerKeep = 128 << 10

// arena is the memory packages are built in: w's own once it was Reset,
// else none (fresh allocations, as Read).
func (w *Writer) arena() *arena {
	if w.reused {
		return &w.a
	}
	return nil
}

// Reset makes w ready for another file, with the same Options: hashed by
// h as NewWriterHashed's, or by w itself when h is nil, as NewWriter's.
//
// The Package returned for the previous file must no longer be used,
// nor any string or slice in it: w reuses their memory. Copy what must
// outlive the next file (strings.Clone).
func (w *Writer) Reset(h hash.Hash) {
	*w = Writer{
		opt:    w.opt,
		typ:    w.typ,
		own:    w.own,
		need:   leadSize + introSize,
		buf:    w.buf[:0],
		a:      w.a,
		reused: true,
	}
	if cap(w.buf) > writerKeep {
		w.buf = nil
	}
	w.a.reset()
	switch {
	case h != nil:
		w.h, w.external = h, true
	case w.own != nil:
		w.own.Reset()
		w.h = w.own
	default:
		var err error
		if w.own, err = repodata.NewHash(w.typ); err != nil {
			w.err = err
			return
		}
		w.h = w.own
	}
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.finished {
		return 0, fmt.Errorf("rpmfile: write after Package")
	}
	if !w.external {
		w.h.Write(p)
	}
	w.n += int64(len(p))
	// Only the headers are buffered: what advance says they need, no
	// more (a caller writing 128 KiB chunks would otherwise copy the
	// start of every payload).
	for q := p; !w.parsed && len(q) > 0; {
		k := min(len(q), w.need-len(w.buf))
		if k <= 0 {
			k = len(q) // cannot happen: advance raises need past buf
		}
		if len(w.buf)+k > cap(w.buf) {
			// Exactly what is known to be needed: at most three
			// allocations (lead and intro, signature, header) in a new
			// Writer, none in a reused one whose buffer is large enough.
			w.buf = append(make([]byte, 0, max(w.need, len(w.buf)+k)), w.buf...)
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
			w.sigEnd = leadSize + size
			w.headerPrefix = w.sigEnd + (8-size%8)%8
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
		// All there: parse in place, in Read's order, so that the
		// errors are Read's.
		ld, err := parseLead(b[:leadSize])
		if err != nil {
			return err
		}
		// A Writer used once hands out a Package that may live long (in
		// a syncer's catalog): it is built as Read builds it, in memory
		// of its own, rather than keep the Writer's buffer and arena
		// (maps and slack included) alive. Reset Writers reuse theirs.
		a := w.arena()
		sig := a.header(true)
		if err := sig.parse(b[leadSize:], b[leadSize+introSize:w.sigEnd], "signature header", a); err != nil {
			return err
		}
		sig.size += w.headerPrefix - w.sigEnd
		store := b[w.headerPrefix+introSize : w.need]
		if a == nil {
			store = bytes.Clone(store)
		}
		hdr := a.header(false)
		if err := hdr.parse(b[w.headerPrefix:], store, "header", a); err != nil {
			return err
		}
		w.ld, w.sig, w.hdr, w.parsed = ld, sig, hdr, true
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
		w.pkg, w.pkgErr = finish(w.ld, w.sig, w.hdr, w.opt, w.typ, w.h, w.n, w.arena())
	}
	return w.pkg, w.pkgErr
}
