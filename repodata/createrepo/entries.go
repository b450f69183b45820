package createrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata"
)

// Entry is one package's metadata, rendered: what a run writes to
// primary, filelists and other for it. Callers that already have package
// metadata (the syncer, which parses each RPM while downloading it, or a
// cache of earlier runs) write repodata from Entries without reading any
// RPM again.
type Entry struct {
	Href      string
	NEVRA     string
	BuildTime int64
	// XML holds the fragments in repodata.Kinds order.
	XML [3][]byte
}

// NewEntry renders a package.
func NewEntry(p *repodata.Package) *Entry {
	e := &Entry{Href: p.LocationHref, NEVRA: p.NEVRA(), BuildTime: p.BuildTime}
	for i, k := range repodata.Kinds {
		e.XML[i] = k.AppendPackage(nil, p)
	}
	return e
}

// HrefLess orders package locations as createrepo_c orders packages: by
// file name, then by directory. Entries passed to WriteEntries must be
// in this order for the output to match a createrepo run.
func HrefLess(a, b string) bool {
	da, fa := path.Split(a)
	db, fb := path.Split(b)
	if fa != fb {
		return fa < fb
	}
	return da < db
}

// WriteEntries writes repodata/ into o.OutputDir for count packages that
// next yields one at a time, in the order given, then io.EOF. It takes
// the output directory's lock and switches to the new metadata exactly as
// Run does; o.InputDir, the walk options and Workers are not used.
// Duplicate NEVRAs are counted and logged; KeepLast is the caller's job.
func WriteEntries(ctx context.Context, o Options, count int, next func() (*Entry, error), log logrus.FieldLogger) (*Result, error) {
	if o.InputDir == "" {
		o.InputDir = o.OutputDir
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	lock, err := lockOutput(o.OutputDir)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	out, err := newOutput(&o, log)
	if err != nil {
		return nil, err
	}
	defer out.cleanupStaging()

	r := &runner{o: &o, log: log, res: &Result{}}
	rs, err := r.openRecords(out.staging, count)
	if err != nil {
		return nil, err
	}
	seen := newNEVRASet(count)
	for {
		if err := ctx.Err(); err != nil {
			rs.abort()
			return nil, err
		}
		e, err := next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			rs.abort()
			return nil, err
		}
		if !seen.add(e.NEVRA) {
			r.res.Duplicates++
			log.WithFields(logrus.Fields{"pkg": e.Href, "nevra": e.NEVRA}).Warn("duplicate NEVRA: another package already has it")
		}
		for i := range rs {
			b := getBuf()
			*b = append(*b, e.XML[i]...)
			rs[i].write(b)
		}
		r.res.Packages++
	}
	if r.res.Packages != count {
		rs.abort()
		return nil, fmt.Errorf("createrepo: %d entries announced, %d given", count, r.res.Packages)
	}
	recs, err := rs.finish()
	if err != nil {
		return nil, err
	}
	if err := out.commit(recs, r.res); err != nil {
		return nil, err
	}
	return r.res, nil
}
