package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
)

// demoRepo writes the demo packages into a new directory and indexes it.
func demoRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := rpmtest.WriteAll(dir, rpmtest.Demo()); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := execute(t, "createrepo", "-q", dir); code != ExitOK {
		t.Fatalf("createrepo: exit %d: %s", code, stderr)
	}
	return dir
}

func TestPublishCommand(t *testing.T) {
	src := demoRepo(t)
	dst := filepath.Join(t.TempDir(), "www", "el9")

	code, _, stderr := execute(t, "--log-format", "json", "publish", src, dst)
	if code != ExitOK || !strings.Contains(stderr, `"msg":"published"`) || !strings.Contains(stderr, `"uploaded":12`) {
		t.Fatalf("publish: exit %d, stderr %s", code, stderr)
	}
	if a, b := readAll(t, filepath.Join(src, "repodata/repomd.xml")), readAll(t, filepath.Join(dst, "repodata/repomd.xml")); a != b {
		t.Error("repomd.xml differs")
	}
	code, _, stderr = execute(t, "--log-format", "json", "publish", src, dst)
	if code != ExitOK || !strings.Contains(stderr, "already up to date") || !strings.Contains(stderr, `"uploaded":0`) {
		t.Errorf("republish: exit %d, stderr %s", code, stderr)
	}

	// The configuration's [publish] values, and flags over them.
	cfg := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(cfg, []byte("[publish]\nparallel = 2\ngrace-period = \"0s\"\npackage-cache-control = \"public, max-age=5\"\nwait = \"1s\"\n"), 0o644)
	os.Remove(filepath.Join(src, rpmtest.Demo()[0].RelPath()))
	if code, _, stderr := execute(t, "createrepo", "-q", src); code != ExitOK {
		t.Fatalf("createrepo: %s", stderr)
	}
	code, _, stderr = execute(t, "--config", cfg, "--log-format", "json", "publish", src, dst)
	if code != ExitOK || !strings.Contains(stderr, `"deleted":4`) {
		// grace-period 0s: the removed package and the three superseded
		// metadata files go at once.
		t.Errorf("publish with a configuration: exit %d, stderr %s", code, stderr)
	}
	newDir := filepath.Join(t.TempDir(), "new")
	code, _, stderr = execute(t, "--config", cfg, "--log-format", "json", "publish", "--dry-run", "--grace-period", "1h", src, newDir)
	if code != ExitOK || !strings.Contains(stderr, "dry run: nothing changed") || !strings.Contains(stderr, `"uploaded":11`) {
		t.Errorf("dry run: exit %d, stderr %s", code, stderr)
	}
	if _, err := os.Stat(newDir); !os.IsNotExist(err) {
		t.Errorf("the dry run created the target directory: %v", err)
	}
}

func readAll(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPublishExitCodes(t *testing.T) {
	src := demoRepo(t)
	notRepo := t.TempDir()
	locked := t.TempDir()
	os.MkdirAll(filepath.Join(locked, ".rpmirror"), 0o755)
	lock, _ := json.Marshal(publish.LockInfo{Token: strings.Repeat("ab", 16), Holder: "publisher on host-x",
		Acquired: time.Now(), Expires: time.Now().Add(time.Hour)})
	os.WriteFile(filepath.Join(locked, filepath.FromSlash(publish.LockKey)), lock, 0o644)
	badCfg := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(badCfg, []byte("[publish]\n\ngrace-period = \"3 days\"\n"), 0o644)
	unknownCfg := filepath.Join(t.TempDir(), "unknown.toml")
	os.WriteFile(unknownCfg, []byte("[publish]\ngrace = \"3h\"\n"), 0o644)
	broken := demoRepo(t)
	os.Remove(filepath.Join(broken, rpmtest.Demo()[1].RelPath()))

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no args", []string{"publish", src}, ExitUsage, "accepts 2 arg"},
		{"not a repository", []string{"publish", notRepo, t.TempDir()}, ExitUsage, "no repodata/repomd.xml"},
		{"target is the source", []string{"publish", src, src}, ExitUsage, "source directory"},
		{"target inside the source", []string{"publish", src, filepath.Join(src, "pub")}, ExitUsage, "source directory"},
		{"http target", []string{"publish", src, "https://mirror.example.org/el9/"}, ExitUsage, "read-only"},
		{"credentials in the URL", []string{"publish", src, "s3://AKIA:hunter2@bucket/el9"}, ExitUsage, "credentials"},
		{"bad parallel", []string{"publish", "--parallel", "0", src, t.TempDir()}, ExitUsage, "--parallel"},
		{"bad duration", []string{"publish", "--grace-period", "3d", src, t.TempDir()}, ExitUsage, "grace-period"},
		{"bad config duration", []string{"--config", badCfg, "publish", src, t.TempDir()}, ExitUsage, `bad.toml:3`},
		{"unknown config key", []string{"--config", unknownCfg, "publish", src, t.TempDir()}, ExitUsage, `unknown key "publish.grace"`},
		{"locked", []string{"publish", src, locked}, ExitLocked, "publisher on host-x"},
		{"missing package", []string{"publish", broken, t.TempDir()}, ExitFailure, rpmtest.Demo()[1].RelPath()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := execute(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if strings.Contains(stderr, "hunter2") {
				t.Error("the secret was printed")
			}
		})
	}
}

// Publishing to s3:// with the credentials in the environment; they never
// appear in the output.
func TestPublishS3(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	src := demoRepo(t)
	spec := fmt.Sprintf("s3://%s/el9/x86_64?endpoint=%s&region=%s&path-style=1&tls=0", bucket, srv.Endpoint, srv.Region)
	for i, want := range []string{`"uploaded":12`, `"uploaded":0`} {
		code, _, stderr := execute(t, "--log-format", "json", "--log-level", "debug", "publish", src, spec)
		if code != ExitOK || !strings.Contains(stderr, want) {
			t.Errorf("publish %d: exit %d, stderr %s", i, code, stderr)
		}
		if strings.Contains(stderr, srv.SecretKey) {
			t.Errorf("publish %d: the secret key is in the log", i)
		}
	}
	obj, err := srv.Client().StatObject(context.Background(), bucket, "el9/x86_64/repodata/repomd.xml", minio.StatObjectOptions{})
	if err != nil || obj.Metadata.Get("Cache-Control") != publish.CacheNoCache {
		t.Errorf("repomd.xml in the bucket: %+v, %v", obj.Metadata, err)
	}
}

// config.example.toml documents [publish] with the library's defaults.
func TestExamplePublishConfig(t *testing.T) {
	f, err := os.Open("../../../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := parseConfig(f, "config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	def := publish.DefaultOptions()
	p := c.Publish
	if p.Parallel == nil || *p.Parallel != def.Parallelism || p.GracePeriod == nil || p.GracePeriod.d != def.GracePeriod ||
		p.PackageCacheControl == nil || *p.PackageCacheControl != def.PackageCacheControl ||
		p.Wait == nil || p.Wait.d != def.LockWait || p.LockTTL == nil || p.LockTTL.d != def.LockTTL {
		t.Errorf("[publish] of config.example.toml differs from publish.DefaultOptions(): %+v", p)
	}
}
