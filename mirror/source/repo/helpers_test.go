package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// testLogger logs to t.Log at debug level, so that a failing test shows
// what the source did.
func testLogger(t testing.TB) *logrus.Logger {
	l := logrus.New()
	l.SetLevel(logrus.DebugLevel)
	l.SetOutput(tWriter{t})
	l.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	return l
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testConfig is a Config with short timeouts for tests.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Timeout = 5 * time.Second
	cfg.Retries = 2
	cfg.Backoff = time.Millisecond
	cfg.Signature = true // most tests check repomd.xml.asc handling
	return cfg
}

func newRepo(t testing.TB, cfg Config) *Repo {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	r, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func baseRepo(t testing.TB, urls ...string) *Repo {
	cfg := testConfig()
	cfg.BaseURLs = urls
	return newRepo(t, cfg)
}

// fetchVerify fetches c whole and verifies it as the syncer does: the
// size and the checksum of every byte.
func fetchVerify(ctx context.Context, r *Repo, c *source.Candidate) ([]byte, error) {
	var buf bytes.Buffer
	if err := r.Fetch(ctx, c, 0, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), verifyBytes(c, buf.Bytes())
}

func verifyBytes(c *source.Candidate, b []byte) error {
	if c.Size >= 0 && int64(len(b)) != c.Size {
		return fmt.Errorf("%w: %s: %d bytes, want %d", source.ErrVerify, c.Href, len(b), c.Size)
	}
	h, err := repodata.NewHash(c.Checksum.Type)
	if err != nil {
		return fmt.Errorf("%w: %v", source.ErrVerify, err)
	}
	h.Write(b)
	if got := hex.EncodeToString(h.Sum(nil)); got != c.Checksum.Value {
		return fmt.Errorf("%w: %s: checksum %s, want %s", source.ErrVerify, c.Href, got, c.Checksum.Value)
	}
	return nil
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server is an httptest server on 127.0.0.1 that serves a directory and
// records the requests; handlers in override take precedence by path.
type server struct {
	*httptest.Server
	t        testing.TB
	mu       sync.Mutex
	reqs     []*http.Request
	override map[string]http.HandlerFunc
	fallback http.Handler
}

func newServer(t testing.TB, dir string) *server {
	s := &server{t: t, override: map[string]http.HandlerFunc{}, fallback: http.NotFoundHandler()}
	if dir != "" {
		s.fallback = http.FileServer(http.Dir(dir))
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, req.Clone(context.Background()))
		h, fs := s.override[req.URL.Path], s.fallback
		s.mu.Unlock()
		if h != nil {
			h(w, req)
			return
		}
		fs.ServeHTTP(w, req)
	}))
	t.Cleanup(s.Close)
	return s
}

// handle overrides path.
func (s *server) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	s.override[path] = h
	s.mu.Unlock()
}

// serve overrides path with fixed content.
func (s *server) serve(path string, b []byte) {
	s.handle(path, func(w http.ResponseWriter, req *http.Request) {
		http.ServeContent(w, req, path, time.Time{}, bytes.NewReader(b))
	})
}

// requests returns the requests for path so far.
func (s *server) requests(path string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, r := range s.reqs {
		if r.URL.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (s *server) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// deadURL returns the URL of a server that no longer listens.
func deadURL(t testing.TB) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u + "/"
}

// always500 is a server that fails every request.
func always500(t testing.TB) *server {
	s := newServer(t, "")
	s.mu.Lock()
	s.fallback = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Error(w, "upstream on fire", http.StatusInternalServerError)
	})
	s.mu.Unlock()
	return s
}

// demoRepos caches the repositories built by demoRepo, by compression.
var demoRepos struct {
	sync.Mutex
	dirs map[string]string
	errs map[string]error
	root string
}

// TestMain removes the cached repositories.
func TestMain(m *testing.M) {
	code := m.Run()
	if demoRepos.root != "" {
		os.RemoveAll(demoRepos.root)
	}
	os.Exit(code)
}

const comps = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>rpmirror-demo</id>
    <name>rpmirror demo</name>
    <description>The rpmirror demo packages</description>
    <default>false</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">rpmirror-demo-hello</packagereq>
    </packagelist>
  </group>
</comps>
`

const updateinfo = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="demo@rpmirror.invalid" status="stable" type="bugfix" version="1.0">
    <id>RPMIRROR-2024-1</id>
    <title>Demo fix</title>
    <issued date="2024-02-01 00:00:00"/>
    <description>A demo advisory.</description>
    <pkglist>
      <collection short="demo">
        <name>demo</name>
        <package name="rpmirror-demo-hello" version="1.0" release="1" epoch="0" arch="noarch">
          <filename>rpmirror-demo-hello-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`

// demoRepo returns a directory holding rpmtest.Demo() under Packages/
// with real metadata from createrepo_c (XML compressed with comp, sqlite
// databases, a comps group), an updateinfo record added by modifyrepo_c
// and a repomd.xml.asc. It is built once per compression and shared:
// tests must not modify it.
func demoRepo(t testing.TB, comp string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a repository with createrepo_c: skipped in -short mode")
	}
	testenv.RequireTool(t, "createrepo_c")
	testenv.RequireTool(t, "modifyrepo_c")
	demoRepos.Lock()
	defer demoRepos.Unlock()
	if d, ok := demoRepos.dirs[comp]; ok {
		return d
	}
	if err, ok := demoRepos.errs[comp]; ok {
		t.Fatal(err)
	}
	if demoRepos.dirs == nil {
		demoRepos.dirs, demoRepos.errs = map[string]string{}, map[string]error{}
	}
	d, err := buildDemoRepo(comp)
	if err != nil {
		demoRepos.errs[comp] = err
		t.Fatal(err)
	}
	demoRepos.dirs[comp] = d
	return d
}

func buildDemoRepo(comp string) (string, error) {
	if demoRepos.root == "" {
		root, err := os.MkdirTemp("", "rpmirror-repo-test-")
		if err != nil {
			return "", err
		}
		demoRepos.root = root
	}
	dir := filepath.Join(demoRepos.root, comp)
	if _, err := rpmtest.WriteAll(filepath.Join(dir, "Packages"), rpmtest.Demo()); err != nil {
		return "", err
	}
	compsPath := filepath.Join(demoRepos.root, "comps-"+comp+".xml")
	uiPath := filepath.Join(demoRepos.root, "updateinfo.xml")
	if err := os.WriteFile(compsPath, []byte(comps), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(uiPath, []byte(updateinfo), 0o644); err != nil {
		return "", err
	}
	run := func(name string, args ...string) error {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("createrepo_c", "--general-compress-type="+comp, "--revision=1700000000", "-g", compsPath, dir); err != nil {
		return "", err
	}
	if err := run("modifyrepo_c", "--mdtype=updateinfo", uiPath, filepath.Join(dir, "repodata")); err != nil {
		return "", err
	}
	md, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		return "", err
	}
	sig, err := rpmtest.TestKey().Sign(md)
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml.asc"), sig, 0o644)
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantErr(t testing.TB, err error, target error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one wrapping %v", target)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("error %q does not wrap %v", err, target)
	}
	for _, s := range substrs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

// discard counts what is written.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*counter)(nil)
