package repo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
)

// ErrNotFound is wrapped by a download error when every mirror asked
// answered 404 or 410: the file is not there (a mirror behind its
// metadata, a package listed but never uploaded).
var ErrNotFound = errors.New("repo: not found")

// ErrTooLarge is wrapped when a file is larger than the configured limit.
var ErrTooLarge = errors.New("repo: file larger than the configured limit")

// maxRedirects bounds the redirects followed for one request.
const maxRedirects = 10

// maxBackoff caps the wait between retries (unless Config.Backoff is
// larger).
const maxBackoff = 30 * time.Second

var errRedirect = errors.New("redirect refused")

// newClient returns the client for cfg: a copy of cfg.HTTPClient, or a
// transport of our own, with the redirect policy in front.
func newClient(cfg *Config) *http.Client {
	var c http.Client
	if cfg.HTTPClient != nil {
		c = *cfg.HTTPClient
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Metadata and packages are stored as served: a transparently
		// decoded .gz would not match its checksum. (Requests also send
		// Accept-Encoding: identity, which covers injected clients.)
		tr.DisableCompression = true
		tr.ResponseHeaderTimeout = cfg.Timeout
		tr.MaxIdleConnsPerHost = 16
		c.Transport = tr
	}
	inner := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
		}
		if s := req.URL.Scheme; s != "http" && s != "https" {
			return fmt.Errorf("%w: to %s: scheme %q is not http or https", errRedirect, req.URL.Redacted(), s)
		}
		if via[len(via)-1].URL.Scheme == "https" && req.URL.Scheme == "http" {
			return fmt.Errorf("%w: from https to %s", errRedirect, req.URL.Redacted())
		}
		if inner != nil {
			return inner(req, via)
		}
		return nil
	}
	return &c
}

// joinURL resolves a checked relative path (repodata.CheckHref) below a
// base URL ending in "/", keeping the base's query (some private mirrors
// authenticate with one).
func joinURL(base *url.URL, rel string) *url.URL {
	u := base.ResolveReference(&url.URL{Path: rel})
	u.RawQuery = base.RawQuery
	return u
}

// target is one file to download from one URL.
type target struct {
	url     *url.URL // where
	size    int64    // expected total size, -1 when unknown
	limit   int64    // when size is unknown: the most bytes accepted, 0 for no limit
	noCache bool     // send Cache-Control: no-cache (repomd.xml, .asc, lists)
}

// failKind says what to do after a failed attempt.
type failKind int

const (
	kindRetry failKind = iota // transient: retry this mirror after a backoff
	kindNext                  // this mirror cannot serve the file: next mirror
	kindFatal                 // stop: w is tainted, ctx is done, or w failed
)

// attemptError is a failed attempt.
type attemptError struct {
	kind       failKind
	err        error
	notFound   bool          // 404 or 410
	retryAfter time.Duration // from a Retry-After header
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

func fail(kind failKind, format string, args ...any) *attemptError {
	return &attemptError{kind: kind, err: fmt.Errorf(format, args...)}
}

// statusError is an HTTP status that is not what was asked for.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return "HTTP " + e.status }

var errStalled = errors.New("stalled")

var bufPool = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// download writes t's bytes from *pos on to w, from t.url only, retrying
// transient failures with backoff up to cfg.Retries times and resuming at
// the byte reached. *pos is advanced by every byte written. It returns
// nil when the file is complete, or the last attempt's *attemptError.
func (r *Repo) download(ctx context.Context, t *target, pos *int64, w io.Writer, log logrus.FieldLogger) *attemptError {
	fails := 0
	for {
		complete, aerr := r.attempt(ctx, t, pos, w, log)
		if aerr == nil {
			if complete {
				return nil
			}
			continue // a 206 with part of the rest: ask for more
		}
		if aerr.kind != kindRetry {
			return aerr
		}
		fails++
		if fails > r.cfg.Retries {
			return aerr
		}
		d := r.backoff(fails, aerr.retryAfter)
		log.WithError(aerr.err).Warnf("attempt %d failed at byte %d; retrying in %s", fails, *pos, d.Round(time.Millisecond))
		if err := sleep(ctx, d); err != nil {
			return &attemptError{kind: kindFatal, err: err}
		}
	}
}

// backoff returns the wait before retry n (1-based): Backoff·2^(n-1),
// capped, with "equal jitter" (half fixed, half random), or Retry-After
// when the server asked for longer and it is within the cap.
func (r *Repo) backoff(n int, retryAfter time.Duration) time.Duration {
	b := r.cfg.Backoff
	if b <= 0 {
		return 0
	}
	limit := max(maxBackoff, b)
	d := b
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d && retryAfter <= limit {
		d = retryAfter
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-tm.C:
		return nil
	}
}

// attempt makes one request for t from *pos and copies the body to w. It
// reports whether the file is complete; a nil error with complete false
// means the server sent part of what was asked (a 206 with a shorter
// range) and another request continues.
func (r *Repo) attempt(ctx context.Context, t *target, pos *int64, w io.Writer, log logrus.FieldLogger) (bool, *attemptError) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The stall timer covers connecting, waiting for the response and
	// every read of the body; each read that returns bytes resets it.
	stall := time.AfterFunc(r.cfg.Timeout, func() { cancel(errStalled) })
	defer stall.Stop()

	req, err := http.NewRequestWithContext(actx, http.MethodGet, t.url.String(), nil)
	if err != nil {
		return false, fail(kindNext, "%w", err)
	}
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	// Bytes as stored: no transparent decoding (see newClient).
	req.Header.Set("Accept-Encoding", "identity")
	if t.noCache {
		req.Header.Set("Cache-Control", "no-cache")
		req.Header.Set("Pragma", "no-cache")
	}
	if *pos > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", *pos))
	}
	log.Debugf("GET from byte %d", *pos)
	resp, err := r.client.Do(req)
	if err != nil {
		return false, r.classify(ctx, actx, err)
	}
	defer resp.Body.Close()

	// n is how many body bytes to take (-1: to the end), skip how many
	// to drop first (a server that answers a Range request with 200),
	// total the file's size as the server sees it (-1: unknown).
	var n, skip, total int64 = -1, 0, -1
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		cl := resp.ContentLength
		if cl >= 0 && t.size >= 0 && cl != t.size {
			return false, fail(kindNext, "%w: Content-Length is %d, want %d", source.ErrVerify, cl, t.size)
		}
		if cl >= 0 && t.size < 0 && t.limit > 0 && cl > t.limit {
			return false, fail(kindNext, "%w: Content-Length %d exceeds the limit of %d bytes", ErrTooLarge, cl, t.limit)
		}
		if *pos > 0 {
			log.Debugf("server ignored Range; skipping the first %d bytes", *pos)
		}
		skip, total = *pos, cl
	case code == http.StatusPartialContent:
		start, end, size, err := parseContentRange(resp.Header.Get("Content-Range"))
		switch {
		case err != nil:
			return false, fail(kindNext, "206 response: %w", err)
		case start != *pos:
			return false, fail(kindNext, "asked for bytes from %d, the server sent %d-%d", *pos, start, end)
		case size >= 0 && t.size >= 0 && size != t.size:
			return false, fail(kindNext, "%w: the server's file is %d bytes, want %d", source.ErrVerify, size, t.size)
		case size < 0 && t.size >= 0 && end >= t.size:
			return false, fail(kindNext, "%w: the server sent bytes up to %d of a %d-byte file", source.ErrVerify, end, t.size)
		case resp.ContentLength >= 0 && resp.ContentLength != end-start+1:
			return false, fail(kindNext, "Content-Length %d does not match Content-Range %d-%d", resp.ContentLength, start, end)
		}
		n, total = end-start+1, size
	case code == http.StatusRequestedRangeNotSatisfiable:
		// The file ends at or before *pos. When it ends exactly there
		// (a resume of a file of unknown size that was complete), done.
		if _, _, size, err := parseContentRange(resp.Header.Get("Content-Range")); err == nil && size == *pos && (t.size < 0 || t.size == size) {
			return true, nil
		}
		return false, fail(kindNext, "%w: range from byte %d not satisfiable: the server's file is shorter", source.ErrVerify, *pos)
	case code == http.StatusNotFound || code == http.StatusGone:
		return false, &attemptError{kind: kindNext, err: &statusError{code, resp.Status}, notFound: true}
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return false, &attemptError{kind: kindRetry, err: &statusError{code, resp.Status}, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	default:
		return false, &attemptError{kind: kindNext, err: &statusError{code, resp.Status}}
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		log.Debugf("ignoring Content-Encoding %q: keeping the bytes as served", ce)
	}

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var got int64 // body bytes read
	for {
		want := len(buf)
		if n >= 0 && n-got+1 < int64(want) {
			want = int(n - got + 1) // one more than the range, to catch excess
		}
		k, rerr := resp.Body.Read(buf[:want])
		if k > 0 {
			stall.Reset(r.cfg.Timeout)
			b := buf[:k]
			got += int64(k)
			var excess bool
			if n >= 0 && got > n {
				b = b[:int64(k)-(got-n)]
				excess = true
			}
			if aerr := r.consume(t, b, &skip, pos, w); aerr != nil {
				return false, aerr
			}
			if excess {
				return false, fail(kindNext, "the server sent more than the %d bytes of its range", n)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			aerr := r.classify(ctx, actx, rerr)
			aerr.err = fmt.Errorf("body cut short at byte %d: %w", *pos, aerr.err)
			return false, aerr
		}
	}
	switch {
	case skip > 0:
		return false, fail(kindRetry, "body ended before byte %d", *pos)
	case n >= 0 && got < n:
		return false, fail(kindRetry, "body cut short at byte %d", *pos)
	case t.size >= 0 && *pos < t.size && n < 0:
		return false, fail(kindRetry, "body ended at byte %d of %d", *pos, t.size)
	case n >= 0 && (total >= 0 && *pos < total || t.size >= 0 && *pos < t.size || total < 0 && t.size < 0):
		// A shorter range than asked for, or one whose end the server
		// did not say: ask for the rest.
		return false, nil
	}
	return true, nil
}

// consume drops what remains to skip of b and writes the rest to w,
// never beyond t.size or t.limit.
func (r *Repo) consume(t *target, b []byte, skip, pos *int64, w io.Writer) *attemptError {
	if *skip > 0 {
		d := min(*skip, int64(len(b)))
		*skip -= d
		b = b[d:]
	}
	var over *attemptError
	if t.size >= 0 && *pos+int64(len(b)) > t.size {
		b = b[:t.size-*pos]
		over = fail(kindFatal, "%w: the server sent more than the %d bytes expected", source.ErrVerify, t.size)
	}
	if t.size < 0 && t.limit > 0 && *pos+int64(len(b)) > t.limit {
		return fail(kindFatal, "%w: more than %d bytes", ErrTooLarge, t.limit)
	}
	if len(b) > 0 {
		wn, err := w.Write(b)
		*pos += int64(wn)
		if err != nil {
			return fail(kindFatal, "write: %w", err)
		}
	}
	return over
}

// classify turns a transport error into an attemptError.
func (r *Repo) classify(ctx, actx context.Context, err error) *attemptError {
	if ctx.Err() != nil {
		return &attemptError{kind: kindFatal, err: context.Cause(ctx)}
	}
	if errors.Is(context.Cause(actx), errStalled) {
		return fail(kindRetry, "no progress for %s", r.cfg.Timeout)
	}
	var (
		dnsErr     *net.DNSError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		certErr    x509.CertificateInvalidError
		tlsVerifyE *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, errRedirect):
		return &attemptError{kind: kindNext, err: unwrapURLError(err)}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound,
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &certErr), errors.As(err, &tlsVerifyE):
		// Retrying will not change these.
		return &attemptError{kind: kindNext, err: unwrapURLError(err)}
	}
	return &attemptError{kind: kindRetry, err: unwrapURLError(err)}
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// URL that our messages already name.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseContentRange parses "bytes start-end/size" (size may be "*", -1)
// or "bytes */size" (start and end -1).
func parseContentRange(s string) (start, end, size int64, err error) {
	bad := func() (int64, int64, int64, error) {
		return -1, -1, -1, fmt.Errorf("bad Content-Range %q", truncate(s, 80))
	}
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return bad()
	}
	rng, sz, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	size = -1
	if sz != "*" {
		if size, err = parseUint(sz); err != nil {
			return bad()
		}
	}
	if rng == "*" {
		if size < 0 {
			return bad()
		}
		return -1, -1, size, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return bad()
	}
	if start, err = parseUint(a); err != nil {
		return bad()
	}
	if end, err = parseUint(b); err != nil {
		return bad()
	}
	if end < start || (size >= 0 && end >= size) {
		return bad()
	}
	return start, end, size, nil
}

// retryAfter parses a Retry-After header given in seconds; 0 otherwise.
func retryAfter(s string) time.Duration {
	if s == "" {
		return 0
	}
	if v, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && v > 0 && v < 3600 {
		return time.Duration(v) * time.Second
	}
	return 0
}
