package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/fs"
	"github.com/rpmirror/rpmirror/storage/retry"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

func testLogger(t testing.TB) logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if testing.Verbose() {
		l.SetOutput(os.Stderr)
		l.SetLevel(logrus.DebugLevel)
	}
	return l
}

var specTime = time.Date(2025, time.June, 1, 12, 0, 0, 0, time.UTC)

// pkg is a small noarch package under Packages/<first letter>/ whose
// payload (size bytes of pseudo-random data, so it does not compress
// away) depends on name, version and release.
func pkg(name, version, release string, size int) rpmtest.Spec {
	seed := uint64(0)
	for _, c := range name + "-" + version + "-" + release {
		seed = seed*131 + uint64(c)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	content := make([]byte, size)
	for i := range content {
		content[i] = byte(r.Uint32())
	}
	s := rpmtest.Spec{
		Name:        name,
		Version:     version,
		Release:     release,
		Arch:        "noarch",
		Summary:     "publish test package " + name,
		Description: "A package for the publish tests.\n",
		License:     "MIT",
		BuildHost:   "build.rpmirror.invalid",
		BuildTime:   specTime,
		Files:       []rpmtest.File{{Path: "/usr/share/publish-test/" + name + "/data", Content: content}},
	}
	s.FileName = "Packages/" + name[:1] + "/" + s.RelPath()
	return s
}

// writeRepo writes specs into dir (removing every *.rpm not among them)
// and runs our createrepo on it.
func writeRepo(t testing.TB, dir string, specs []rpmtest.Spec) {
	t.Helper()
	writeRepoWith(t, dir, specs, nil)
}

// writeRepoWith is writeRepo with createrepo options changed by set.
func writeRepoWith(t testing.TB, dir string, specs []rpmtest.Spec, set func(*createrepo.Options)) {
	t.Helper()
	want := map[string]bool{}
	for _, s := range specs {
		want[filepath.Join(dir, filepath.FromSlash(s.RelPath()))] = true
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".rpm" && !want[p] {
			os.Remove(p)
		}
		return nil
	})
	if _, err := rpmtest.WriteAll(dir, specs); err != nil {
		t.Fatal(err)
	}
	o := createrepo.DefaultOptions(dir)
	o.Workers = 2
	if set != nil {
		set(&o)
	}
	if _, err := createrepo.Run(context.Background(), o, testLogger(t), nil); err != nil {
		t.Fatalf("createrepo: %v", err)
	}
}

// testTarget is a backend under test with a way to fetch objects as a client
// does.
type testTarget struct {
	b storage.Backend
	// url is the base URL of anonymous HTTP access; "" for fs.
	url string
	// dir is the directory of an fs target.
	dir string
}

func fsTarget(t testing.TB) testTarget {
	t.Helper()
	dir := t.TempDir()
	b, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return testTarget{b: retry.New(b, retry.Options{}, testLogger(t)), dir: dir}
}

func minioServer(t testing.TB) *miniotest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	return miniotest.Shared(t)
}

// s3Target returns a backend over a fresh bucket (prefix "repo") that
// anyone may read over HTTP, as a bucket served to dnf hosts is.
func s3Target(t testing.TB, srv *miniotest.Server) testTarget {
	t.Helper()
	bucket := srv.Bucket(t)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket)
	if err := srv.Client().SetBucketPolicy(context.Background(), bucket, policy); err != nil {
		t.Fatalf("set public-read policy: %v", err)
	}
	cfg := s3.DefaultConfig()
	cfg.Endpoint = srv.Endpoint
	cfg.Region = srv.Region
	cfg.Bucket = bucket
	cfg.Prefix = "repo"
	cfg.Secure = false
	cfg.PathStyle = true
	cfg.AccessKey = srv.AccessKey
	cfg.SecretKey = s3.Secret(srv.SecretKey)
	b, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return testTarget{b: retry.New(b, retry.Options{}, testLogger(t)), url: "http://" + srv.Endpoint + "/" + bucket + "/repo/"}
}

// get fetches key as an anonymous client would.
func (tg testTarget) get(ctx context.Context, key string) ([]byte, http.Header, error) {
	if tg.url == "" {
		rc, err := tg.b.Open(ctx, key)
		if err != nil {
			return nil, nil, err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return b, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tg.url+key, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.Header, fmt.Errorf("GET %s: %s", key, resp.Status)
	}
	return b, resp.Header, nil
}

// keys lists the target (reserved keys included).
func (tg testTarget) keys(t testing.TB) map[string]storage.Object {
	t.Helper()
	m := map[string]storage.Object{}
	if err := tg.b.List(context.Background(), "", func(o storage.Object) error {
		m[o.Key] = o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func mustPublish(t testing.TB, src string, tg testTarget, opt Options) *Result {
	t.Helper()
	res, err := Publish(context.Background(), src, tg.b, opt, testLogger(t))
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return res
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalBytes(a, b []byte) bool { return bytes.Equal(a, b) }

// clock is an injectable Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
