// Package httpsrc is a read-only storage.Backend over HTTP(S): a published
// repository as its clients see it, at a base URL such as
// https://mirror.example.org/el9/x86_64/ (an nginx tree, a CDN, an S3
// bucket's public endpoint).
//
// Open is a GET, Stat a HEAD; List, Put and Delete fail with an error
// wrapping storage.ErrReadOnly without making a request (HTTP has no
// listing). Keys are escaped element by element and appended to the base
// URL.
//
// The backend talks to the server as librepo does, so that what it sees
// is what dnf gets: no Accept-Encoding (a response with a Content-Encoding
// is an error: its bytes are not the file's), Cache-Control: no-cache on
// repomd.xml and its signature, redirects followed. A 404 or 410 is
// storage.ErrNotExist; a body shorter than its Content-Length is an error
// wrapping io.ErrUnexpectedEOF, never a clean EOF.
//
// Timeouts: Config.Timeout bounds every wait for the server to make
// progress — connecting, the response headers, and each read of the body
// — rather than the whole transfer, so a large package on a slow but live
// link is not cut off while a stalled one is.
//
// Errors classify themselves for storage/retry (a method Retryable()
// bool): 5xx (but 501 and 505), 408 and 429 responses, stalls and network
// errors are transient; other statuses are not.
package httpsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rpmirror/rpmirror/storage"
)

// Config says where the repository is and how to fetch from it.
type Config struct {
	// URL is the base URL, http:// or https://, without credentials,
	// query or fragment. Keys are resolved below it as if it ended in
	// '/'.
	URL string
	// Client makes the requests; nil uses one with the dial and TLS
	// handshake bounded by Timeout and compression off. A Client's own
	// Timeout, if any, bounds whole transfers: leave it zero.
	Client *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// Timeout is the longest the backend waits for the server to make
	// progress: to connect, to send the response headers, or to send more
	// of the body. A request that stalls longer fails with a timeout
	// error, which storage/retry retries.
	Timeout time.Duration
}

// DefaultConfig returns a Config with User-Agent "rpmirror" and a 60 s
// timeout; the caller fills in URL.
func DefaultConfig() Config {
	return Config{UserAgent: "rpmirror", Timeout: 60 * time.Second}
}

// Backend reads objects from an HTTP server.
type Backend struct {
	base    *url.URL // path ends in '/'
	client  *http.Client
	agent   string
	timeout time.Duration
}

var _ storage.Backend = (*Backend)(nil)

// New returns a Backend for cfg. It makes no request. Zero fields of cfg
// other than URL and Client take their DefaultConfig values.
func New(cfg Config) (*Backend, error) {
	def := DefaultConfig()
	if cfg.UserAgent == "" {
		cfg.UserAgent = def.UserAgent
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = def.Timeout
	}
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
		client = &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: cfg.Timeout,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
			// librepo sends no Accept-Encoding; neither do we.
			DisableCompression: true,
			ForceAttemptHTTP2:  true,
		}}
	}
	return &Backend{base: u, client: client, agent: cfg.UserAgent, timeout: cfg.Timeout}, nil
}

// ParseURL checks a base URL as New does and returns it with a path
// ending in '/'. Errors never contain the URL's user information.
func ParseURL(raw string) (*url.URL, error) {
	// A password with an unescaped '/' ends the authority early and
	// makes url.Parse fail with an error quoting part of it: refuse user
	// information before parsing, and never repeat a URL that has an '@'.
	_, afterScheme, _ := strings.Cut(raw, "://")
	if at := strings.LastIndexByte(afterScheme, '@'); at >= 0 && !strings.ContainsAny(afterScheme[:at], "?#") &&
		strings.Count(afterScheme[:at], "/") <= 1 {
		return nil, errCredentials
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			return nil, errors.New("httpsrc: invalid URL (not repeated: it may hold credentials)")
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("httpsrc: invalid URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("httpsrc: URL scheme %q: want http or https", u.Scheme)
	case u.User != nil:
		return nil, errCredentials
	case u.Host == "":
		return nil, fmt.Errorf("httpsrc: URL %s has no host", u.Redacted())
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("httpsrc: URL %s: a base URL has no query or fragment", u.Redacted())
	case u.Opaque != "":
		return nil, fmt.Errorf("httpsrc: URL %s is not hierarchical", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		if u.RawPath != "" {
			u.RawPath += "/"
		}
	}
	return u, nil
}

var errCredentials = errors.New("httpsrc: credentials in the URL are not supported (logs would show them)")

// String describes the backend for logs.
func (b *Backend) String() string { return b.base.String() }

// URL returns the URL of key.
func (b *Backend) URL(key string) (string, error) {
	if err := storage.ValidKey(key); err != nil {
		return "", fmt.Errorf("httpsrc: %w", err)
	}
	els := strings.Split(key, "/")
	for i, el := range els {
		// '+' is a space to AWS S3's HTTP interface: send %2B, which
		// every server decodes to '+'.
		els[i] = strings.ReplaceAll(url.PathEscape(el), "+", "%2B")
	}
	u := *b.base
	u.RawPath = b.base.EscapedPath() + strings.Join(els, "/")
	u.Path = b.base.Path + key
	return u.String(), nil
}

// errStalled is the cause of a request cancelled because the server made
// no progress for the timeout.
var errStalled = errors.New("server made no progress")

// requestError is the error of a failed request: a status, a stall or a
// transport error. It wraps storage.ErrNotExist for 404 and 410.
type requestError struct {
	op, key string
	status  int           // 0 when no response was received
	stall   time.Duration // > 0 when the request stalled
	err     error         // cause, nil for a status
}

func (e *requestError) Error() string {
	prefix := "httpsrc: " + e.op + " " + e.key + ": "
	switch {
	case e.stall > 0:
		return prefix + fmt.Sprintf("timeout: no progress for %v", e.stall)
	case e.err != nil && e.status != 0:
		return prefix + fmt.Sprintf("HTTP %d: %v", e.status, e.err)
	case e.status != 0:
		return prefix + "HTTP " + strconv.Itoa(e.status) + " " + http.StatusText(e.status)
	}
	return prefix + e.err.Error()
}

func (e *requestError) Unwrap() []error {
	var errs []error
	if e.status == http.StatusNotFound || e.status == http.StatusGone {
		errs = append(errs, storage.ErrNotExist)
	}
	if e.err != nil {
		errs = append(errs, e.err)
	}
	return errs
}

// Timeout reports a stall or a network timeout, as a net.Error does.
func (e *requestError) Timeout() bool {
	var ne net.Error
	return e.stall > 0 || errors.As(e.err, &ne) && ne.Timeout()
}

// Temporary is Timeout (net.Error's deprecated method).
func (e *requestError) Temporary() bool { return e.Timeout() }

// Retryable reports whether the request may succeed when made again.
func (e *requestError) Retryable() bool {
	if e.stall > 0 {
		return true
	}
	if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
		return false
	}
	if s := e.status; s != 0 {
		return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests ||
			(s >= 500 && s != http.StatusNotImplemented && s != http.StatusHTTPVersionNotSupported)
	}
	return e.err != nil && !errors.Is(e.err, errContentEncoding)
}

var errContentEncoding = errors.New("response has a Content-Encoding: its bytes are not the file's")

// watchdog cancels a request when the server makes no progress for the
// timeout; every sign of progress calls kick.
type watchdog struct {
	timer  *time.Timer
	d      time.Duration
	ctx    context.Context // the request's context
	cancel context.CancelCauseFunc
}

func (b *Backend) newWatchdog(ctx context.Context) *watchdog {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &watchdog{d: b.timeout, ctx: ctx, cancel: cancel}
	w.timer = time.AfterFunc(b.timeout, func() { cancel(errStalled) })
	return w
}

func (w *watchdog) kick() { w.timer.Reset(w.d) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(context.Canceled)
}

// fail makes the error of a failed round trip or read, telling a stall
// and the caller's cancellation from other errors.
func (w *watchdog) fail(parent context.Context, op, key string, status int, err error) error {
	if perr := parent.Err(); perr != nil {
		if !errors.Is(err, perr) {
			err = fmt.Errorf("%w (%w)", err, perr)
		}
		return &requestError{op: op, key: key, status: status, err: err}
	}
	if errors.Is(context.Cause(w.ctx), errStalled) {
		return &requestError{op: op, key: key, status: status, stall: w.d}
	}
	return &requestError{op: op, key: key, status: status, err: err}
}

// do sends a request for key and returns the response when its status
// is one of ok; otherwise it closes the body and returns the error.
func (b *Backend) do(ctx context.Context, op, method, key string, header http.Header, ok ...int) (*http.Response, *watchdog, error) {
	u, err := b.URL(key)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("httpsrc: %s %s: %w", op, key, err)
	}
	w := b.newWatchdog(ctx)
	req, err := http.NewRequestWithContext(w.ctx, method, u, nil)
	if err != nil {
		w.stop()
		return nil, nil, fmt.Errorf("httpsrc: %s %s: %w", op, key, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", b.agent)
	// Also stops a caller-supplied Transport from asking for gzip and
	// decoding it behind our back.
	req.Header.Set("Accept-Encoding", "identity")
	if base := path.Base(key); base == "repomd.xml" || base == "repomd.xml.asc" {
		req.Header.Set("Cache-Control", "no-cache")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		w.stop()
		return nil, nil, w.fail(ctx, op, key, 0, err)
	}
	w.kick()
	for _, s := range ok {
		if resp.StatusCode == s {
			if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
				resp.Body.Close()
				w.stop()
				return nil, nil, &requestError{op: op, key: key, status: resp.StatusCode,
					err: fmt.Errorf("%w (Content-Encoding: %s)", errContentEncoding, ce)}
			}
			return resp, w, nil
		}
	}
	// A little of the body lets the connection be reused.
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	w.stop()
	return nil, nil, &requestError{op: op, key: key, status: resp.StatusCode}
}

// Open implements storage.Backend with a GET. The response headers have
// arrived when Open returns, so a missing object is reported by Open.
func (b *Backend) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, w, err := b.do(ctx, "get", http.MethodGet, key, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return &body{rc: resp.Body, remaining: resp.ContentLength, key: key, w: w, parent: ctx}, nil
}

// body turns a body shorter than its Content-Length into an error and
// keeps the watchdog fed while it is read.
type body struct {
	rc        io.ReadCloser
	remaining int64 // -1: no Content-Length
	key       string
	w         *watchdog
	parent    context.Context
	err       error // sticky
}

func (r *body) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.rc.Read(p)
	if n > 0 {
		r.w.kick()
		if r.remaining >= 0 {
			r.remaining -= int64(n)
		}
	}
	switch {
	case err == io.EOF && r.remaining > 0:
		r.err = &requestError{op: "read", key: r.key,
			err: fmt.Errorf("%w: %d bytes missing of the Content-Length", io.ErrUnexpectedEOF, r.remaining)}
	case err == io.EOF:
		r.err = io.EOF
		r.w.timer.Stop()
	case err != nil:
		r.err = r.w.fail(r.parent, "read", r.key, 0, err)
	}
	if r.err != nil {
		return n, r.err
	}
	return n, nil
}

func (r *body) Close() error {
	err := r.rc.Close()
	r.w.stop()
	if r.err == nil {
		r.err = errors.New("httpsrc: read after Close")
	}
	return err
}

// Stat implements storage.Backend with a HEAD. The size is the
// Content-Length; a server that sends none (or refuses HEAD) is asked
// for the first byte with a Range request, whose Content-Range holds the
// size. SHA256 is always "": a header the server sends is no proof.
func (b *Backend) Stat(ctx context.Context, key string) (storage.Object, error) {
	resp, w, err := b.do(ctx, "head", http.MethodHead, key, nil, http.StatusOK)
	var re *requestError
	switch {
	case errors.As(err, &re) && (re.status == http.StatusMethodNotAllowed || re.status == http.StatusNotImplemented):
		return b.statRange(ctx, key)
	case err != nil:
		return storage.Object{}, err
	}
	resp.Body.Close()
	w.stop()
	if resp.ContentLength < 0 {
		return b.statRange(ctx, key)
	}
	return object(key, resp, resp.ContentLength), nil
}

func (b *Backend) statRange(ctx context.Context, key string) (storage.Object, error) {
	h := http.Header{"Range": {"bytes=0-0"}}
	resp, w, err := b.do(ctx, "stat", http.MethodGet, key, h, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return storage.Object{}, err
	}
	resp.Body.Close()
	w.stop()
	size := resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		size = -1
		cr := resp.Header.Get("Content-Range") // "bytes 0-0/1234"
		if _, total, ok := strings.Cut(cr, "/"); ok {
			if n, err := strconv.ParseInt(total, 10, 64); err == nil && n >= 0 {
				size = n
			}
		}
	}
	if size < 0 {
		return storage.Object{}, &requestError{op: "stat", key: key, status: resp.StatusCode,
			err: errors.New("the server tells neither a Content-Length nor a Content-Range")}
	}
	return object(key, resp, size), nil
}

func object(key string, resp *http.Response, size int64) storage.Object {
	o := storage.Object{
		Key:          key,
		Size:         size,
		ContentType:  resp.Header.Get("Content-Type"),
		CacheControl: resp.Header.Get("Cache-Control"),
	}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		o.ModTime = t
	}
	return o
}

// Put implements storage.Backend: it fails with storage.ErrReadOnly.
func (b *Backend) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	return fmt.Errorf("httpsrc: put %s: %w", key, storage.ErrReadOnly)
}

// Delete implements storage.Backend: it fails with storage.ErrReadOnly.
func (b *Backend) Delete(ctx context.Context, key string) error {
	return fmt.Errorf("httpsrc: delete %s: %w", key, storage.ErrReadOnly)
}

// List implements storage.Backend: it fails with storage.ErrReadOnly
// (HTTP has no listing).
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	return fmt.Errorf("httpsrc: list %q: %w", prefix, storage.ErrReadOnly)
}
