package cli

// Hostile and real upstreams through the whole `rpmirror sync` command:
// the shared corpus's real repository (with packages it lists but does
// not have), and an upstream made by the real createrepo_c that is then
// corrupted or served by a misbehaving handler. Each case checks what the
// admin sees (exit code, an error naming the file and the reason) and
// what clients see (the publication verifies, the bad package is not in
// it, a publication that could not be replaced is left as it was).

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// hsUpstream is an upstream repository for the sync tests: a directory
// served on 127.0.0.1 by a handler that records every request and can
// misbehave, per path or for every path.
type hsUpstream struct {
	dir   string
	srv   *httptest.Server
	files http.Handler

	mu     sync.Mutex
	reqs   []*hsRequest
	count  map[string]int     // requests per URL path
	faults map[string]hsFault // by URL path
	all    hsFault            // for paths without a fault of their own
}

// hsRequest is one request the upstream received.
type hsRequest struct {
	Path  string
	Range string // the Range header, "" without one
	N     int    // the Nth request for Path, from 1
	sent  atomic.Int64
}

// Sent returns the body bytes written so far in answer.
func (r *hsRequest) Sent() int64 { return r.sent.Load() }

// hsFault answers a request instead of the healthy server, serve.
type hsFault func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler)

// hsNewUpstream serves dir (http.FileServer: Range requests, 404s) on a
// free port of 127.0.0.1 until the test ends.
func hsNewUpstream(t *testing.T, dir string) *hsUpstream {
	t.Helper()
	u := &hsUpstream{dir: dir, files: http.FileServer(http.Dir(dir)), count: map[string]int{}, faults: map[string]hsFault{}}
	u.srv = httptest.NewServer(u)
	t.Cleanup(u.srv.Close)
	return u
}

func (u *hsUpstream) URL() string { return u.srv.URL }

func (u *hsUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.count[r.URL.Path]++
	rec := &hsRequest{Path: r.URL.Path, Range: r.Header.Get("Range"), N: u.count[r.URL.Path]}
	u.reqs = append(u.reqs, rec)
	f := u.faults[r.URL.Path]
	if f == nil {
		f = u.all
	}
	u.mu.Unlock()
	cw := &hsCountingWriter{ResponseWriter: w, rec: rec}
	if f != nil {
		f(cw, r, rec, u.files)
		return
	}
	u.files.ServeHTTP(cw, r)
}

// setFault makes path (a URL path, "/Packages/x.rpm") misbehave; nil
// heals it.
func (u *hsUpstream) setFault(path string, f hsFault) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if f == nil {
		delete(u.faults, path)
		return
	}
	u.faults[path] = f
}

func (u *hsUpstream) setAll(f hsFault) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.all = f
}

// mark returns the number of requests so far, for since.
func (u *hsUpstream) mark() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// since returns the requests received after mark.
func (u *hsUpstream) since(mark int) []*hsRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*hsRequest(nil), u.reqs[mark:]...)
}

// requestsFor returns the requests for path received after mark.
func (u *hsUpstream) requestsFor(mark int, path string) []*hsRequest {
	var out []*hsRequest
	for _, r := range u.since(mark) {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

type hsCountingWriter struct {
	http.ResponseWriter
	rec *hsRequest
}

func (w *hsCountingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.rec.sent.Add(int64(n))
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *hsCountingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hsCut answers r with serve's status and headers (Content-Length
// announcing the whole body) and only the first keep bytes of its body,
// then closes the connection: with a FIN, so that the client receives
// exactly those bytes, or with a TCP reset.
func hsCut(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler, keep int64, reset bool) {
	full := httptest.NewRecorder()
	serve.ServeHTTP(full, r)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", full.Code, http.StatusText(full.Code))
	full.Header().Write(buf)
	buf.WriteString("\r\n")
	body := full.Body.Bytes()
	n := min(keep, int64(len(body)))
	buf.Write(body[:n])
	buf.Flush()
	rec.sent.Add(n)
	if reset {
		// Give the client time to read the bytes: a reset makes its
		// kernel drop what it has not read yet.
		time.Sleep(100 * time.Millisecond)
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
	}
	conn.Close()
}

// hsCreaterepo indexes dir with the real createrepo_c (gz metadata,
// checksum-named files, as 0.17.3 writes by default).
func hsCreaterepo(t *testing.T, dir string) {
	t.Helper()
	bin := testenv.RequireTool(t, "createrepo_c")
	if out, err := exec.Command(bin, "--no-database", dir).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c %s: %v\n%s", dir, err, out)
	}
}

// hsBigSpec is a noarch package of about size bytes (a file of random,
// incompressible content), big enough to be cut, reset and resumed.
func hsBigSpec(name string, size int) rpmtest.Spec {
	content := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	return rpmtest.Spec{
		Name: name, Version: "1.0", Release: "1", Arch: "noarch",
		Summary: "A package served by a hostile upstream", Description: "Test data.\n",
		License: "MIT", BuildTime: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
		Files: []rpmtest.File{{Path: "/usr/share/" + name + "/data.bin", Content: content}},
	}
}

// hsWriteConfig writes a configuration syncing one repository, "up",
// from the source table body src into the directory target.
func hsWriteConfig(t *testing.T, cache, target, src string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "rpmirror.toml")
	conf := fmt.Sprintf("[sync]\ncache-dir = %q\n\n[[repo]]\nname = \"up\"\ntargets = [%q]\n  [[repo.source]]\n  type = \"repo\"\n%s\n",
		cache, target, src)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hsSync runs `rpmirror sync` in-process with JSON logs.
func hsSync(t *testing.T, cfg string, args ...string) (int, string) {
	t.Helper()
	code, _, stderr := execute(t, append([]string{"--config", cfg, "--log-format", "json", "sync"}, args...)...)
	return code, stderr
}

// hsVerify runs `rpmirror verify --checksums` on a published directory.
func hsVerify(t *testing.T, target string) {
	t.Helper()
	if code, out, stderr := execute(t, "verify", "--checksums", target); code != ExitOK {
		t.Errorf("verify --checksums %s: exit %d\n%s%s", target, code, out, stderr)
	}
}

// hsPrimary reads the primary record of the repository in dir
// (decompressed by its name, like the repo source does): href -> pkgid.
func hsPrimary(t *testing.T, dir string) map[string]string {
	t.Helper()
	rec := vbRepomd(t, dir).Record("primary")
	if rec == nil {
		t.Fatalf("%s: no primary record", dir)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rec.Href)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := compress.NewReader(f, compress.FromFilename(rec.Href), compress.ReaderOptions{MaxSize: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := map[string]string{}
	if err := repodata.ReadPrimary(zr, func(p *repodata.Package) error {
		out[p.LocationHref] = p.Checksum.Value
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", rec.Href, err)
	}
	return out
}

// hsSnapshot returns every regular file under dir: relative path ->
// sha256.
func hsSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// hsSameSnapshot fails t unless after (an hsSnapshot of a target) is
// before: the previous publication intact, nothing added.
func hsSameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed or vanished: the previous publication is not intact", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s appeared in the target", k)
		}
	}
}

// hsCheckPool checks the invariant of the sync cache's package pool: a
// file named by a sha256 holds content with that sha256 (nothing
// unverified ever enters it).
func hsCheckPool(t *testing.T, cache string) {
	t.Helper()
	root := filepath.Join(cache, "pool", "sha256")
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rpm") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		sum := sha256.Sum256(b)
		if want := strings.TrimSuffix(filepath.Base(p), ".rpm"); hex.EncodeToString(sum[:]) != want {
			t.Errorf("pool file %s holds content with sha256 %x", p, sum)
		}
		return nil
	})
}

// hsRewritePrimary replaces the upstream's primary file with the
// compressed bytes data (named with suffix, ".gz" or ".zst") and makes
// repomd.xml name it with its true checksum and size. open-checksum and
// open-size are left as they were: a lying upstream does not update
// them.
func hsRewritePrimary(t *testing.T, dir string, data []byte, suffix string) string {
	t.Helper()
	mdPath := filepath.Join(dir, "repodata", "repomd.xml")
	b, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rec := md.Record("primary")
	sum := sha256.Sum256(data)
	sumHex := hex.EncodeToString(sum[:])
	href := "repodata/" + sumHex + "-primary.xml" + suffix
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(rec.Href))); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(href)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, `<data type="primary">`)
	end := start + strings.Index(s[start:], "</data>")
	block := s[start:end]
	block = strings.Replace(block, `<checksum type="sha256">`+rec.Checksum.Value+`</checksum>`, `<checksum type="sha256">`+sumHex+`</checksum>`, 1)
	block = strings.Replace(block, `href="`+rec.Href+`"`, `href="`+href+`"`, 1)
	block = strings.Replace(block, "<size>"+strconv.FormatInt(rec.Size, 10)+"</size>", "<size>"+strconv.Itoa(len(data))+"</size>", 1)
	s = s[:start] + block + s[end:]
	if err := os.WriteFile(mdPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	md2, err := repodata.ParseRepomd(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	if r := md2.Record("primary"); r.Href != href || r.Checksum.Value != sumHex || r.Size != int64(len(data)) {
		t.Fatalf("repomd.xml not rewritten: %+v", r)
	}
	return href
}

// hsSetOpenSize sets the open-size of the upstream's primary record.
func hsSetOpenSize(t *testing.T, dir string, n int) {
	t.Helper()
	mdPath := filepath.Join(dir, "repodata", "repomd.xml")
	b, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, `<data type="primary">`)
	end := start + strings.Index(s[start:], "</data>")
	re := regexp.MustCompile(`<open-size>\d+</open-size>`)
	block := re.ReplaceAllString(s[start:end], "<open-size>"+strconv.Itoa(n)+"</open-size>")
	if err := os.WriteFile(mdPath, []byte(s[:start]+block+s[end:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hsPrimaryXML returns the upstream's primary.xml decompressed (gz, as
// createrepo_c 0.17 writes it).
func hsPrimaryXML(t *testing.T, dir string) []byte {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(md.Record("primary").Href)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	x, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func hsGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSyncCorpusRepository mirrors the real repository of the shared
// corpus (zstd metadata, packages under letter folders) over HTTP: the
// eight packages its primary lists but the corpus lacks are reported as
// 404s and left out (exit 2), the other 105 are published with the
// upstream's hrefs and checksums, and the result verifies. A second run
// fetches none of the 105 again.
func TestSyncCorpusRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	corpus := testenv.CorpusDir()
	if corpus == "" {
		t.Skip("shared corpus not found (set RPMIRROR_CORPUS or place it at ../shared/corpus)")
	}
	dir := filepath.Join(corpus, "azurelinux-repo")
	list, err := os.ReadFile(filepath.Join(corpus, "azurelinux-repo.missing"))
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, line := range strings.Split(string(list), "\n") {
		if href, ok := strings.CutPrefix(strings.TrimSpace(line), "MISSING "); ok {
			missing = append(missing, href)
		}
	}
	if len(missing) != 8 {
		t.Fatalf("azurelinux-repo.missing lists %d packages, want 8", len(missing))
	}
	upstream := hsPrimary(t, dir)
	if len(upstream) != 113 {
		t.Fatalf("the corpus's primary lists %d packages, want 113", len(upstream))
	}

	u := hsNewUpstream(t, dir)
	target := filepath.Join(t.TempDir(), "public")
	cache := t.TempDir()
	cfg := hsWriteConfig(t, cache, target, fmt.Sprintf("  baseurl = [%q]", u.URL()+"/"))

	code, stderr := hsSync(t, cfg)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d (ExitPartial)\n%s", code, ExitPartial, stderr)
	}
	for _, href := range missing {
		if !regexp.MustCompile(regexp.QuoteMeta(href) + `[^\n]*404`).MatchString(stderr) {
			t.Errorf("stderr does not report %s as a 404", href)
		}
	}
	published := hsPrimary(t, target)
	if len(published) != 105 {
		t.Errorf("published %d packages, want 105", len(published))
	}
	for _, href := range missing {
		if _, ok := published[href]; ok {
			t.Errorf("%s is published although upstream does not have it", href)
		}
		if _, err := os.Stat(filepath.Join(target, filepath.FromSlash(href))); !os.IsNotExist(err) {
			t.Errorf("%s: %v, want it absent from the target", href, err)
		}
	}
	for href, sum := range upstream {
		if slices.Contains(missing, href) {
			continue
		}
		if got, ok := published[href]; !ok || got != sum {
			t.Errorf("%s: published pkgid %q, upstream %q", href, got, sum)
		}
	}
	hsVerify(t, target)
	hsCheckPool(t, cache)

	// The run was partial, so the next one lists again: the 105 come
	// from the pool, only the 8 absent ones are asked for (and missed).
	mark := u.mark()
	code, stderr = hsSync(t, cfg)
	if code != ExitPartial || !strings.Contains(stderr, `"reused":105`) || !strings.Contains(stderr, `"fetched":0`) {
		t.Errorf("second run: exit %d\n%s", code, stderr)
	}
	for _, r := range u.since(mark) {
		if strings.HasSuffix(r.Path, ".rpm") && !slices.Contains(missing, strings.TrimPrefix(r.Path, "/")) {
			t.Errorf("second run fetched %s again", r.Path)
		}
	}
	hsVerify(t, target)
}

// hsCase is one way an upstream misbehaves after a first, healthy sync.
type hsCase struct {
	name string
	// metalink: the source is a metalink served by the upstream (made
	// for the first version of repomd.xml) instead of a baseurl.
	metalink bool
	// prepare runs after the second version of the upstream (two more
	// packages, one of them env.bad) is indexed by createrepo_c.
	prepare func(t *testing.T, u *hsUpstream, env *hsEnv)
	code    int
	// want are regular expressions stderr must match (the error naming
	// the file and the reason).
	want []string
	// level says what the run may change: "package" (the bad package is
	// left out, the rest is published), "repo" (the run fails, the
	// previous publication stays byte for byte) or "transient" (retried;
	// everything is published).
	level string
	// check, when set, runs last.
	check func(t *testing.T, u *hsUpstream, env *hsEnv)
	// process runs the second sync as an rpmirror process, whose peak
	// RSS must stay under maxRSS bytes.
	process bool
	maxRSS  int64
}

// hsEnv is what a case works on.
type hsEnv struct {
	dir, target, cache, cfg string
	bad                     string // href of the package the fault is about
	badPath                 string // its URL path
	badSize                 int64
	good                    string // href of the other new package
	mark                    int    // upstream requests before the second sync
}

// TestSyncHostileUpstream: an upstream made by the real createrepo_c is
// synced once, then grows two packages and misbehaves; the second sync
// must report the file and the reason, publish nothing wrong, and leave
// the previous publication intact when it cannot replace it.
func TestSyncHostileUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	testenv.RequireTool(t, "createrepo_c")
	demo := rpmtest.Demo()
	badSpec := hsBigSpec("rpmirror-hostile", 256<<10)
	badBytes, err := rpmtest.Build(badSpec)
	if err != nil {
		t.Fatal(err)
	}
	badSize := int64(len(badBytes))
	bin := ksBuild(t, "github.com/rpmirror/rpmirror/cmd/rpmirror")

	// What a cut answer for the bad package sends before it closes
	// the connection.
	const cutKeep = 16 << 10
	hrefCase := func(name string, href func(env *hsEnv, u *hsUpstream) string, reason string) hsCase {
		return hsCase{
			name: name,
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				// A copy where the bad href would lead, so that a
				// request that escaped would succeed and be seen.
				b, _ := os.ReadFile(filepath.Join(env.dir, filepath.FromSlash(env.bad)))
				os.MkdirAll(filepath.Join(env.dir, "outside"), 0o755)
				os.WriteFile(filepath.Join(env.dir, "outside", path.Base(env.bad)), b, 0o644)
				x := hsPrimaryXML(t, env.dir)
				h := href(env, u)
				y := bytes.Replace(x, []byte(`href="`+env.bad+`"`), []byte(`href="`+h+`"`), 1)
				if bytes.Equal(x, y) {
					t.Fatal("href not found in primary.xml")
				}
				hsRewritePrimary(t, env.dir, hsGzip(t, y), ".gz")
				// The href is what is hostile here, not the sizes:
				// open-size fits the new primary (a shorter one
				// would pass anyway, a longer one fail earlier).
				hsSetOpenSize(t, env.dir, len(y))
			},
			code:  ExitFailure,
			want:  []string{`rpmirror-hostile-(0:)?1\.0-1\.noarch`, reason},
			level: "repo",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				for _, r := range u.since(env.mark) {
					if strings.Contains(r.Path, "outside") || strings.HasSuffix(r.Path, ".rpm") {
						t.Errorf("requested %s", r.Path)
					}
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(env.target), "outside")); !os.IsNotExist(err) {
					t.Errorf("something was written next to the target: %v", err)
				}
			},
		}
	}

	cases := []hsCase{
		{
			name: "wrong checksum",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				// Same size, one byte of the payload changed: only the
				// checksum can tell.
				p := filepath.Join(env.dir, filepath.FromSlash(env.bad))
				b, _ := os.ReadFile(p)
				b[len(b)-100] ^= 0xff
				os.WriteFile(p, b, 0o644)
			},
			code:  ExitPartial,
			want:  []string{`checksum`},
			level: "package",
		},
		{
			name: "short body",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
					hsCut(w, r, rec, serve, cutKeep, false)
				})
			},
			code:  ExitPartial,
			want:  []string{`cut short|unexpected EOF`},
			level: "package",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				// The bytes received are kept: healed, the next run
				// asks for the rest only, and publishes everything.
				var sent int64
				for _, r := range u.requestsFor(env.mark, env.badPath) {
					sent += r.Sent()
				}
				if sent == 0 || sent >= env.badSize {
					t.Fatalf("sent %d of %d bytes", sent, env.badSize)
				}
				u.setFault(env.badPath, nil)
				mark := u.mark()
				if code, stderr := hsSync(t, env.cfg); code != ExitOK {
					t.Fatalf("healed: exit %d\n%s", code, stderr)
				}
				reqs := u.requestsFor(mark, env.badPath)
				if want := fmt.Sprintf("bytes=%d-", sent); len(reqs) != 1 || reqs[0].Range != want {
					t.Errorf("healed: requests %v, want one with Range %s", hsDescribe(reqs), want)
				}
				if _, ok := hsPrimary(t, env.target)[env.bad]; !ok {
					t.Error("healed: the package is not published")
				}
				hsVerify(t, env.target)
			},
		},
		{
			// A partial download must not be resumed from a different
			// file: upstream re-signs the package (same name, new bytes,
			// new pkgid) before the next run.
			name: "short body, then re-signed under the same name",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
					hsCut(w, r, rec, serve, cutKeep, false)
				})
			},
			code:  ExitPartial,
			want:  []string{`cut short|unexpected EOF`},
			level: "package",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				signed := badSpec
				signed.Signer = rpmtest.TestKey().Sign
				if _, err := rpmtest.WriteFile(filepath.Join(env.dir, "Packages"), signed); err != nil {
					t.Fatal(err)
				}
				hsCreaterepo(t, env.dir)
				u.setFault(env.badPath, nil)
				mark := u.mark()
				code, stderr := hsSync(t, env.cfg)
				if code != ExitOK {
					t.Errorf("a healthy upstream after the re-signing: exit %d, want 0; requests %s\n%s",
						code, hsDescribe(u.requestsFor(mark, env.badPath)), stderr)
				}
				b, _ := os.ReadFile(filepath.Join(env.dir, filepath.FromSlash(env.bad)))
				sum := sha256.Sum256(b)
				if got := hsPrimary(t, env.target)[env.bad]; got != hex.EncodeToString(sum[:]) && code == ExitOK {
					t.Errorf("published pkgid %q, want the re-signed package's %x", got, sum)
				}
				hsVerify(t, env.target)
				hsCheckPool(t, env.cache)
			},
		},
		{
			name: "Content-Length larger than the file",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, hsLyingLength(env.badSize+1000))
			},
			code:  ExitPartial,
			want:  []string{fmt.Sprintf(`Content-Length is %d, want %d`, badSize+1000, badSize)},
			level: "package",
		},
		{
			name: "Content-Length smaller than the file",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, hsLyingLength(env.badSize-1000))
			},
			code:  ExitPartial,
			want:  []string{fmt.Sprintf(`Content-Length is %d, want %d`, badSize-1000, badSize)},
			level: "package",
		},
		{
			name: "body longer than primary says",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
					// No Content-Length (chunked): only the size in
					// primary can stop it.
					b, _ := os.ReadFile(filepath.Join(env.dir, filepath.FromSlash(env.bad)))
					w.Header().Set("Content-Type", "application/x-rpm")
					w.WriteHeader(http.StatusOK)
					w.Write(b)
					w.Write(bytes.Repeat([]byte{0}, 4096))
				})
			},
			code:  ExitPartial,
			want:  []string{`more than the \d+ bytes expected`},
			level: "package",
		},
		{
			name: "500s",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
					if rec.N <= 2 {
						http.Error(w, "upstream is having a bad day", http.StatusInternalServerError)
						return
					}
					serve.ServeHTTP(w, r)
				})
			},
			code:  ExitOK,
			want:  []string{`HTTP 500`},
			level: "transient",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				if reqs := u.requestsFor(env.mark, env.badPath); len(reqs) != 3 {
					t.Errorf("requests %v, want 2 failures and a success", hsDescribe(reqs))
				}
			},
		},
		{
			name: "reset mid-file",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
					if rec.N == 1 {
						hsCut(w, r, rec, serve, env.badSize/2, true)
						return
					}
					serve.ServeHTTP(w, r)
				})
			},
			code:  ExitOK,
			want:  []string{`reset by peer`},
			level: "transient",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				reqs := u.requestsFor(env.mark, env.badPath)
				if len(reqs) != 2 {
					t.Fatalf("requests %v, want a reset one and a resumed one", hsDescribe(reqs))
				}
				var from int64
				if _, err := fmt.Sscanf(reqs[1].Range, "bytes=%d-", &from); err != nil || from <= 0 || from > reqs[0].Sent() {
					t.Errorf("resumed with Range %q after %d bytes were sent", reqs[1].Range, reqs[0].Sent())
				}
				if got, want := reqs[1].Sent(), env.badSize-from; got != want {
					t.Errorf("the resumed request sent %d bytes, want %d", got, want)
				}
			},
		},
		{
			name: "reset mid-file, then Range ignored",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				u.setFault(env.badPath, func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
					if rec.N == 1 {
						hsCut(w, r, rec, serve, env.badSize/2, true)
						return
					}
					r.Header.Del("Range") // 200 with the whole file
					serve.ServeHTTP(w, r)
				})
			},
			code:  ExitOK,
			want:  []string{`reset by peer`},
			level: "transient",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				if reqs := u.requestsFor(env.mark, env.badPath); len(reqs) != 2 || reqs[1].Range == "" || reqs[1].Sent() != env.badSize {
					t.Errorf("requests %v, want a reset one and a resumed one answered whole", hsDescribe(reqs))
				}
			},
		},
		hrefCase("href with ..", func(env *hsEnv, u *hsUpstream) string { return "../outside/" + path.Base(env.bad) }, `outside the repository`),
		hrefCase("href with .. inside", func(env *hsEnv, u *hsUpstream) string { return "Packages/../../outside/" + path.Base(env.bad) }, `not a clean path`),
		hrefCase("href an absolute URL", func(env *hsEnv, u *hsUpstream) string { return u.URL() + "/outside/" + path.Base(env.bad) }, `has a scheme`),
		hrefCase("href an absolute path", func(env *hsEnv, u *hsUpstream) string { return "/outside/" + path.Base(env.bad) }, `absolute path`),
		{
			name: "repomd.xml names a missing primary",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				md, _ := os.ReadFile(filepath.Join(env.dir, "repodata", "repomd.xml"))
				m, _ := repodata.ParseRepomd(bytes.NewReader(md))
				os.Remove(filepath.Join(env.dir, filepath.FromSlash(m.Record("primary").Href)))
			},
			code:  ExitFailure,
			want:  []string{`record primary \(repodata/[0-9a-f]{64}-primary\.xml\.gz\)[^\n]*404`},
			level: "repo",
		},
		{
			name: "primary does not match its checksum",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				md, _ := os.ReadFile(filepath.Join(env.dir, "repodata", "repomd.xml"))
				m, _ := repodata.ParseRepomd(bytes.NewReader(md))
				p := filepath.Join(env.dir, filepath.FromSlash(m.Record("primary").Href))
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 0xff
				os.WriteFile(p, b, 0o644)
			},
			code:  ExitFailure,
			want:  []string{`record primary \(repodata/[0-9a-f]{64}-primary\.xml\.gz\)[^\n]*checksum`},
			level: "repo",
		},
		{
			name: "decompression bomb primary",
			prepare: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				// The real primary.xml with 4 GiB of blanks before its
				// end tag: zstd frames (a decoder reads concatenated
				// frames as one stream) of 200 KiB in all. repomd.xml
				// keeps the honest open-size.
				x := hsPrimaryXML(t, env.dir)
				end := bytes.LastIndex(x, []byte("</metadata>"))
				frame := func(b []byte) []byte {
					var buf bytes.Buffer
					zw, err := compress.NewWriter(&buf, compress.Zstd, compress.WriterOptions{})
					if err != nil {
						t.Fatal(err)
					}
					zw.Write(b)
					if err := zw.Close(); err != nil {
						t.Fatal(err)
					}
					return buf.Bytes()
				}
				blanks := frame(bytes.Repeat([]byte(" "), 64<<20))
				bomb := frame(x[:end])
				for range 64 {
					bomb = append(bomb, blanks...)
				}
				bomb = append(bomb, frame(x[end:])...)
				t.Logf("bomb: %d bytes of zstd, %d MiB decompressed", len(bomb), (len(x)>>20)+64*64)
				hsRewritePrimary(t, env.dir, bomb, ".zst")
			},
			code:  ExitFailure,
			want:  []string{`primary\.xml\.zst[^\n]*more than the open-size \d+ that repomd\.xml declares`},
			level: "repo",
			// In a process of its own, to measure it and to keep the
			// test binary's heap small. Unbounded, it would need more
			// than 4 GiB; it stops at the declared open-size (measured:
			// 25 ms, 107 MiB, mostly the zstd decoder's window).
			process: true,
			maxRSS:  384 << 20,
		},
		{
			name:     "metalink hashes do not match",
			metalink: true,
			// Nothing to break: the metalink still describes the first
			// repomd.xml, the mirror serves the second.
			code:  ExitFailure,
			want:  []string{`metalink`, `repomd\.xml`},
			level: "repo",
			check: func(t *testing.T, u *hsUpstream, env *hsEnv) {
				for _, r := range u.since(env.mark) {
					if r.Path != "/metalink" && r.Path != "/repodata/repomd.xml" {
						t.Errorf("requested %s after repomd.xml failed the metalink", r.Path)
					}
				}
			},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := &hsEnv{dir: t.TempDir(), cache: t.TempDir()}
			env.target = filepath.Join(t.TempDir(), "public")
			if _, err := rpmtest.WriteAll(filepath.Join(env.dir, "Packages"), demo[:3]); err != nil {
				t.Fatal(err)
			}
			hsCreaterepo(t, env.dir)
			u := hsNewUpstream(t, env.dir)
			src := fmt.Sprintf("  baseurl = [%q]", u.URL()+"/")
			if tc.metalink {
				hsWriteMetalink(t, env.dir, u.URL())
				src = fmt.Sprintf("  metalink = %q", u.URL()+"/metalink")
			}
			env.cfg = hsWriteConfig(t, env.cache, env.target, src)
			if code, stderr := hsSync(t, env.cfg); code != ExitOK {
				t.Fatalf("first sync: exit %d\n%s", code, stderr)
			}
			before := hsSnapshot(t, env.target)
			if len(hsPrimary(t, env.target)) != 3 {
				t.Fatal("first sync did not publish 3 packages")
			}

			// Version 2: two more packages, one of them the bad one.
			if _, err := rpmtest.WriteAll(filepath.Join(env.dir, "Packages"), []rpmtest.Spec{demo[3], badSpec}); err != nil {
				t.Fatal(err)
			}
			hsCreaterepo(t, env.dir)
			env.bad = "Packages/" + badSpec.RelPath()
			env.badPath = "/" + env.bad
			env.good = "Packages/" + demo[3].RelPath()
			fi, err := os.Stat(filepath.Join(env.dir, filepath.FromSlash(env.bad)))
			if err != nil {
				t.Fatal(err)
			}
			env.badSize = fi.Size()
			if tc.prepare != nil {
				tc.prepare(t, u, env)
			}

			env.mark = u.mark()
			start := time.Now()
			var (
				code   int
				stderr string
			)
			if tc.process {
				var rss int64
				code, stderr, rss = hsSyncProcess(t, bin, env.cfg)
				t.Logf("second sync: exit %d in %s, peak RSS %d MiB", code, time.Since(start).Round(time.Millisecond), rss>>20)
				if rss > tc.maxRSS {
					t.Errorf("peak RSS %d MiB, want at most %d MiB", rss>>20, tc.maxRSS>>20)
				}
			} else {
				code, stderr = hsSync(t, env.cfg)
				t.Logf("second sync: exit %d in %s", code, time.Since(start).Round(time.Millisecond))
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if tc.level == "package" && !strings.Contains(stderr, env.bad) {
				t.Errorf("stderr does not name %s", env.bad)
			}
			for _, re := range tc.want {
				if !regexp.MustCompile(re).MatchString(stderr) {
					t.Errorf("stderr does not match %q", re)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stderr:\n%s", stderr)
			}

			hsVerify(t, env.target)
			hsCheckPool(t, env.cache)
			published := hsPrimary(t, env.target)
			after := hsSnapshot(t, env.target)
			_, badPublished := published[env.bad]
			_, badOnDisk := after[env.bad]
			switch tc.level {
			case "package":
				if badPublished || badOnDisk {
					t.Errorf("the bad package is published (in primary %v, on disk %v)", badPublished, badOnDisk)
				}
				if _, ok := published[env.good]; !ok || len(published) != 4 {
					t.Errorf("published %d packages, want the 3 old ones and %s", len(published), env.good)
				}
				for k, v := range before {
					if strings.HasPrefix(k, "Packages/") && after[k] != v {
						t.Errorf("%s changed or vanished", k)
					}
				}
			case "repo":
				if badPublished || badOnDisk {
					t.Errorf("the bad package is published (in primary %v, on disk %v)", badPublished, badOnDisk)
				}
				hsSameSnapshot(t, before, after)
			case "transient":
				if !badPublished || !badOnDisk || len(published) != 5 {
					t.Errorf("published %d packages (the bad one: %v), want all 5", len(published), badPublished)
				}
			}
			if tc.check != nil {
				tc.check(t, u, env)
			}
		})
	}
}

// hsLyingLength serves the file with a Content-Length of n, whatever
// its size.
func hsLyingLength(n int64) hsFault {
	return func(w http.ResponseWriter, r *http.Request, rec *hsRequest, serve http.Handler) {
		full := httptest.NewRecorder()
		serve.ServeHTTP(full, r)
		for k, v := range full.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.WriteHeader(full.Code)
		w.Write(full.Body.Bytes()) // net/http sends at most n bytes
	}
}

func hsDescribe(reqs []*hsRequest) string {
	var parts []string
	for _, r := range reqs {
		parts = append(parts, fmt.Sprintf("%s(range %q, sent %d)", r.Path, r.Range, r.Sent()))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// hsWriteMetalink writes DIR/metalink: a MirrorManager metalink (3.0 with
// the mm0 extensions) for the repomd.xml in dir now, with base as the
// only mirror.
func hsWriteMetalink(t *testing.T, dir, base string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(md)
	ml := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>%d</mm0:timestamp>
   <size>%d</size>
   <verification>
    <hash type="sha256">%x</hash>
   </verification>
   <resources maxconnections="1">
    <url protocol="http" type="http" location="XX" preference="100">%s/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>
`, time.Now().Unix(), len(md), sum, base)
	if err := os.WriteFile(filepath.Join(dir, "metalink"), []byte(ml), 0o644); err != nil {
		t.Fatal(err)
	}
}
