package createrepo

import (
	"io"
	"os"
	"runtime"

	"github.com/rpmirror/rpmirror/repodata/internal/sha256x2"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
)

// Hashing is most of the work of indexing large packages, and on a CPU
// whose SHA instructions are latency-bound (SHA-NI: every round needs
// the previous one's result) one SHA-256 stream leaves the SHA unit
// idle most of the time. A lane worker therefore reads several packages
// at once, chunk by chunk, and hashes their chunks together with the
// interleaved assembly, for about the cost of one. The RPMs are parsed
// from the same chunks, pushed to rpmfile.Writers: each byte is still
// read once.

const (
	// laneChunk is how much of each file a lane reads at a time: large
	// enough that a read costs little per byte, small enough that the
	// buffers of all lanes stay well under a megabyte.
	laneChunk = 64 << 10
	// lanes is how many packages one worker reads at once: the streams
	// sha256x2 interleaves. Four lanes hashed as two pairs measured no
	// faster and kept 1 MB more in flight.
	lanes = 2
)

// multiLane reports whether workers hash several packages at once: the
// metadata checksum must be SHA-256 and the CPU must have the
// instructions that make it pay.
func (r *runner) multiLane() bool {
	return (r.o.ChecksumType == "" || r.o.ChecksumType == "sha256") && sha256x2.Supported() && !r.o.singleLane
}

// lane is one package being read by a worker, and the memory the worker
// reuses for the next one in the same lane: the parser (whose Package
// is rendered before the lane takes another file), the digest and the
// read buffer.
type lane struct {
	w   *rpmfile.Writer
	d   *sha256x2.Digest // nil: w hashes (single lane)
	buf []byte

	it   *item // nil: the lane is free
	f    *os.File
	fi   os.FileInfo
	off  int   // bytes of buf already hashed and parsed
	n    int   // bytes of buf read
	eof  bool  // the file is read to its end, or failed
	rerr error // a read error other than the end of the file
}

// pending returns what was read and not yet consumed.
func (l *lane) pending() []byte { return l.buf[l.off:l.n] }

// worker reads the packages the schedule gives it until there are none
// left, up to lanes at once when multiLane allows, else one at a time.
// Each item's done channel is closed when that package is finished, in
// whatever order.
//
// The lanes advance together, chunk by chunk, whatever their files'
// sizes: when a file ends, the next package takes its lane at once, so
// that a large package is hashed alongside the small ones after it. The
// worker blocks in claim only when it holds no package at all: the
// collector may be waiting for one it holds.
func (r *runner) worker(s *schedule) {
	n := 1
	multi := r.multiLane()
	if multi {
		n = lanes
	}
	all := make([]*lane, n)
	for i := range all {
		l := &lane{buf: make([]byte, laneChunk)}
		if multi {
			l.d = sha256x2.New()
			l.w = rpmfile.NewWriterHashed(r.parseOptions(), l.d)
		} else {
			var err error
			if l.w, err = rpmfile.NewWriter(r.parseOptions()); err != nil {
				// Options.validate checked the checksum type.
				panic(err)
			}
		}
		all[i] = l
	}
	active := make([]*lane, 0, n)
	takes := make([]int, 0, n) // bytes each active lane consumes this round
	var scratch []byte         // XML rendered before it goes to a pooled buffer
	for {
		// Fill the free lanes. claimed is false when a lane stays free
		// for want of a package that may start.
		claimed := true
		yielded := false
		for len(active) < n {
			it, busy := s.claim(len(active) == 0)
			if it == nil {
				if busy && !yielded {
					// Let the collector run and make room: a worker
					// busy hashing starves it, and a lane left empty
					// halves the hashing speed of the other.
					runtime.Gosched()
					yielded = true
					continue
				}
				claimed = false
				break
			}
			var free *lane
			for _, l := range all {
				if l.it == nil {
					free = l
					break
				}
			}
			if r.start(free, it) {
				active = append(active, free)
			}
		}
		if len(active) == 0 {
			return // nothing left to start
		}

		// Every lane gets its next chunk; those at their end finish,
		// and their lanes are filled again before anything is hashed.
		keep := active[:0]
		for _, l := range active {
			if l.off == l.n && !l.eof {
				l.read()
			}
			if l.off == l.n && l.eof {
				r.finish(l, nil, &scratch)
				continue
			}
			keep = append(keep, l)
		}
		freed := len(keep) < len(active)
		active = keep
		if len(active) == 0 || (freed && claimed) {
			continue
		}

		// Lanes are hashed in pairs, each pair by as many bytes as both
		// have, so that neither streams alone: the rest of the longer
		// chunk waits for the lane that ran out to read on or take
		// the next package. A lane without a partner hashes alone; a
		// single-lane worker's Writer hashes for itself.
		takes = takes[:0]
		for i := 0; i < len(active); i++ {
			a := active[i]
			switch {
			case !multi:
				takes = append(takes, len(a.pending()))
			case i+1 == len(active):
				a.d.Write(a.pending())
				takes = append(takes, len(a.pending()))
			default:
				b := active[i+1]
				k := min(len(a.pending()), len(b.pending()))
				sha256x2.Write2(a.d, b.d, a.pending()[:k], b.pending()[:k])
				takes = append(takes, k, k)
				i++
			}
		}
		// A parse error finishes the package at once (no RPM: not read
		// further); the Writer's error is the one Read would have
		// returned.
		keep = active[:0]
		for i, l := range active {
			if _, err := l.w.Write(l.pending()[:takes[i]]); err != nil {
				r.finish(l, nil, &scratch)
				continue
			}
			l.off += takes[i]
			keep = append(keep, l)
		}
		active = keep
	}
}

// start puts an item's file in a free lane and reports whether it is
// there; an item that cannot be opened is finished at once.
func (r *runner) start(l *lane, it *item) bool {
	f, fi, err := r.openPackage(it.t)
	if err != nil {
		it.err = err
		close(it.done)
		return false
	}
	l.it, l.f, l.fi = it, f, fi
	l.off, l.n, l.eof, l.rerr = 0, 0, false, nil
	if l.d != nil {
		l.d.Reset()
		l.w.Reset(l.d)
	} else {
		l.w.Reset(nil)
	}
	return true
}

// read reads the lane's next chunk.
func (l *lane) read() {
	n, err := io.ReadFull(l.f, l.buf)
	l.off, l.n = 0, n
	if err != nil {
		l.eof = true
		if err != io.EOF && err != io.ErrUnexpectedEOF {
			l.rerr = err
		}
	}
}

// finish completes a lane's item, from its Writer's package or with err,
// and frees the lane.
func (r *runner) finish(l *lane, err error, scratch *[]byte) {
	it, fi := l.it, l.fi
	defer close(it.done)
	l.f.Close()
	l.it, l.f, l.fi = nil, nil, nil
	if err != nil {
		it.err = err
		return
	}
	p, err := l.w.Package()
	if err == nil && l.rerr != nil {
		err = l.rerr
	}
	if err == nil {
		p, err = r.place(it.t, p, fi)
	}
	if err != nil {
		it.err = err
		return
	}
	// The lane's next file reuses p's memory: render it now.
	r.render(it, p, scratch)
}
