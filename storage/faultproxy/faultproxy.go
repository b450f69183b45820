// Package faultproxy is an HTTP proxy for tests that sits between a
// client (storage/s3, storage/httpsrc, a child rpmirror process) and a
// server (MinIO, an httptest server) and injects faults into the requests
// that match its rules: connection resets, S3-style 5xx errors, delays,
// truncated response bodies. Everything else is forwarded unchanged.
//
// Typical use, in front of MinIO:
//
//	srv := miniotest.Shared(t)
//	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{Seed: 1})
//	cfg := target.DefaultConfig()
//	cfg.S3.AccessKey, cfg.S3.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
//	cfg.Retry = retry.Options{InitialBackoff: time.Millisecond} // fast retries in tests
//	b, err := target.Open(ctx, p.S3Target(bucket, "el9", srv.Region), cfg)
//	...
//	p.Add(faultproxy.Rule{Method: "PUT", Key: "el9/repodata/repomd.xml", Fault: faultproxy.ConnReset()})
//	p.Add(faultproxy.Rule{Method: "GET", Nth: 3, Times: 1, Fault: faultproxy.TruncateBody(100)})
//	...
//	if p.Injected() == 0 { t.Fatal("no fault was injected") }
//
// # Signatures and the Host header
//
// S3 requests are signed (AWS Signature V4) over, among others, the Host
// header and the path. The client is pointed at the proxy, so it signs
// the proxy's host:port; the proxy forwards the request to the upstream
// with that Host header unchanged, the path and query byte for byte, and
// every end-to-end header as received, so the signature MinIO computes
// matches. MinIO does not check that Host names itself (only a server
// with virtual-host buckets configured, MINIO_DOMAIN, reads it), so this
// works for path-style requests, which is what minio-go uses for an IP
// endpoint. A proxy that rewrote Host to the upstream's address — what
// net/http/httputil.ReverseProxy's SetURL does — would get 403
// SignatureDoesNotMatch for every request (TestHostRewriteBreaksSigV4
// shows it). Only hop-by-hop headers (Connection, Keep-Alive, TE,
// Trailer, Transfer-Encoding, Upgrade, Proxy-*), which no S3 client
// signs, are dropped; the body, including aws-chunked streaming-signature
// bodies, passes through with its Content-Length.
//
// # Rules
//
// Each request is checked against the rules in the order they were
// added. A rule matches on method, path, object key and query (all
// optional); every rule whose filters match counts the request, and the
// first matching rule that is due (Nth, Times, Probability) injects its
// fault. Probabilities draw from a generator seeded with Options.Seed,
// so a test whose requests come in a fixed order sees the same faults on
// every run.
//
// # Killing a client mid-request
//
// To stop a child rpmirror at a precise point (kill -9 during the upload
// of repomd.xml, say), hold that request with a rule whose fault is
// Slow(time.Hour), wait for WaitInjected(ctx, rule, 1), and kill the
// process: the held request never reaches the upstream, and ends when its
// connection closes. Slow(...).AfterUpstream() holds the answer instead:
// the object is stored, the client never learns it.
//
// The proxy listens on 127.0.0.1 only, speaks plain HTTP (HTTP/1.1) on
// both sides and never uses the environment's HTTP proxy.
package faultproxy

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is a kind of fault.
type Kind int

// The kinds of fault.
const (
	// KindReset closes the client's connection with a TCP reset instead
	// of answering: the client sees "connection reset by peer" (or an
	// EOF when it was still sending the body).
	KindReset Kind = iota + 1
	// KindStatus answers with an HTTP error status and an S3 XML error
	// body.
	KindStatus
	// KindDelay waits, then lets the request proceed.
	KindDelay
	// KindTruncate forwards the request and sends the upstream's status,
	// headers (with the full Content-Length) and only the first bytes of
	// its body, then closes the connection: the client reads a short
	// body (Go: io.ErrUnexpectedEOF).
	KindTruncate
)

func (k Kind) String() string {
	switch k {
	case KindReset:
		return "reset"
	case KindStatus:
		return "status"
	case KindDelay:
		return "delay"
	case KindTruncate:
		return "truncate"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is what happens to a request a rule selects. Build one with
// ConnReset, HTTPError, Slow or TruncateBody.
type Fault struct {
	Kind Kind
	// Status and Code are the HTTP status and the S3 error code of a
	// KindStatus fault; an empty Code takes the usual one for the status
	// (500 InternalError, 503 ServiceUnavailable, 403 AccessDenied ...).
	Status int
	Code   string
	// Delay is how long a KindDelay fault waits. The wait ends early when
	// the client goes away.
	Delay time.Duration
	// Bytes is how much of the body a KindTruncate fault sends. A body
	// of Bytes bytes or fewer is sent whole, and the fault does not count
	// as injected (it does use up one of the rule's Times).
	Bytes int64
	// Upstream makes a KindReset, KindStatus or KindDelay fault strike
	// after the upstream has handled the request: the object was written
	// (or deleted), but the client sees a reset, an error or a late
	// answer — the "outcome unknown" case. Otherwise the request never
	// reaches the upstream (a delay postpones it). KindTruncate always
	// strikes after the upstream.
	Upstream bool
}

// ConnReset returns a fault that resets the connection without an
// answer, before the request reaches the upstream.
func ConnReset() Fault { return Fault{Kind: KindReset} }

// HTTPError returns a fault that answers with status and an S3 error
// body, before the request reaches the upstream.
func HTTPError(status int) Fault { return Fault{Kind: KindStatus, Status: status} }

// Slow returns a fault that holds the request for d before forwarding
// it. A long d holds it until the client gives up or dies, which is how
// a test freezes a publisher mid-upload.
func Slow(d time.Duration) Fault { return Fault{Kind: KindDelay, Delay: d} }

// TruncateBody returns a fault that forwards the request and cuts the
// response body after n bytes by closing the connection.
func TruncateBody(n int64) Fault { return Fault{Kind: KindTruncate, Bytes: n} }

// AfterUpstream returns f striking after the upstream has handled the
// request (see Fault.Upstream).
func (f Fault) AfterUpstream() Fault { f.Upstream = true; return f }

// Rule selects requests and says what fault to inject into them.
type Rule struct {
	// Name identifies the rule in counters and events; Add names an
	// unnamed rule "rule N" (N counting from 1 in the order of Add).
	Name string
	// Method, when set, must equal the request's method ("PUT", "GET",
	// "HEAD", "POST", "DELETE").
	Method string
	// PathContains, when set, must be a substring of the request's
	// decoded path ("/bucket/prefix/key" for a path-style S3 request).
	PathContains string
	// Key, when set, must end the decoded path after a '/': the object
	// key with the bucket's prefix ("el9/repodata/repomd.xml"). It also
	// matches the part uploads of a multipart upload (PUT
	// key?partNumber=N&uploadId=...), which have the same path.
	Key string
	// Query, when set, must be a substring of the raw query: "uploadId"
	// (multipart requests), "partNumber=2", "list-type=2" (listings).
	Query string
	// Nth is the first matching request (counting from 1) that the rule
	// may affect: 3 leaves the first two alone. 0 is 1.
	Nth int
	// Times is the most requests the rule affects; 0 is no limit. Nth: n
	// with Times: 1 affects exactly the nth matching request.
	Times int
	// Probability, when in (0, 1), is the chance that a due request is
	// affected; 0 (and 1) affect every due request.
	Probability float64
	Fault       Fault
}

// FailPut returns a rule that fails every PUT of key (each part of a
// multipart upload too) with 403 AccessDenied, an error storage/retry
// does not retry: the upload of that object fails at once, every other
// request proceeds. key is the object key with the bucket's prefix. For a
// transient failure instead, write the rule with HTTPError(503) and
// Times.
func FailPut(key string) Rule {
	return Rule{Name: "fail PUT " + key, Method: http.MethodPut, Key: key, Fault: HTTPError(http.StatusForbidden)}
}

// Event records one injected fault.
type Event struct {
	Rule   string
	Kind   Kind
	Method string
	Path   string // decoded
	Query  string // raw
	Time   time.Time
}

func (e Event) String() string {
	q := ""
	if e.Query != "" {
		q = "?" + e.Query
	}
	return fmt.Sprintf("%s: %s %s%s (%s)", e.Rule, e.Method, e.Path, q, e.Kind)
}

// Options configure a proxy.
type Options struct {
	// Seed seeds the generator Rule.Probability draws from.
	Seed uint64
	// Logf, when set, is called for every injected fault (t.Logf).
	Logf func(format string, args ...any)
}

type ruleState struct {
	Rule
	matched, due, injected int
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	upstream string // host:port
	opt      Options
	ln       net.Listener
	srv      *http.Server
	client   *http.Transport
	done     chan struct{}

	mu       sync.Mutex
	rng      *rand.Rand
	rules    []*ruleState
	added    int
	requests int
	events   []Event
	reqSeq   int
}

// New starts a proxy on 127.0.0.1 (a free port) forwarding to upstream,
// "host:port" or "http://host:port". Close stops it.
func New(upstream string, opt Options) (*Proxy, error) {
	upstream = strings.TrimSuffix(strings.TrimPrefix(upstream, "http://"), "/")
	if upstream == "" || strings.Contains(upstream, "/") {
		return nil, fmt.Errorf("faultproxy: upstream %q: want host:port", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		upstream: upstream,
		opt:      opt,
		ln:       ln,
		rng:      rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15)),
		done:     make(chan struct{}),
		client: &http.Transport{
			Proxy:               nil, // never the environment's proxy
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableCompression:  true, // pass bodies and Accept-Encoding through as they are
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	// Plain HTTP/1.1 (no TLS, so no HTTP/2): hijacking, which resets
	// need, is HTTP/1.
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: time.Minute}
	go func() {
		defer close(p.done)
		_ = p.srv.Serve(ln)
	}()
	return p, nil
}

// Start starts a proxy for the test t, closed when t ends.
func Start(t testing.TB, upstream string, opt Options) *Proxy {
	t.Helper()
	if opt.Logf == nil {
		opt.Logf = t.Logf
	}
	p, err := New(upstream, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Endpoint returns the proxy's "127.0.0.1:port": the S3 endpoint to give
// clients.
func (p *Proxy) Endpoint() string { return p.ln.Addr().String() }

// URL returns "http://127.0.0.1:port".
func (p *Proxy) URL() string { return "http://" + p.Endpoint() }

// S3Target returns the storage/target spec of bucket/prefix through the
// proxy (plain HTTP, path-style), for target.Open or the command line of
// a child rpmirror process; credentials go in target.Config or the AWS_*
// environment variables.
func (p *Proxy) S3Target(bucket, prefix, region string) string {
	s := "s3://" + bucket + "/" + strings.Trim(prefix, "/") + "?endpoint=" + p.Endpoint() + "&path-style=1&tls=0"
	if region != "" {
		s += "&region=" + region
	}
	return s
}

// WaitInjected waits until the rule named rule has injected n faults, or
// ctx ends. A test that must act while a request is held — kill -9 a
// publisher in the middle of an upload — adds a Slow(time.Hour) rule and
// waits for its first injection: a delay is counted when it starts.
func (p *Proxy) WaitInjected(ctx context.Context, rule string, n int) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for p.InjectedRule(rule) < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("faultproxy: waiting for %d faults of %q (have %d): %w", n, rule, p.InjectedRule(rule), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Close stops the proxy, dropping the connections it has open.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	<-p.done
	p.client.CloseIdleConnections()
	return err
}

// Add appends a rule.
func (p *Proxy) Add(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.added++
	if r.Name == "" {
		r.Name = "rule " + strconv.Itoa(p.added)
	}
	p.rules = append(p.rules, &ruleState{Rule: r})
}

// Clear removes every rule; the counters and events stay.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns the number of requests received.
func (p *Proxy) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Injected returns the number of faults injected.
func (p *Proxy) Injected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// InjectedKind returns the number of faults of kind k injected.
func (p *Proxy) InjectedKind(k Kind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// InjectedRule returns the number of faults the named rule injected.
func (p *Proxy) InjectedRule(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, e := range p.events {
		if e.Rule == name {
			n++
		}
	}
	return n
}

// Events returns the faults injected so far, in order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

func (r *Rule) matches(req *http.Request) bool {
	path := req.URL.Path
	return (r.Method == "" || r.Method == req.Method) &&
		(r.PathContains == "" || strings.Contains(path, r.PathContains)) &&
		(r.Key == "" || strings.HasSuffix(path, "/"+r.Key)) &&
		(r.Query == "" || strings.Contains(req.URL.RawQuery, r.Query))
}

// decide counts req against the rules and returns the fault to inject
// into it, if any, and the rule's name.
func (p *Proxy) decide(req *http.Request) (*Fault, string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	p.reqSeq++
	var (
		fault *Fault
		name  string
	)
	for _, r := range p.rules {
		if !r.matches(req) {
			continue
		}
		r.matched++
		if fault != nil || r.matched < max(r.Nth, 1) || (r.Times > 0 && r.due >= r.Times) {
			continue
		}
		if r.Probability > 0 && r.Probability < 1 && p.rng.Float64() >= r.Probability {
			continue
		}
		r.due++
		f := r.Fault
		fault, name = &f, r.Name
	}
	return fault, name, p.reqSeq
}

// record counts an injected fault.
func (p *Proxy) record(name string, k Kind, req *http.Request) {
	e := Event{Rule: name, Kind: k, Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Time: time.Now()}
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
	if p.opt.Logf != nil {
		p.opt.Logf("faultproxy: %s", e)
	}
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	f, name, seq := p.decide(req)
	if f == nil {
		p.forward(w, req, 0)
		return
	}
	switch f.Kind {
	case KindReset:
		if f.Upstream {
			resp, err := p.roundTrip(req)
			if err != nil {
				p.badGateway(w, req, err, seq)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		p.record(name, f.Kind, req)
		reset(w)
	case KindStatus:
		if f.Upstream {
			resp, err := p.roundTrip(req)
			if err != nil {
				p.badGateway(w, req, err, seq)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		} else {
			// Read the request body, so that the client sees the answer
			// rather than a failed write.
			_, _ = io.Copy(io.Discard, req.Body)
		}
		p.record(name, f.Kind, req)
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		writeS3Error(w, req, status, f.Code, fmt.Sprintf("Injected by faultproxy (%s).", name), seq)
	case KindDelay:
		p.record(name, f.Kind, req)
		if f.Upstream {
			p.forward(w, req, f.Delay)
			return
		}
		if !sleep(req.Context(), f.Delay) {
			return
		}
		p.forward(w, req, 0)
	case KindTruncate:
		p.truncate(w, req, f.Bytes, name, seq)
	default:
		p.forward(w, req, 0)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// hopHeaders are the hop-by-hop headers of RFC 9110 section 7.6.1, which
// a proxy does not forward; no S3 client signs them.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func removeHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// roundTrip sends req to the upstream unchanged: same method, path and
// query bytes, Host, end-to-end headers and body.
func (p *Proxy) roundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.RequestURI = ""
	out.URL.Scheme = "http"
	out.URL.Host = p.upstream
	out.Host = req.Host // signed by SigV4: see the package documentation
	out.Header = req.Header.Clone()
	removeHop(out.Header)
	if req.ContentLength == 0 {
		out.Body = nil
	}
	out.Close = false
	return p.client.RoundTrip(out)
}

// forward relays req and its response, waiting delay before answering.
func (p *Proxy) forward(w http.ResponseWriter, req *http.Request, delay time.Duration) {
	resp, err := p.roundTrip(req)
	if err != nil {
		p.badGateway(w, req, err, 0)
		return
	}
	defer resp.Body.Close()
	if delay > 0 && !sleep(req.Context(), delay) {
		return
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	removeHop(h)
	if _, ok := resp.Header["Content-Type"]; !ok {
		h["Content-Type"] = nil // no sniffing: the response goes as it came
	}
	if resp.ContentLength >= 0 && req.Method != http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// truncate relays the upstream's status and headers and the first n
// bytes of its body, then closes the connection.
func (p *Proxy) truncate(w http.ResponseWriter, req *http.Request, n int64, name string, seq int) {
	resp, err := p.roundTrip(req)
	if err != nil {
		p.badGateway(w, req, err, seq)
		return
	}
	defer resp.Body.Close()
	size := resp.ContentLength
	var body io.Reader = resp.Body
	if size < 0 && req.Method != http.MethodHead {
		// The length is needed to announce it: read the body.
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			reset(w)
			return
		}
		size, body = int64(len(b)), bytes.NewReader(b)
	}
	if req.Method == http.MethodHead || size <= n {
		p.forwardResponse(w, resp, size, body)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	p.record(name, KindTruncate, req)
	h := resp.Header.Clone()
	removeHop(h)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = io.CopyN(buf, body, n)
	_ = buf.Flush()
	// A FIN, not a reset: a reset can make the client's kernel drop
	// bytes it has received but not yet delivered, and the client is to
	// get exactly n bytes.
	_ = conn.Close()
}

func (p *Proxy) forwardResponse(w http.ResponseWriter, resp *http.Response, size int64, body io.Reader) {
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	removeHop(h)
	if _, ok := resp.Header["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, body)
}

// reset hijacks the client's connection and closes it with a TCP RST.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	closeWithReset(conn)
}

func closeWithReset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close sends RST, not FIN
	}
	_ = conn.Close()
}

func (p *Proxy) badGateway(w http.ResponseWriter, req *http.Request, err error, seq int) {
	if errors.Is(err, context.Canceled) {
		return // the client went away
	}
	writeS3Error(w, req, http.StatusBadGateway, "BadGateway", "faultproxy: upstream: "+err.Error(), seq)
}

// s3Codes are the error codes S3 uses with these statuses.
var s3Codes = map[int]string{
	http.StatusBadRequest:          "BadRequest",
	http.StatusForbidden:           "AccessDenied",
	http.StatusNotFound:            "NoSuchKey",
	http.StatusConflict:            "OperationAborted",
	http.StatusPreconditionFailed:  "PreconditionFailed",
	http.StatusTooManyRequests:     "SlowDown",
	http.StatusInternalServerError: "InternalError",
	http.StatusNotImplemented:      "NotImplemented",
	http.StatusBadGateway:          "BadGateway",
	http.StatusServiceUnavailable:  "ServiceUnavailable",
	http.StatusGatewayTimeout:      "GatewayTimeout",
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// writeS3Error answers as S3 does: an XML <Error> body (none for HEAD)
// and an x-amz-request-id.
func writeS3Error(w http.ResponseWriter, req *http.Request, status int, code, msg string, seq int) {
	if code == "" {
		code = s3Codes[status]
	}
	if code == "" {
		code = "InjectedFault"
	}
	id := fmt.Sprintf("FAULTPROXY%08d", seq)
	body, _ := xml.Marshal(s3Error{Code: code, Message: msg, Resource: req.URL.Path, RequestID: id, HostID: "faultproxy"})
	body = append([]byte(xml.Header), body...)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Amz-Request-Id", id)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if req.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
