package faultproxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/storage/faultproxy"
)

// echo is what the upstream of these tests saw of a request.
type echo struct {
	Method, Host, RequestURI string
	Header                   http.Header
	Body                     string
	ContentLength            int64
}

type upstream struct {
	*httptest.Server
	calls atomic.Int32
}

// newUpstream answers every request with what it saw, as JSON; paths
// under /blob/N answer N bytes of data, /chunked/N the same without a
// Content-Length.
func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		var n int
		if _, err := fmt.Sscanf(r.URL.Path, "/blob/%d", &n); err == nil {
			w.Header().Set("Content-Length", fmt.Sprint(n))
			w.Write(bytes.Repeat([]byte("b"), n))
			return
		}
		if _, err := fmt.Sscanf(r.URL.Path, "/chunked/%d", &n); err == nil {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(bytes.Repeat([]byte("c"), n))
			http.NewResponseController(w).Flush()
			return
		}
		body, _ := io.ReadAll(r.Body)
		e := echo{Method: r.Method, Host: r.Host, RequestURI: r.RequestURI, Header: r.Header, Body: string(body), ContentLength: r.ContentLength}
		b, _ := json.Marshal(e)
		w.Header().Set("X-Upstream", "yes")
		w.Header()["Content-Type"] = nil // none: the proxy must not add one
		w.Write(b)
	}))
	t.Cleanup(u.Close)
	return u
}

func do(t *testing.T, method, url string, body string, header http.Header) (*http.Response, []byte, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	// A fresh connection per request: a reset must not be blamed on a
	// reused one.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// Without rules the request arrives as the client sent it — Host
// included — and the response comes back as the upstream sent it.
func TestPassThrough(t *testing.T) {
	up := newUpstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Options{})
	header := http.Header{
		"X-Amz-Date":           {"20260101T000000Z"},
		"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"},
		"Authorization":        {"AWS4-HMAC-SHA256 Credential=x"},
		"Content-Type":         {"application/x-rpm"},
		"Connection":           {"X-Hop"},
		"X-Hop":                {"dropped"},
	}
	uri := "/bucket/el9/Packages/a%20b%2Bc.rpm?partNumber=2&uploadId=a%2Fb"
	resp, b, err := do(t, "PUT", p.URL()+uri, "content", header)
	if err != nil {
		t.Fatal(err)
	}
	var e echo
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if e.Method != "PUT" || e.Host != p.Endpoint() || e.RequestURI != uri || e.Body != "content" || e.ContentLength != 7 {
		t.Errorf("upstream saw %+v", e)
	}
	for k, v := range header {
		if k == "Connection" || k == "X-Hop" {
			if e.Header.Get(k) != "" {
				t.Errorf("hop-by-hop header %s forwarded", k)
			}
			continue
		}
		if got := e.Header.Get(k); got != v[0] {
			t.Errorf("header %s: upstream saw %q, want %q", k, got, v[0])
		}
	}
	if resp.Header.Get("X-Upstream") != "yes" || resp.Header.Get("Content-Type") != "" || resp.ContentLength != int64(len(b)) {
		t.Errorf("response headers %v, length %d", resp.Header, resp.ContentLength)
	}

	for _, path := range []string{"/blob/100000", "/chunked/5000"} {
		resp, b, err = do(t, "GET", p.URL()+path, "", nil)
		if err != nil || len(b) < 5000 {
			t.Errorf("GET %s: %d bytes, %v", path, len(b), err)
		}
	}
	resp, _, err = do(t, "HEAD", p.URL()+"/blob/1234", "", nil)
	if err != nil || resp.ContentLength != 1234 {
		t.Errorf("HEAD: Content-Length %d, %v", resp.ContentLength, err)
	}
	if p.Requests() != 4 || p.Injected() != 0 {
		t.Errorf("requests %d, injected %d", p.Requests(), p.Injected())
	}
}

// isReset recognises what a client sees of a reset connection: a reset
// or EOF when reading the response, or a failed write while it was still
// sending the body.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF")
}

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		fault    faultproxy.Fault
		upstream bool // the upstream sees the request
		check    func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration)
	}{
		{"reset", "PUT", "/k", faultproxy.ConnReset(), false, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err == nil || !isReset(err) {
				t.Errorf("err = %v, want a reset", err)
			}
		}},
		{"reset after upstream", "PUT", "/k", faultproxy.ConnReset().AfterUpstream(), true, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err == nil || !isReset(err) {
				t.Errorf("err = %v, want a reset", err)
			}
		}},
		{"503", "PUT", "/bucket/k", faultproxy.HTTPError(503), false, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			var e struct{ Code, Resource, RequestId string }
			if err != nil || resp.StatusCode != 503 || xml.Unmarshal(body, &e) != nil || e.Code != "ServiceUnavailable" ||
				e.Resource != "/bucket/k" || e.RequestId == "" || resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("got %v %v %s, %v", resp, err, body, e)
			}
		}},
		{"500 after upstream", "PUT", "/k", faultproxy.HTTPError(500).AfterUpstream(), true, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err != nil || resp.StatusCode != 500 || !bytes.Contains(body, []byte("<Code>InternalError</Code>")) {
				t.Errorf("got %v %v %s", resp, err, body)
			}
		}},
		{"custom code", "GET", "/k", faultproxy.Fault{Kind: faultproxy.KindStatus, Status: 503, Code: "SlowDown"}, false, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err != nil || resp.StatusCode != 503 || !bytes.Contains(body, []byte("<Code>SlowDown</Code>")) {
				t.Errorf("got %v %v %s", resp, err, body)
			}
		}},
		{"HEAD 500", "HEAD", "/k", faultproxy.HTTPError(500), false, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err != nil || resp.StatusCode != 500 || len(body) != 0 {
				t.Errorf("got %v %v %s", resp, err, body)
			}
		}},
		{"delay", "GET", "/k", faultproxy.Slow(300 * time.Millisecond), true, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err != nil || resp.StatusCode != 200 || d < 300*time.Millisecond {
				t.Errorf("got %v %v after %v", resp, err, d)
			}
		}},
		{"delay after upstream", "GET", "/k", faultproxy.Slow(300 * time.Millisecond).AfterUpstream(), true, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if err != nil || resp.StatusCode != 200 || d < 300*time.Millisecond {
				t.Errorf("got %v %v after %v", resp, err, d)
			}
		}},
		{"truncate", "GET", "/blob/100000", faultproxy.TruncateBody(1000), true, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || len(body) != 1000 || resp.ContentLength != 100000 {
				t.Errorf("got %d bytes of %d, %v; want 1000 and io.ErrUnexpectedEOF", len(body), resp.ContentLength, err)
			}
		}},
		{"truncate chunked", "GET", "/chunked/100000", faultproxy.TruncateBody(1000), true, func(t *testing.T, resp *http.Response, body []byte, err error, d time.Duration) {
			if !errors.Is(err, io.ErrUnexpectedEOF) || len(body) != 1000 || resp.ContentLength != 100000 {
				t.Errorf("got %d bytes of %d, %v; want 1000 and io.ErrUnexpectedEOF", len(body), resp.ContentLength, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := newUpstream(t)
			p := faultproxy.Start(t, up.URL, faultproxy.Options{})
			p.Add(faultproxy.Rule{Name: "r", Method: tc.method, Fault: tc.fault})
			body := ""
			if tc.method == "PUT" {
				body = strings.Repeat("p", 1<<20)
			}
			start := time.Now()
			resp, b, err := do(t, tc.method, p.URL()+tc.path, body, nil)
			tc.check(t, resp, b, err, time.Since(start))
			if got := up.calls.Load() == 1; got != tc.upstream {
				t.Errorf("upstream called: %v, want %v", got, tc.upstream)
			}
			if p.Injected() != 1 || p.InjectedKind(tc.fault.Kind) != 1 || p.InjectedRule("r") != 1 {
				t.Errorf("counters: %d, %d, %d; events %v", p.Injected(), p.InjectedKind(tc.fault.Kind), p.InjectedRule("r"), p.Events())
			}
		})
	}
}

// A body no longer than the truncation point goes whole and is not
// counted.
func TestTruncateShortBody(t *testing.T) {
	up := newUpstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Options{})
	p.Add(faultproxy.Rule{Fault: faultproxy.TruncateBody(1000)})
	for _, path := range []string{"/blob/1000", "/chunked/999"} {
		if _, b, err := do(t, "GET", p.URL()+path, "", nil); err != nil || len(b) < 999 {
			t.Errorf("%s: %d bytes, %v", path, len(b), err)
		}
	}
	if p.Injected() != 0 {
		t.Errorf("injected %d", p.Injected())
	}
}

func TestRuleSelection(t *testing.T) {
	up := newUpstream(t)
	p := faultproxy.Start(t, up.URL, faultproxy.Options{})
	p.Add(faultproxy.Rule{Name: "third and fourth GET", Method: "GET", Nth: 3, Times: 2, Fault: faultproxy.HTTPError(500)})
	p.Add(faultproxy.Rule{Name: "every GET of /a", Method: "GET", PathContains: "/a", Fault: faultproxy.HTTPError(503)})
	p.Add(faultproxy.FailPut("el9/repodata/repomd.xml"))
	p.Add(faultproxy.Rule{Name: "second part", Query: "partNumber=2", Fault: faultproxy.HTTPError(500)})

	type req struct {
		method, path string
		want         int
	}
	for i, r := range []req{
		{"GET", "/x", 200},
		{"GET", "/a", 503},
		{"GET", "/x", 500}, // third GET
		{"GET", "/a", 500}, // fourth GET: the first rule comes first
		{"GET", "/x", 200},
		{"GET", "/a", 503},
		{"PUT", "/bkt/el9/repodata/repomd.xml", 403},
		{"PUT", "/bkt/el9/repodata/repomd.xml?partNumber=1&uploadId=u", 403},
		{"PUT", "/bkt/el9/repodata/repomd.xml.asc", 200},
		{"PUT", "/bkt/other/el9/repodata/repomd.xml", 403}, // a suffix match
		{"GET", "/bkt/el9/repodata/repomd.xml?x", 200},     // FailPut is for PUTs; the GET rule is spent
		{"PUT", "/bkt/big?partNumber=2&uploadId=u", 500},
		{"PUT", "/bkt/big?partNumber=3&uploadId=u", 200},
	} {
		resp, _, err := do(t, r.method, p.URL()+r.path, "x", nil)
		if err != nil || resp.StatusCode != r.want {
			t.Errorf("request %d, %s %s: %v %v, want %d", i+1, r.method, r.path, resp, err, r.want)
		}
	}
	for name, want := range map[string]int{"third and fourth GET": 2, "every GET of /a": 2, "fail PUT el9/repodata/repomd.xml": 3, "second part": 1} {
		if got := p.InjectedRule(name); got != want {
			t.Errorf("rule %q injected %d, want %d", name, got, want)
		}
	}
	if p.Injected() != 8 || p.InjectedKind(faultproxy.KindStatus) != 8 || p.Requests() != 13 {
		t.Errorf("injected %d, requests %d", p.Injected(), p.Requests())
	}
	ev := p.Events()
	if len(ev) != 8 || ev[0].Rule != "every GET of /a" || ev[0].Path != "/a" || ev[0].Method != "GET" {
		t.Errorf("events %v", ev)
	}
	p.Clear()
	if resp, _, err := do(t, "GET", p.URL()+"/a", "", nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("after Clear: %v %v", resp, err)
	}
}

// The same seed injects into the same requests.
func TestProbabilitySeeded(t *testing.T) {
	up := newUpstream(t)
	pattern := func(seed uint64) string {
		p := faultproxy.Start(t, up.URL, faultproxy.Options{Seed: seed})
		p.Add(faultproxy.Rule{Probability: 0.3, Fault: faultproxy.HTTPError(503)})
		var sb strings.Builder
		for range 60 {
			resp, _, err := do(t, "GET", p.URL()+"/k", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == 503 {
				sb.WriteByte('x')
			} else {
				sb.WriteByte('.')
			}
		}
		if n := strings.Count(sb.String(), "x"); n != p.Injected() || n < 5 || n > 35 {
			t.Errorf("seed %d: %d faults in 60 requests at p=0.3, counted %d", seed, n, p.Injected())
		}
		return sb.String()
	}
	a, b, c := pattern(1), pattern(1), pattern(2)
	if a != b {
		t.Errorf("seed 1 gave\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 1 and 2 gave the same faults %s", a)
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := faultproxy.Start(t, addr, faultproxy.Options{})
	resp, b, err := do(t, "GET", p.URL()+"/k", "", nil)
	if err != nil || resp.StatusCode != http.StatusBadGateway || !bytes.Contains(b, []byte("<Code>BadGateway</Code>")) {
		t.Errorf("got %v %v %s", resp, err, b)
	}
}

func TestNewErrors(t *testing.T) {
	for _, up := range []string{"", "http://host/path"} {
		if p, err := faultproxy.New(up, faultproxy.Options{}); err == nil {
			p.Close()
			t.Errorf("New(%q) succeeded", up)
		}
	}
}

// A held request: the test acts while it waits, then the client goes
// away and the proxy lets go.
func TestHold(t *testing.T) {
	for _, after := range []bool{false, true} {
		up := newUpstream(t)
		p := faultproxy.Start(t, up.URL, faultproxy.Options{})
		f := faultproxy.Slow(time.Hour)
		if after {
			f = f.AfterUpstream()
		}
		p.Add(faultproxy.Rule{Name: "hold", Method: "PUT", Fault: f})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "PUT", p.URL()+"/bkt/repodata/repomd.xml", strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := p.WaitInjected(wctx, "hold", 1); err != nil {
			t.Fatal(err)
		}
		wcancel()
		if after {
			// The upstream has it; the client does not know.
			deadline := time.Now().Add(5 * time.Second)
			for up.calls.Load() != 1 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		}
		if got := up.calls.Load(); got != map[bool]int32{false: 0, true: 1}[after] {
			t.Errorf("after upstream %v: upstream called %d times while held", after, got)
		}
		select {
		case err := <-done:
			t.Fatalf("request finished while held: %v", err)
		default:
		}
		cancel() // the client dies
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("client: %v", err)
		}
		ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if err := p.WaitInjected(ctx2, "hold", 2); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitInjected(2) = %v", err)
		}
		cancel2()
	}
}

func TestS3Target(t *testing.T) {
	p := faultproxy.Start(t, "127.0.0.1:9", faultproxy.Options{})
	want := "s3://bkt/el9/x86_64?endpoint=" + p.Endpoint() + "&path-style=1&tls=0&region=us-east-1"
	if got := p.S3Target("bkt", "/el9/x86_64/", "us-east-1"); got != want {
		t.Errorf("S3Target = %q, want %q", got, want)
	}
}
