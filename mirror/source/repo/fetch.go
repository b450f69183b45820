package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

// Fetch writes c's bytes from offset on to w, from c's xml:base when it
// has one, else from the mirrors in turn, starting with the one that
// served the current repomd.xml. See source.Source for the contract.
//
// c.Href is checked with repodata.CheckHref before any request.
// Transient failures are retried Config.Retries times per mirror with
// backoff, resuming at the byte reached (Range: bytes=N-; a 200 answer to
// a Range request is read past the bytes already written); then the next
// mirror resumes at that byte. A 404 or 410, any other 4xx, a refused
// redirect, or a Content-Length or Content-Range that contradicts c.Size
// moves to the next mirror at once. Redirects are followed up to 10
// times, to http or https URLs only and never from https to http.
//
// More bytes than c.Size stop everything with an error wrapping
// source.ErrVerify; w has then received exactly c.Size bytes. When every
// mirror failed the error names the href and the last mirror's cause, and
// wraps ErrNotFound if every mirror answered 404 or 410.
func (r *Repo) Fetch(ctx context.Context, c *source.Candidate, offset int64, w io.Writer) error {
	if err := r.fetch(ctx, c, offset, w); err != nil {
		return fmt.Errorf("repo %s: %w", r.cfg.Name, err)
	}
	return nil
}

func (r *Repo) fetch(ctx context.Context, c *source.Candidate, offset int64, w io.Writer) error {
	if c == nil {
		return errors.New("fetch: nil candidate")
	}
	what := "fetch " + c.Href
	if err := repodata.CheckHref(c.Href); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	switch {
	case offset < 0:
		return fmt.Errorf("%s: negative offset %d", what, offset)
	case c.Size >= 0 && offset > c.Size:
		return fmt.Errorf("%s: offset %d beyond the size %d", what, offset, c.Size)
	case c.Size >= 0 && offset == c.Size:
		return nil
	}
	var mirrors []*url.URL
	if c.Package != nil && c.Package.LocationBase != "" {
		base, err := parseBase(c.Package.LocationBase)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		mirrors = []*url.URL{base}
	} else {
		var err error
		if mirrors, err = r.fetchMirrors(ctx); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	pos := offset
	var fe failures
	for i, m := range mirrors {
		log := r.log.WithFields(logrus.Fields{"pkg": c.Href, "mirror": m.Redacted()})
		t := &target{url: joinURL(m, c.Href), size: c.Size}
		aerr := r.download(ctx, t, &pos, w, log)
		if aerr == nil {
			return nil
		}
		if aerr.kind == kindFatal {
			return fmt.Errorf("%s: %s: %w", what, t.url.Redacted(), aerr.err)
		}
		fe.add(t.url, aerr)
		if i+1 < len(mirrors) {
			log.WithError(aerr.err).Warnf("mirror failed at byte %d; trying the next one", pos)
		}
	}
	return fe.err(what)
}

// fetchMirrors returns the mirrors to fetch packages from: the current
// snapshot's, or freshly resolved ones before any snapshot.
func (r *Repo) fetchMirrors(ctx context.Context) ([]*url.URL, error) {
	r.mu.Lock()
	s, ms := r.snap, r.mirrors
	r.mu.Unlock()
	if s != nil {
		return s.mirrors, nil
	}
	if ms != nil {
		return ms, nil
	}
	ms, _, err := r.resolve(ctx)
	return ms, err
}

// failures collects the failures of a file on successive mirrors.
type failures struct {
	n        int
	notFound int
	last     error
}

func (f *failures) add(u *url.URL, aerr *attemptError) {
	f.n++
	if aerr.notFound {
		f.notFound++
	}
	f.last = fmt.Errorf("%s: %w", u.Redacted(), aerr.err)
}

// err returns the error for a file that every mirror failed.
func (f *failures) err(what string) error {
	if f.n == 0 {
		return fmt.Errorf("%s: no mirror to try", what)
	}
	var errs []error
	msg := fmt.Sprintf("%s: %v", what, f.last)
	if f.n > 1 {
		msg = fmt.Sprintf("%s: all %d mirrors failed; last: %v", what, f.n, f.last)
	}
	errs = append(errs, f.last)
	if f.notFound == f.n && !errors.Is(f.last, ErrNotFound) {
		errs = append(errs, ErrNotFound)
	}
	return &multiError{msg: msg, errs: errs}
}

// multiError is an error with its own message wrapping several.
type multiError struct {
	msg  string
	errs []error
}

func (e *multiError) Error() string   { return e.msg }
func (e *multiError) Unwrap() []error { return e.errs }
