package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
)

// verifyRepo makes a demo repository in a new directory and returns it
// with the names of its packages.
func verifyRepo(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	paths, err := rpmtest.WriteAll(dir, rpmtest.Demo())
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := execute(t, "createrepo", "-q", dir); code != ExitOK {
		t.Fatalf("createrepo: exit %d: %s", code, stderr)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return dir, names
}

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rpmirror.toml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyExitCodes(t *testing.T) {
	good, _ := verifyRepo(t)
	broken, pkgs := verifyRepo(t)
	if err := os.Remove(filepath.Join(broken, pkgs[0])); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(broken, pkgs[1]), 1000); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(good)))
	defer srv.Close()
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer forbidden.Close()
	cfg := writeConfig(t, fmt.Sprintf("[target.good]\ntype = \"fs\"\npath = %q\n", good))
	badCfg := writeConfig(t, "[target.x]\ntype = \"s3\"\n")
	unknownKey := writeConfig(t, "[target.x]\ntype = \"fs\"\npath = \"/x\"\ncolour = \"blue\"\n")

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string // the whole of it
		stderr string // a part of it
	}{
		{"ok", []string{"verify", good}, ExitOK, "", ""},
		{"ok checksums", []string{"verify", "--checksums", "--parallel", "1", good}, ExitOK, "", ""},
		{"ok file URL", []string{"verify", "file://" + good}, ExitOK, "", ""},
		{"ok HTTP", []string{"verify", "--checksums", srv.URL + "/"}, ExitOK, "", ""},
		{"ok named", []string{"--config", cfg, "verify", "good"}, ExitOK, "", ""},
		{"problems", []string{"verify", broken}, ExitFailure, sortedLines(
			pkgs[0]+": missing",
			pkgs[1]+": size mismatch: size 1000, want "+fmt.Sprint(fileSize(t, good, pkgs[1]))),
			"8 packages, 3 metadata files: 2 problems (1 missing, 1 size mismatch)"},
		{"no repository", []string{"verify", empty}, ExitFailure, "repodata/repomd.xml: missing\n", "1 problem (1 missing)"},
		{"missing directory", []string{"verify", filepath.Join(empty, "nope")}, ExitUsage, "", "no such directory"},
		{"unknown name", []string{"--config", cfg, "verify", "prod"}, ExitUsage, "", "the configuration has no [target.prod]"},
		{"no argument", []string{"verify"}, ExitUsage, "", "accepts 1 arg"},
		{"bad parallel", []string{"verify", "--parallel", "0", good}, ExitUsage, "", "--parallel 0"},
		{"bad max size", []string{"verify", "--max-metadata-size", "0", good}, ExitUsage, "", "--max-metadata-size 0"},
		{"bad flag", []string{"verify", "--checksum", good}, ExitUsage, "", "unknown flag"},
		{"bad scheme", []string{"verify", "ftp://host/repo"}, ExitUsage, "", `unsupported scheme "ftp"`},
		{"credentials in URL", []string{"verify", "s3://AKIAXYZZY:wJalrXYZZY@bucket/el9"}, ExitUsage, "", "credentials never go in a target URL"},
		{"bad target table", []string{"--config", badCfg, "verify", good}, ExitUsage, "", "[target.x]: no bucket"},
		{"unknown target key", []string{"--config", unknownKey, "verify", good}, ExitUsage, "", `unknown key "target.x.colour"`},
		{"forbidden", []string{"verify", forbidden.URL}, ExitFailure, "repodata/repomd.xml: unreadable: httpsrc: get repodata/repomd.xml: HTTP 403 Forbidden\n", "1 problem (1 unreadable)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := execute(t, append([]string{"--log-format", "text"}, tc.args...)...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.stdout != "" || code == ExitOK {
				if stdout != tc.stdout {
					t.Errorf("stdout:\n%s\nwant:\n%s", stdout, tc.stdout)
				}
			}
			if strings.Contains(stdout+stderr, "wJalr") || strings.Contains(stdout+stderr, "AKIAXYZZY") {
				t.Errorf("output shows the credentials:\n%s%s", stdout, stderr)
			}
		})
	}
}

func sortedLines(lines ...string) string {
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}

func fileSize(t *testing.T, dir, name string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestVerifyHelp(t *testing.T) {
	code, out, _ := execute(t, "verify", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"--checksums", "--parallel", "--max-metadata-size", "Exit codes:", "s3://", "Examples:"} {
		if !strings.Contains(out, s) {
			t.Errorf("--help lacks %s", s)
		}
	}
	if code, out, _ := execute(t, "--help"); code != ExitOK || !strings.Contains(out, "verify") {
		t.Errorf("rpmirror --help does not list verify: %s", out)
	}
}

func TestVerifyJSONLog(t *testing.T) {
	dir, _ := verifyRepo(t)
	code, _, stderr := execute(t, "--log-format", "json", "verify", dir)
	if code != ExitOK || !strings.Contains(stderr, `"packages":8`) || !strings.Contains(stderr, `"problems":0`) {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

// A named S3 target, credentials from the environment, in-process.
func TestVerifyS3(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t)
	dir, pkgs := verifyRepo(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cfg := s3.DefaultConfig()
	cfg.Endpoint, cfg.Region, cfg.Bucket, cfg.Prefix = srv.Endpoint, srv.Region, bucket, "el9"
	cfg.Secure, cfg.PathStyle = false, true
	cfg.AccessKey, cfg.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
	b, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || strings.HasPrefix(fi.Name(), ".") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		key, _ := filepath.Rel(dir, p)
		return b.Put(ctx, filepath.ToSlash(key), bytes.NewReader(data), int64(len(data)), storage.PutOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	conf := writeConfig(t, fmt.Sprintf("[target.minio]\ntype = \"s3\"\nendpoint = %q\nregion = %q\nbucket = %q\nprefix = \"el9\"\npath-style = true\ntls = false\n",
		srv.Endpoint, srv.Region, bucket))
	url := fmt.Sprintf("s3://%s/el9?endpoint=%s&region=%s&path-style=1&tls=0", bucket, srv.Endpoint, srv.Region)

	for _, args := range [][]string{{"--config", conf, "verify", "--checksums", "minio"}, {"verify", url}} {
		if code, stdout, stderr := execute(t, args...); code != ExitOK || stdout != "" {
			t.Errorf("%v: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	if err := b.Delete(ctx, pkgs[3]); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := execute(t, "--config", conf, "verify", "minio")
	if code != ExitFailure || stdout != pkgs[3]+": missing\n" || strings.Contains(stderr, srv.SecretKey) {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}
