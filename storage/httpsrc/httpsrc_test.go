package httpsrc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/httpsrc"
	"github.com/rpmirror/rpmirror/storage/retry"
)

func newBackend(t *testing.T, url string, timeout time.Duration) *httpsrc.Backend {
	t.Helper()
	cfg := httpsrc.DefaultConfig()
	cfg.URL = url
	if timeout > 0 {
		cfg.Timeout = timeout
	}
	b, err := httpsrc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, b storage.Backend, key string) ([]byte, error) {
	t.Helper()
	rc, err := b.Open(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// A file server like nginx's: what it sends is checked against what dnf
// would ask for.
func TestOpenStat(t *testing.T) {
	files := map[string]string{
		"/repo/repodata/repomd.xml":      "<repomd/>",
		"/repo/Packages/a b+c-1.0.rpm":   "package with a space and a plus",
		"/repo/Packages/plain-1.0-1.rpm": strings.Repeat("x", 100_000),
	}
	modTime := time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC)
	var bad atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); ua != "rpmirror" {
			bad.Store("User-Agent " + ua)
		}
		if ae := r.Header.Get("Accept-Encoding"); ae != "identity" {
			bad.Store("Accept-Encoding " + ae)
		}
		wantCC := ""
		if strings.HasSuffix(r.URL.Path, "/repomd.xml") {
			wantCC = "no-cache"
		}
		if cc := r.Header.Get("Cache-Control"); cc != wantCC {
			bad.Store(r.URL.Path + ": Cache-Control " + cc)
		}
		if strings.Contains(r.URL.Path, "+") && !strings.Contains(r.URL.EscapedPath(), "%2B") {
			bad.Store("'+' sent unescaped: " + r.RequestURI)
		}
		content, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-rpm")
		w.Header().Set("Cache-Control", "max-age=300")
		http.ServeContent(w, r, "", modTime, strings.NewReader(content))
	}))
	defer srv.Close()

	for _, base := range []string{srv.URL + "/repo", srv.URL + "/repo/"} {
		b := newBackend(t, base, 0)
		for name, content := range files {
			key := strings.TrimPrefix(name, "/repo/")
			got, err := readAll(t, b, key)
			if err != nil || string(got) != content {
				t.Errorf("%s: Open: %d bytes, %v", key, len(got), err)
			}
			o, err := b.Stat(context.Background(), key)
			if err != nil {
				t.Errorf("%s: Stat: %v", key, err)
				continue
			}
			want := storage.Object{Key: key, Size: int64(len(content)), ModTime: modTime,
				ContentType: "application/x-rpm", CacheControl: "max-age=300"}
			if !o.ModTime.Equal(want.ModTime) {
				t.Errorf("%s: ModTime %v, want %v", key, o.ModTime, want.ModTime)
			}
			o.ModTime = want.ModTime
			if o != want {
				t.Errorf("%s: Stat = %+v, want %+v", key, o, want)
			}
		}
		for _, key := range []string{"nope", "repodata/nope.xml"} {
			if _, err := b.Open(context.Background(), key); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("Open(%s) = %v, want ErrNotExist", key, err)
			}
			if _, err := b.Stat(context.Background(), key); !errors.Is(err, storage.ErrNotExist) {
				t.Errorf("Stat(%s) = %v, want ErrNotExist", key, err)
			}
		}
	}
	if v := bad.Load(); v != nil {
		t.Errorf("server saw a bad request: %v", v)
	}
}

func TestURL(t *testing.T) {
	b := newBackend(t, "https://mirror.example.org/el9/x86_64", 0)
	for key, want := range map[string]string{
		"repodata/repomd.xml":      "https://mirror.example.org/el9/x86_64/repodata/repomd.xml",
		"Packages/l/libstdc++.rpm": "https://mirror.example.org/el9/x86_64/Packages/l/libstdc%2B%2B.rpm",
		"a b/c?d#e%f.rpm":          "https://mirror.example.org/el9/x86_64/a%20b/c%3Fd%23e%25f.rpm",
	} {
		got, err := b.URL(key)
		if err != nil || got != want {
			t.Errorf("URL(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := b.URL("../etc/passwd"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("URL(../etc/passwd) = %v, want ErrInvalidKey", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ftp://host/x", `scheme "ftp"`},
		{"https://user:hunter2@host/x", "credentials in the URL"},
		{"https:///x", "has no host"},
		{"https://host/x?a=b", "no query or fragment"},
		{"https://host/x#frag", "no query or fragment"},
		{"http://host:port:x/", "invalid URL"},
		{"https://us%er:hun%zzter2@host/", "credentials in the URL"},
		{"https://user:hun/ter2@host/", "credentials in the URL"},
		{"https://user:hun/ter2@[::1/", "credentials in the URL"},
		{"https://host/a/b:hun%zzter2@", "not repeated"},
		{"https://host/a/b%zz", "invalid URL escape"},
	} {
		_, err := httpsrc.ParseURL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseURL(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hun") {
			t.Errorf("ParseURL(%q): error shows the password: %v", tc.in, err)
		}
	}
	u, err := httpsrc.ParseURL("http://127.0.0.1:8080/a%20b")
	if err != nil || u.String() != "http://127.0.0.1:8080/a%20b/" {
		t.Errorf("ParseURL = %v, %v", u, err)
	}
}

func TestReadOnly(t *testing.T) {
	b := newBackend(t, "http://127.0.0.1:1/", 0)
	ctx := context.Background()
	for name, err := range map[string]error{
		"Put":    b.Put(ctx, "k", strings.NewReader("x"), 1, storage.PutOptions{}),
		"Delete": b.Delete(ctx, "k"),
		"List":   b.List(ctx, "", func(storage.Object) error { return nil }),
	} {
		if !errors.Is(err, storage.ErrReadOnly) || retry.Retryable(err) {
			t.Errorf("%s = %v, want a final ErrReadOnly", name, err)
		}
	}
}

func TestStatusErrors(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, "body")
	}))
	defer srv.Close()
	b := newBackend(t, srv.URL, 0)
	for _, tc := range []struct {
		status    int
		notExist  bool
		retryable bool
	}{
		{404, true, false},
		{410, true, false},
		{403, false, false},
		{400, false, false},
		{408, false, true},
		{429, false, true},
		{500, false, true},
		{501, false, false},
		{502, false, true},
		{503, false, true},
		{206, false, false}, // a range nobody asked for
	} {
		status = tc.status
		_, oerr := b.Open(context.Background(), "k")
		_, serr := b.Stat(context.Background(), "k")
		for op, err := range map[string]error{"Open": oerr, "Stat": serr} {
			if err == nil {
				t.Errorf("HTTP %d: %s succeeded", tc.status, op)
				continue
			}
			if errors.Is(err, storage.ErrNotExist) != tc.notExist || retry.Retryable(err) != tc.retryable {
				t.Errorf("HTTP %d: %s: %v: not exist %v, retryable %v", tc.status, op, err,
					errors.Is(err, storage.ErrNotExist), retry.Retryable(err))
			}
			if !strings.Contains(err.Error(), "HTTP "+strconv.Itoa(tc.status)) {
				t.Errorf("HTTP %d: %s: error does not name the status: %v", tc.status, op, err)
			}
		}
	}
}

// hijackShort answers with a Content-Length of declared and sends only
// the first len(content) bytes, then drops the connection.
func hijackShort(t *testing.T, w http.ResponseWriter, declared int, content []byte) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	defer conn.Close()
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ")
	buf.WriteString(strconv.Itoa(declared) + "\r\n\r\n")
	buf.Write(content)
	buf.Flush()
}

// A body cut short is an error, never a clean EOF.
func TestShortBody(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hijackShort(t, w, len(content)+500, content)
	}))
	defer srv.Close()
	b := newBackend(t, srv.URL, 0)
	got, err := readAll(t, b, "p.rpm")
	if !errors.Is(err, io.ErrUnexpectedEOF) || !retry.Retryable(err) {
		t.Fatalf("read %d bytes, err %v; want io.ErrUnexpectedEOF, retryable", len(got), err)
	}
	if !bytes.Equal(got, content) {
		t.Errorf("got %d bytes before the error, want the %d sent", len(got), len(content))
	}
}

func TestContentEncodingRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "\x1f\x8b...")
	}))
	defer srv.Close()
	b := newBackend(t, srv.URL, 0)
	if _, err := b.Open(context.Background(), "primary.xml.gz"); err == nil || !strings.Contains(err.Error(), "Content-Encoding: gzip") || retry.Retryable(err) {
		t.Errorf("Open = %v, want a final Content-Encoding error", err)
	}
}

func TestStatFallbacks(t *testing.T) {
	const size = 12345
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"HEAD refused", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			if r.Header.Get("Range") != "bytes=0-0" {
				t.Errorf("GET without Range: %v", r.Header)
			}
			w.Header().Set("Content-Range", "bytes 0-0/"+strconv.Itoa(size))
			w.Header().Set("Content-Length", "1")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "x")
		}},
		{"no ranges", func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead {
				w.WriteHeader(http.StatusNotImplemented)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(size))
			io.WriteString(w, strings.Repeat("x", size))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			o, err := newBackend(t, srv.URL, 0).Stat(context.Background(), "k")
			if err != nil || o.Size != size {
				t.Errorf("Stat = %+v, %v; want size %d", o, err, size)
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	// The machine may be loaded: stalls are long past the timeout, and
	// the slow response's pauses far below its own.
	const timeout, slowTimeout = 300 * time.Millisecond, time.Second
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/headers":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/body":
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, strings.Repeat("x", 50))
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/slow":
			// Slow but alive: each chunk well within the timeout, the
			// whole beyond it.
			w.Header().Set("Content-Length", "8")
			for range 8 {
				io.WriteString(w, "x")
				http.NewResponseController(w).Flush()
				time.Sleep(slowTimeout / 4)
			}
		}
	}))
	defer srv.Close()
	defer close(release)
	b := newBackend(t, srv.URL, timeout)

	start := time.Now()
	_, err := b.Open(context.Background(), "headers")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !retry.Retryable(err) || errors.Is(err, context.Canceled) {
		t.Errorf("stalled headers: %v; want a retryable timeout", err)
	}
	if d := time.Since(start); d > 10*timeout {
		t.Errorf("stalled headers took %v", d)
	}

	got, err := readAll(t, b, "body")
	if len(got) != 50 || !errors.As(err, &ne) || !ne.Timeout() || !retry.Retryable(err) {
		t.Errorf("stalled body: %d bytes, %v; want 50 and a retryable timeout", len(got), err)
	}

	start = time.Now()
	got, err = readAll(t, newBackend(t, srv.URL, slowTimeout), "slow")
	if d := time.Since(start); d < slowTimeout {
		t.Errorf("slow body took %v, not long enough to show anything", d)
	}
	if err != nil || len(got) != 8 {
		t.Errorf("slow body: %d bytes, %v", len(got), err)
	}
}

func TestCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	b := newBackend(t, srv.URL, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := b.Open(ctx, "k")
	if !errors.Is(err, context.DeadlineExceeded) || retry.Retryable(err) {
		t.Errorf("Open = %v, want a final context.DeadlineExceeded", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := b.Stat(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat = %v, want context.Canceled", err)
	}
}

// Transient failures are retried by storage/retry stacked on top.
func TestRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	log := logrus.New()
	log.Out = io.Discard
	b := retry.New(newBackend(t, srv.URL, 0), retry.Options{InitialBackoff: time.Millisecond}, log)
	got, err := readAll(t, b, "k")
	if err != nil || string(got) != "ok" || calls.Load() != 3 {
		t.Errorf("got %q, %v after %d calls", got, err, calls.Load())
	}
}
