package koji

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/mirror/source/koji/internal/xmlrpc"
)

const (
	userAgent = "rpmirror"
	// maxResponse bounds a hub response. listTaggedRPMS of a large
	// inherited tag is tens of megabytes; this only stops a runaway.
	maxResponse  = 1 << 30
	maxRetryWait = time.Minute
)

var (
	errStalled  = errors.New("no progress")
	errTooLarge = fmt.Errorf("%w: response larger than %d bytes", ErrResponse, maxResponse)
)

// attemptError is the error of one attempt, with whether another
// attempt may succeed.
type attemptError struct {
	err   error
	retry bool
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func transient(err error) error { return &attemptError{err: err, retry: true} }
func permanent(err error) error { return &attemptError{err: err} }

// retry runs attempt until it succeeds, fails permanently, ctx ends or
// Retries are used up, waiting RetryWait, doubled each time, between
// attempts.
func (s *Source) retry(ctx context.Context, what string, attempt func() error) error {
	wait := s.cfg.RetryWait
	for i := 0; ; i++ {
		err := attempt()
		if err == nil {
			return nil
		}
		var ae *attemptError
		retry := errors.As(err, &ae) && ae.retry
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		}
		if !retry || i >= s.cfg.Retries {
			if retry {
				return fmt.Errorf("%w (gave up after %d attempts)", err, i+1)
			}
			return err
		}
		// ±20% jitter, so that parallel fetches do not retry in step.
		d := time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
		s.log.WithError(err).WithField("attempt", i+1).Warnf("%s failed, retrying in %v", what, d.Round(time.Millisecond))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// stall cancels a request when the server makes no progress for the
// timeout: while connecting and waiting for the response headers, and
// within each read of the body. Time spent by the caller between reads
// does not count.
type stall struct {
	ctx     context.Context
	timeout time.Duration
	timer   *time.Timer
	cancel  context.CancelCauseFunc
}

func newStall(ctx context.Context, d time.Duration) *stall {
	ctx, cancel := context.WithCancelCause(ctx)
	st := &stall{ctx: ctx, timeout: d, cancel: cancel}
	st.timer = time.AfterFunc(d, func() { cancel(errStalled) })
	return st
}

// headers is called once the response headers are in.
func (st *stall) headers() { st.timer.Stop() }

func (st *stall) stop() { st.timer.Stop(); st.cancel(nil) }

// err replaces the context error of a stalled request with a clear one.
func (st *stall) err(err error) error {
	if context.Cause(st.ctx) == errStalled {
		return fmt.Errorf("%w for %v", errStalled, st.timeout)
	}
	return err
}

func (st *stall) body(r io.Reader) io.Reader { return &stallReader{st: st, r: r} }

type stallReader struct {
	st *stall
	r  io.Reader
}

func (sr *stallReader) Read(p []byte) (int, error) {
	sr.st.timer.Reset(sr.st.timeout)
	n, err := sr.r.Read(p)
	sr.st.timer.Stop()
	if err != nil && err != io.EOF {
		err = sr.st.err(err)
	}
	return n, err
}

// statusError is an HTTP response with an unexpected status.
type statusError struct {
	code int
	url  string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s", e.url, e.code, http.StatusText(e.code))
}

func statusRetryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500
}

// call makes an XML-RPC call to the hub, retrying what may pass.
func (s *Source) call(ctx context.Context, method string, params ...any) (any, error) {
	body, err := xmlrpc.EncodeCall(method, params...)
	if err != nil {
		return nil, fmt.Errorf("koji: %s: %w", method, err)
	}
	var v any
	err = s.retry(ctx, "hub call "+method, func() error {
		var err error
		v, err = s.callOnce(ctx, body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("koji: %s on %s: %w", method, s.hub, err)
	}
	return v, nil
}

func (s *Source) callOnce(ctx context.Context, body []byte) (any, error) {
	st := newStall(ctx, s.cfg.Timeout)
	defer st.stop()
	req, err := http.NewRequestWithContext(st.ctx, http.MethodPost, s.hub, bytes.NewReader(body))
	if err != nil {
		return nil, permanent(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, transient(st.err(err))
	}
	defer resp.Body.Close()
	st.headers()
	if resp.StatusCode != http.StatusOK {
		e := &statusError{code: resp.StatusCode, url: s.hub}
		if statusRetryable(resp.StatusCode) {
			return nil, transient(e)
		}
		return nil, permanent(e)
	}
	var r io.Reader = st.body(resp.Body)
	switch ce := strings.ToLower(resp.Header.Get("Content-Encoding")); ce {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, transient(fmt.Errorf("gzip response: %w", err))
		}
		r = zr
	default:
		return nil, permanent(fmt.Errorf("%w: Content-Encoding %q", ErrResponse, ce))
	}
	v, err := xmlrpc.DecodeResponse(&capReader{r: r, n: maxResponse})
	var fault *xmlrpc.Fault
	switch {
	case err == nil:
		return v, nil
	case errors.As(err, &fault):
		if fault.Code == faultServerOffline {
			return nil, transient(err)
		}
		return nil, permanent(err)
	case errors.Is(err, ErrMalformed), errors.Is(err, errTooLarge):
		return nil, permanent(err)
	}
	// The connection failed under the decoder.
	return nil, transient(err)
}

type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// One byte more than allowed tells a response of exactly the
		// limit from a longer one.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return c.r.Read(p)
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// Fetch downloads c from its Origin, which must be a URL under TopURL
// (List sets it), resuming with Range requests across retries (a server
// that ignores Range is read past the bytes already written). A missing
// file (HTTP 404/410) is not retried and wraps ErrNotFound; a body longer
// or shorter than Size or Content-Length, a compressed body or an
// unsatisfiable range wraps source.ErrVerify. w's own errors are
// returned as they are, without retrying.
func (s *Source) Fetch(ctx context.Context, c *source.Candidate, offset int64, w io.Writer) error {
	if !strings.HasPrefix(c.Origin, s.top.String()) {
		return fmt.Errorf("koji: %s: origin %q is not under topurl %s", c.Href, c.Origin, s.top)
	}
	if offset < 0 {
		return fmt.Errorf("koji: %s: negative offset %d", c.Href, offset)
	}
	if c.Size >= 0 && offset > c.Size {
		return fmt.Errorf("koji: %s: %w: offset %d is past the size %d", c.Href, source.ErrVerify, offset, c.Size)
	}
	if c.Size >= 0 && offset == c.Size {
		return nil
	}
	pos := offset
	err := s.retry(ctx, "download "+c.Origin, func() error {
		n, err := s.fetchOnce(ctx, c, pos, w)
		pos += n
		return err
	})
	if err != nil {
		return fmt.Errorf("koji: fetch %s: %w", c.Href, err)
	}
	return nil
}

// fetchOnce writes what the server sends from pos on, and returns how
// many bytes it wrote.
func (s *Source) fetchOnce(ctx context.Context, c *source.Candidate, pos int64, w io.Writer) (int64, error) {
	st := newStall(ctx, s.cfg.Timeout)
	defer st.stop()
	req, err := http.NewRequestWithContext(st.ctx, http.MethodGet, c.Origin, nil)
	if err != nil {
		return 0, permanent(err)
	}
	req.Header.Set("User-Agent", userAgent)
	// A user-supplied client may have compression on: the bytes must be
	// the file's.
	req.Header.Set("Accept-Encoding", "identity")
	if pos > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(pos, 10)+"-")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, transient(st.err(err))
	}
	defer resp.Body.Close()
	st.headers()

	skip := int64(0) // bytes of the body before pos
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		skip = pos // the server ignored Range: it happens
	case code == http.StatusPartialContent && pos > 0:
		start, total, err := parseContentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != pos {
			return 0, permanent(fmt.Errorf("%s: asked for bytes %d-, got Content-Range %q", c.Origin, pos, resp.Header.Get("Content-Range")))
		}
		if c.Size >= 0 && total >= 0 && total != c.Size {
			return 0, permanent(fmt.Errorf("%w: %s has %d bytes, Koji says %d", source.ErrVerify, c.Origin, total, c.Size))
		}
	case code == http.StatusNotFound || code == http.StatusGone:
		return 0, permanent(s.notFound(c, code))
	case code == http.StatusRequestedRangeNotSatisfiable:
		return 0, permanent(fmt.Errorf("%w: %s has fewer than %d bytes (HTTP 416)", source.ErrVerify, c.Origin, pos))
	default:
		e := &statusError{code: code, url: c.Origin}
		if statusRetryable(code) {
			return 0, transient(e)
		}
		return 0, permanent(e)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return 0, permanent(fmt.Errorf("%w: %s sent Content-Encoding %q: the bytes are not the file's", source.ErrVerify, c.Origin, ce))
	}
	want := int64(-1) // bytes still to come, when known
	if c.Size >= 0 {
		want = c.Size - pos
		if resp.ContentLength >= 0 && resp.ContentLength-skip != want {
			return 0, permanent(fmt.Errorf("%w: %s: Content-Length %d, want %d (Koji says the file has %d bytes)",
				source.ErrVerify, c.Origin, resp.ContentLength, want+skip, c.Size))
		}
	} else if resp.ContentLength >= 0 {
		want = resp.ContentLength - skip
		if want < 0 {
			return 0, permanent(fmt.Errorf("%w: %s has %d bytes, fewer than the %d already fetched", source.ErrVerify, c.Origin, resp.ContentLength, pos))
		}
	}

	body := st.body(resp.Body)
	if skip > 0 {
		if _, err := io.CopyN(io.Discard, body, skip); err != nil {
			return 0, readError(c, err)
		}
	}
	cw := &countWriter{w: w}
	var r io.Reader = body
	if want >= 0 {
		r = io.LimitReader(body, want)
	}
	_, err = io.Copy(cw, r)
	switch {
	case cw.err != nil:
		return cw.n, permanent(fmt.Errorf("writing %s: %w", c.Href, cw.err))
	case err != nil:
		return cw.n, readError(c, err)
	case want >= 0 && cw.n < want:
		return cw.n, transient(fmt.Errorf("%w: %s: body ended after %d of %d bytes: %w", source.ErrVerify, c.Origin, cw.n, want, io.ErrUnexpectedEOF))
	}
	if c.Size >= 0 {
		var one [1]byte
		if n, _ := io.ReadFull(body, one[:]); n > 0 {
			return cw.n, permanent(fmt.Errorf("%w: %s is longer than the %d bytes Koji says it has", source.ErrVerify, c.Origin, c.Size))
		}
	}
	return cw.n, nil
}

func readError(c *source.Candidate, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return transient(fmt.Errorf("%w: %s: body cut short: %w", source.ErrVerify, c.Origin, err))
	}
	return transient(fmt.Errorf("%s: %w", c.Origin, err))
}

func (s *Source) notFound(c *source.Candidate, code int) error {
	if i := strings.Index(c.Origin, "/data/signed/"); i >= 0 {
		nvr := "<build NVR>"
		// .../packages/<name>/<version>/<release>/data/signed/...
		if parts := strings.Split(c.Origin[:i], "/"); len(parts) >= 3 {
			if n, err := url.PathUnescape(strings.Join(parts[len(parts)-3:], "-")); err == nil {
				nvr = n
			}
		}
		return fmt.Errorf("%w: %s: HTTP %d: Koji has a signature by key %s for it, but the signed copy was not written back (on the hub: koji write-signed-rpm %s %s): %w",
			ErrNotFound, c.Origin, code, s.cfg.SigKey, s.cfg.SigKey, nvr, fs.ErrNotExist)
	}
	return fmt.Errorf("%w: %s: HTTP %d: the file Koji lists is missing (build deleted or purged?): %w", ErrNotFound, c.Origin, code, fs.ErrNotExist)
}

// countWriter counts what it passes on and keeps its writer's error
// apart from the reader's.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (cw *countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		cw.err = err
	}
	return n, err
}

// parseContentRange parses "bytes start-end/total"; total is -1 for "*".
func parseContentRange(s string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	if start, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	end, err := strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return 0, 0, fmt.Errorf("bad Content-Range %q", s)
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil || total <= end {
			return 0, 0, fmt.Errorf("bad Content-Range %q", s)
		}
	}
	return start, total, nil
}
