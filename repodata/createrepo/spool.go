package createrepo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata/compress"
)

// spooled is where one package's XML fragments sit in the spool file.
type spooled struct {
	off   int64
	lens  [3]int
	nevra string
	build int64
	rel   string
}

// runKeepLast implements --duplicated-nevra keep-last. Which of several
// packages with one NEVRA survives is known only once all are read, so
// the rendered fragments go to an uncompressed spool file first (each RPM
// is still read once), and are streamed from it into the record writers
// with the final count. Memory holds only the small index of the spool.
func (r *runner) runKeepLast(ctx context.Context, dir string) ([]recordResult, error) {
	spool, err := os.CreateTemp(dir, tmpPrefix+"spool-*")
	if err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	defer func() { spool.Close(); os.Remove(spool.Name()) }()
	bw := bufio.NewWriterSize(spool, 1<<20)
	var index []spooled
	var off int64
	err = r.pipeline(ctx, func(it *item) error {
		s := spooled{off: off, nevra: it.nevra, build: it.build, rel: it.t.rel()}
		for i, b := range it.bufs {
			n, err := bw.Write(*b)
			if err != nil {
				return fmt.Errorf("write spool: %w", err)
			}
			s.lens[i] = n
			off += int64(n)
			putBuf(b)
		}
		index = append(index, s)
		return nil
	})
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return nil, err
	}

	// The winner of each NEVRA: newest build time, the later file on a tie.
	winner := make(map[string]int, len(index))
	for i, s := range index {
		if w, ok := winner[s.nevra]; ok {
			r.res.Duplicates++
			if s.build >= index[w].build {
				winner[s.nevra] = i
			}
			continue
		}
		winner[s.nevra] = i
	}
	rs, err := r.openRecords(dir, len(winner))
	if err != nil {
		return nil, err
	}
	for i, s := range index {
		if winner[s.nevra] != i {
			r.res.Dropped++
			r.log.WithFields(logrus.Fields{"pkg": s.rel, "nevra": s.nevra}).Info("duplicate NEVRA left out (keep-last)")
			continue
		}
		pos := s.off
		for k := range rs {
			b := getBuf()
			if cap(*b) < s.lens[k] {
				*b = make([]byte, s.lens[k])
			}
			*b = (*b)[:s.lens[k]]
			if _, err := spool.ReadAt(*b, pos); err != nil {
				rs.abort()
				return nil, fmt.Errorf("read spool: %w", err)
			}
			pos += int64(s.lens[k])
			rs[k].write(b)
		}
		r.res.Packages++
	}
	return rs.finish()
}

// rewriteCounts rewrites finished metadata files whose root element
// announced oldCount packages so that it says newCount.
func (r *runner) rewriteCounts(dir string, recs []recordResult, oldCount, newCount int) ([]recordResult, error) {
	out := make([]recordResult, 0, len(recs))
	for _, rec := range recs {
		nr, err := r.rewriteCount(dir, rec, oldCount, newCount)
		os.Remove(rec.tmpPath)
		if err != nil {
			for _, o := range out {
				os.Remove(o.tmpPath)
			}
			return nil, fmt.Errorf("rewrite package count of %s: %w", rec.kind, err)
		}
		out = append(out, nr)
	}
	return out, nil
}

func (r *runner) rewriteCount(dir string, rec recordResult, oldCount, newCount int) (recordResult, error) {
	f, err := os.Open(rec.tmpPath)
	if err != nil {
		return recordResult{}, err
	}
	defer f.Close()
	zr, err := compress.NewReader(f, r.o.Compression, compress.ReaderOptions{})
	if err != nil {
		return recordResult{}, err
	}
	defer zr.Close()
	oldHdr := rec.kind.AppendHeader(nil, oldCount)
	got := make([]byte, len(oldHdr))
	if _, err := io.ReadFull(zr, got); err != nil || !bytes.Equal(got, oldHdr) {
		return recordResult{}, fmt.Errorf("unexpected header in %s", rec.tmpPath)
	}
	w, err := newRecordWriter(dir, rec.kind, r.o.Compression, r.o.ChecksumType, r.o.CompressThreads)
	if err != nil {
		return recordResult{}, err
	}
	b := getBuf()
	*b = rec.kind.AppendHeader(*b, newCount)
	w.write(b)
	for {
		b := getBuf()
		if cap(*b) < 256<<10 {
			*b = make([]byte, 256<<10)
		}
		*b = (*b)[:cap(*b)]
		n, err := zr.Read(*b)
		*b = (*b)[:n]
		w.write(b)
		if err == io.EOF {
			break
		}
		if err != nil {
			w.abort()
			return recordResult{}, err
		}
	}
	return w.finish()
}
