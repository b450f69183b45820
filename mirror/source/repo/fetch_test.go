package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sync/errgroup"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

const pkgHref = "Packages/a/acme-1.0-1.x86_64.rpm"
const pkgPath = "/" + pkgHref

// payload returns n deterministic pseudo-random bytes; n spans several
// reads of the 128 KiB copy buffer.
func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

var content = payload(300<<10, 1)

func candidate(b []byte) *source.Candidate {
	return &source.Candidate{
		Href:     pkgHref,
		Name:     "acme",
		Epoch:    "0",
		Version:  "1.0",
		Release:  "1",
		Arch:     "x86_64",
		Size:     int64(len(b)),
		Checksum: repodata.Checksum{Type: "sha256", Value: sha256hex(b)},
	}
}

// hijack takes over the connection and writes raw, then closes it; with
// reset, the close is a TCP RST (connection reset by peer).
func hijack(w http.ResponseWriter, raw string, reset bool) {
	conn, bw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	bw.WriteString(raw)
	bw.Flush()
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		time.Sleep(20 * time.Millisecond) // let the client read what was sent
		tc.SetLinger(0)
	}
	conn.Close()
}

func header200(n int) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/x-rpm\r\nContent-Length: %d\r\n\r\n", n)
}

// serveNth serves pkgPath with the handler of the request's index (the
// last one for later requests).
func serveNth(s *server, hs ...http.HandlerFunc) *atomic.Int32 {
	var n atomic.Int32
	s.handle(pkgPath, func(w http.ResponseWriter, req *http.Request) {
		i := int(n.Add(1)) - 1
		hs[min(i, len(hs)-1)](w, req)
	})
	return &n
}

func serveContent(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		http.ServeContent(w, req, "x.rpm", time.Time{}, bytes.NewReader(b))
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) { http.Error(w, http.StatusText(code), code) }
}

func TestFetchHappy(t *testing.T) {
	s := newServer(t, "")
	s.serve(pkgPath, content)
	r := baseRepo(t, s.URL+"/")
	b, err := fetchVerify(t.Context(), r, candidate(content))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, content) {
		t.Fatal("wrong bytes")
	}
	req := s.requests(pkgPath)[0]
	if req.Header.Get("Range") != "" || req.Header.Get("Cache-Control") != "" {
		t.Errorf("unexpected headers %v", req.Header)
	}
	if req.Header.Get("User-Agent") != DefaultUserAgent || req.Header.Get("Accept-Encoding") != "identity" {
		t.Errorf("headers %v", req.Header)
	}
}

func TestFetchResume(t *testing.T) {
	half := len(content) / 2
	tests := []struct {
		name      string
		first     http.HandlerFunc
		then      http.HandlerFunc
		wantRange bool
	}{
		{"connection reset mid-file", func(w http.ResponseWriter, req *http.Request) {
			hijack(w, header200(len(content))+string(content[:half]), true)
		}, serveContent(content), true},
		{"body shorter than Content-Length", func(w http.ResponseWriter, req *http.Request) {
			hijack(w, header200(len(content))+string(content[:half]), false)
		}, serveContent(content), true},
		{"chunked body ends early", func(w http.ResponseWriter, req *http.Request) {
			w.Write(content[:half])
		}, serveContent(content), true},
		{"200 to the Range request", func(w http.ResponseWriter, req *http.Request) {
			hijack(w, header200(len(content))+string(content[:half]), true)
		}, func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(content)))
			w.Write(content) // ignores Range
		}, true},
		{"500s then success", status(500), serveContent(content), false},
		{"503 with Retry-After then success", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Retry-After", "1")
			status(503)(w, req)
		}, serveContent(content), false},
		{"stall mid-file", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(content)))
			w.Write(content[:half])
			w.(http.Flusher).Flush()
			select {
			case <-req.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, serveContent(content), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			n := serveNth(s, tt.first, tt.first, tt.then)
			cfg := testConfig()
			cfg.BaseURLs = []string{s.URL + "/"}
			cfg.Timeout = 300 * time.Millisecond
			r := newRepo(t, cfg)
			b, err := fetchVerify(t.Context(), r, candidate(content))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, content) {
				t.Fatal("assembled bytes differ")
			}
			if n.Load() != 3 {
				t.Errorf("%d requests, want 3", n.Load())
			}
			if tt.wantRange {
				reqs := s.requests(pkgPath)
				got := reqs[len(reqs)-1].Header.Get("Range")
				if !strings.HasPrefix(got, "bytes=") || got == "bytes=0-" {
					t.Errorf("last request has Range %q, want a resume", got)
				}
				if got != fmt.Sprintf("bytes=%d-", half) {
					t.Errorf("Range %q, want bytes=%d-", got, half)
				}
			}
		})
	}
}

// TestFetchShortRanges checks a server that answers each Range request
// with at most 100,000 bytes: the fetch asks for the rest until done.
func TestFetchShortRanges(t *testing.T) {
	const chunk = 100000
	s := newServer(t, "")
	s.handle(pkgPath, func(w http.ResponseWriter, req *http.Request) {
		var start int
		fmt.Sscanf(req.Header.Get("Range"), "bytes=%d-", &start)
		end := min(start+chunk, len(content))
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(content)))
		w.Header().Set("Content-Length", fmt.Sprint(end-start))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(content[start:end])
	})
	r := baseRepo(t, s.URL+"/")
	b, err := fetchVerify(t.Context(), r, candidate(content))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, content) {
		t.Fatal("wrong bytes")
	}
	if n := len(s.requests(pkgPath)); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

func TestFetchOffset(t *testing.T) {
	s := newServer(t, "")
	s.serve(pkgPath, content)
	r := baseRepo(t, s.URL+"/")
	var buf bytes.Buffer
	if err := r.Fetch(t.Context(), candidate(content), 1000, &buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), content[1000:]) {
		t.Fatal("wrong tail")
	}
	if got := s.requests(pkgPath)[0].Header.Get("Range"); got != "bytes=1000-" {
		t.Errorf("Range %q", got)
	}
	// Nothing left: no request.
	if err := r.Fetch(t.Context(), candidate(content), int64(len(content)), &buf); err != nil {
		t.Fatal(err)
	}
	if err := r.Fetch(t.Context(), candidate(content), int64(len(content))+1, &buf); err == nil {
		t.Error("offset beyond the size: no error")
	}
	if s.count() != 1 {
		t.Errorf("%d requests", s.count())
	}
}

// TestFetchHostile checks answers that must not be accepted.
func TestFetchHostile(t *testing.T) {
	n := len(content)
	tests := []struct {
		name string
		h    http.HandlerFunc
		// want: the error wraps it (nil: no Fetch error, but the caller's
		// verification fails)
		want     error
		mention  []string
		maxBytes int64 // at most this many bytes reach w
	}{
		{"different bytes of the same size", serveContent(payload(n, 2)), nil, nil, int64(n)},
		{"Content-Length larger than the size", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(n+10))
			w.Write(append(bytes.Clone(content), make([]byte, 10)...))
		}, source.ErrVerify, []string{"Content-Length is 307210, want 307200"}, 0},
		{"Content-Length smaller than the size", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(n-10))
			w.Write(content[:n-10])
		}, source.ErrVerify, []string{"Content-Length is 307190"}, 0},
		{"chunked body longer than the size", func(w http.ResponseWriter, req *http.Request) {
			w.Write(content)
			w.(http.Flusher).Flush()
			w.Write([]byte("trailing junk"))
		}, source.ErrVerify, []string{"more than the 307200 bytes expected"}, int64(n)},
		{"body always short", func(w http.ResponseWriter, req *http.Request) {
			hijack(w, header200(n)+string(content[:100]), false)
		}, nil, []string{"unexpected EOF"}, 100},
		{"206 with a wrong total", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", n-1, n+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content)
		}, source.ErrVerify, []string{"file is 307201 bytes"}, 0},
		{"206 from the wrong offset", func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 5-%d/%d", n-1, n))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(content[5:])
		}, nil, []string{"asked for bytes from 0, the server sent 5-"}, 0},
		{"403", status(403), nil, []string{"HTTP 403 Forbidden"}, 0},
		{"404", status(404), ErrNotFound, []string{"HTTP 404 Not Found"}, 0},
		{"redirect to ftp", func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, "ftp://ftp.example.invalid/x.rpm", http.StatusFound)
		}, nil, []string{"redirect refused", `scheme "ftp"`}, 0},
		{"redirect to file", func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, "file:///etc/passwd", http.StatusFound)
		}, nil, []string{"redirect refused"}, 0},
		{"redirect loop", func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, req.URL.Path, http.StatusFound)
		}, nil, []string{"more than 10 redirects"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, "")
			s.handle(pkgPath, tt.h)
			r := baseRepo(t, s.URL+"/")
			var w counter
			c := candidate(content)
			err := r.Fetch(t.Context(), c, 0, &w)
			if w.n > tt.maxBytes {
				t.Errorf("%d bytes reached the writer, want at most %d", w.n, tt.maxBytes)
			}
			if err == nil {
				if tt.want != nil || tt.mention != nil {
					t.Fatalf("no error, want %v %q", tt.want, tt.mention)
				}
				// The caller's verification catches it.
				_, err := fetchVerify(t.Context(), r, c)
				wantErr(t, err, source.ErrVerify, "checksum")
				return
			}
			t.Log(err)
			wantErr(t, err, tt.want, append(tt.mention, pkgHref)...)
		})
	}
}

func TestFetchBadHref(t *testing.T) {
	s := newServer(t, "")
	r := baseRepo(t, s.URL+"/")
	for _, href := range []string{
		"../etc/passwd",
		"Packages/../../etc/passwd",
		"/etc/passwd",
		"http://evil.example/x.rpm",
		"https://evil.example/x.rpm",
		"//evil.example/x.rpm",
		"Packages/a.rpm?x=1",
		"",
	} {
		c := candidate(content)
		c.Href = href
		err := r.Fetch(t.Context(), c, 0, &counter{})
		wantErr(t, err, repodata.ErrFormat)
	}
	if s.count() != 0 {
		t.Errorf("%d requests made for bad hrefs", s.count())
	}
}

func TestFetchFailover(t *testing.T) {
	tests := []struct {
		name  string
		first func(t testing.TB) string // the first mirror's base URL
	}{
		{"first mirror down", deadURL},
		{"first mirror 500s", func(t testing.TB) string { return always500(t).URL + "/" }},
		{"first mirror 404s", func(t testing.TB) string { return newServer(t, "").URL + "/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := newServer(t, "")
			good.serve(pkgPath, content)
			r := baseRepo(t, tt.first(t), good.URL+"/")
			b, err := fetchVerify(t.Context(), r, candidate(content))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, content) {
				t.Fatal("wrong bytes")
			}
		})
	}
}

// TestFetchFailoverResumes checks that the next mirror continues at the
// byte the previous one reached.
func TestFetchFailoverResumes(t *testing.T) {
	half := len(content) / 2
	bad := newServer(t, "")
	bad.handle(pkgPath, func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("Range") == "" {
			hijack(w, header200(len(content))+string(content[:half]), true)
			return
		}
		status(503)(w, req)
	})
	good := newServer(t, "")
	good.serve(pkgPath, content)
	r := baseRepo(t, bad.URL+"/", good.URL+"/")
	b, err := fetchVerify(t.Context(), r, candidate(content))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, content) {
		t.Fatal("wrong bytes")
	}
	if got := good.requests(pkgPath)[0].Header.Get("Range"); got != fmt.Sprintf("bytes=%d-", half) {
		t.Errorf("next mirror asked with Range %q", got)
	}
	if n := len(bad.requests(pkgPath)); n != 3 {
		t.Errorf("first mirror got %d requests, want 1 + Retries", n)
	}
}

func TestFetchAllMirrorsFail(t *testing.T) {
	a, b := newServer(t, ""), newServer(t, "")
	r := baseRepo(t, a.URL+"/", b.URL+"/")
	err := r.Fetch(t.Context(), candidate(content), 0, &counter{})
	wantErr(t, err, ErrNotFound, pkgHref, "all 2 mirrors failed", "404", b.URL)

	c := always500(t)
	r = baseRepo(t, a.URL+"/", c.URL+"/")
	err = r.Fetch(t.Context(), candidate(content), 0, &counter{})
	wantErr(t, err, nil, pkgHref, "500")
	if errors.Is(err, ErrNotFound) {
		t.Error("ErrNotFound although one mirror answered 500")
	}
	if n := c.count(); n != 3 {
		t.Errorf("%d requests to the failing mirror, want 1 + Retries = 3", n)
	}
}

// TestFetchContentEncoding checks that a .gz served with
// Content-Encoding: gzip is kept as served, as curl does for librepo.
func TestFetchContentEncoding(t *testing.T) {
	s := newServer(t, "")
	s.handle(pkgPath, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.Write(content)
	})
	r := baseRepo(t, s.URL+"/")
	if _, err := fetchVerify(t.Context(), r, candidate(content)); err != nil {
		t.Fatal(err)
	}
}

func TestFetchCanceled(t *testing.T) {
	s := newServer(t, "")
	s.handle(pkgPath, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(content)))
		w.Write(content[:1000])
		w.(http.Flusher).Flush()
		<-req.Context().Done()
	})
	r := baseRepo(t, s.URL+"/")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := r.Fetch(ctx, candidate(content), 0, &counter{})
	wantErr(t, err, context.Canceled, pkgHref)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s to stop", d)
	}
}

// TestFetchWriteError checks that the writer's error stops the fetch and
// stays in the chain (the syncer's parser stops a download that way).
func TestFetchWriteError(t *testing.T) {
	s := newServer(t, "")
	s.serve(pkgPath, content)
	r := baseRepo(t, s.URL+"/")
	errParse := errors.New("not an rpm")
	err := r.Fetch(t.Context(), candidate(content), 0, failWriter{errParse})
	wantErr(t, err, errParse)
	if n := len(s.requests(pkgPath)); n != 1 {
		t.Errorf("%d requests after a write error", n)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write(p []byte) (int, error) { return 0, w.err }

func TestFetchConcurrent(t *testing.T) {
	s := newServer(t, "")
	var cands []*source.Candidate
	for i := range 16 {
		b := payload(10000+i, uint64(i))
		c := candidate(b)
		c.Href = fmt.Sprintf("Packages/p%d.rpm", i)
		s.serve("/"+c.Href, b)
		cands = append(cands, c)
	}
	r := baseRepo(t, s.URL+"/")
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(8)
	for _, c := range cands {
		g.Go(func() error {
			_, err := fetchVerify(ctx, r, c)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestFetchLogFields checks the fields of the log entries.
func TestFetchLogFields(t *testing.T) {
	s := newServer(t, "")
	serveNth(s, status(500), serveContent(content))
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	cfg := testConfig()
	cfg.Name = "upstream-baseos"
	cfg.BaseURLs = []string{s.URL + "/"}
	r, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fetchVerify(t.Context(), r, candidate(content)); err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, e := range hook.AllEntries() {
		if e.Data["source"] != "upstream-baseos" || e.Data["pkg"] != pkgHref || e.Data["mirror"] != s.URL+"/" {
			t.Errorf("entry %q has fields %v", e.Message, e.Data)
		}
		if e.Level == logrus.WarnLevel {
			warned = true
		}
	}
	if !warned {
		t.Error("no warning about the retry")
	}
}

func TestFetchRedirect(t *testing.T) {
	target := newServer(t, "")
	target.serve("/elsewhere.rpm", content)
	s := newServer(t, "")
	s.handle(pkgPath, func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, target.URL+"/elsewhere.rpm", http.StatusFound)
	})
	r := baseRepo(t, s.URL+"/")
	if _, err := fetchVerify(t.Context(), r, candidate(content)); err != nil {
		t.Fatal(err)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tt := range []struct {
		in               string
		start, end, size int64
		ok               bool
	}{
		{"bytes 0-9/10", 0, 9, 10, true},
		{"bytes 5-9/*", 5, 9, -1, true},
		{"bytes */10", -1, -1, 10, true},
		{"bytes 5-4/10", 0, 0, 0, false},
		{"bytes 0-10/10", 0, 0, 0, false},
		{"bytes */*", 0, 0, 0, false},
		{"bytes -1-5/10", 0, 0, 0, false},
		{"items 0-9/10", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	} {
		s, e, z, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || tt.ok && (s != tt.start || e != tt.end || z != tt.size) {
			t.Errorf("%q: %d %d %d %v", tt.in, s, e, z, err)
		}
	}
}

func TestBackoff(t *testing.T) {
	r := &Repo{cfg: Config{Backoff: time.Second}}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 30 * time.Second} {
		for range 20 {
			d := r.backoff(n, 0)
			if d < want/2 || d > want {
				t.Errorf("backoff(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
	if d := r.backoff(1, 5*time.Second); d != 5*time.Second {
		t.Errorf("Retry-After ignored: %s", d)
	}
	r.cfg.Backoff = 0
	if d := r.backoff(3, 0); d != 0 {
		t.Errorf("zero Backoff waits %s", d)
	}
}

// TestFetchHTTPS uses an injected client (trusting the test server's
// certificate): its own CheckRedirect still runs behind rpmirror's, and
// a redirect from https to http is refused.
func TestFetchHTTPS(t *testing.T) {
	plain := newServer(t, "")
	plain.serve(pkgPath, content)
	var redirected atomic.Int32
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/ok" + pkgPath:
			http.ServeContent(w, req, "x.rpm", time.Time{}, bytes.NewReader(content))
		case "/hop" + pkgPath:
			http.Redirect(w, req, "/ok"+pkgPath, http.StatusFound)
		case "/down" + pkgPath:
			http.Redirect(w, req, plain.URL+pkgPath, http.StatusFound)
		default:
			http.NotFound(w, req)
		}
	}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted handshake below
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	client := tlsSrv.Client()
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		redirected.Add(1)
		return nil
	}
	for _, tt := range []struct {
		path    string
		wantErr string
	}{
		{"/ok/", ""},
		{"/hop/", ""},
		{"/down/", "from https to " + plain.URL},
	} {
		cfg := testConfig()
		cfg.BaseURLs = []string{tlsSrv.URL + tt.path}
		cfg.HTTPClient = client
		r := newRepo(t, cfg)
		_, err := fetchVerify(t.Context(), r, candidate(content))
		if tt.wantErr == "" && err != nil {
			t.Errorf("%s: %v", tt.path, err)
		}
		if tt.wantErr != "" {
			wantErr(t, err, nil, tt.wantErr)
		}
	}
	if redirected.Load() != 1 {
		t.Errorf("the client's CheckRedirect ran %d times, want 1", redirected.Load())
	}
	if plain.count() != 0 {
		t.Error("downgrade followed")
	}
	// Without the injected client the certificate is not trusted: the
	// mirror is given up at once, not retried.
	r := baseRepo(t, tlsSrv.URL+"/ok/")
	err := r.Fetch(t.Context(), candidate(content), 0, &counter{})
	wantErr(t, err, nil, "certificate")
}
