package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

func execute(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), Env{Version: "test", Args: args, Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestCreaterepoExitCodes(t *testing.T) {
	good := t.TempDir()
	if _, err := rpmtest.WriteAll(good, rpmtest.Demo()); err != nil {
		t.Fatal(err)
	}
	partial := t.TempDir()
	if _, err := rpmtest.WriteAll(partial, rpmtest.Demo()[:2]); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(partial, "broken.rpm"), rpmtest.NotRPM(), 0o644)
	cfg := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(cfg, []byte("[createrepo]\nwokers = 1\n"), 0o644)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"createrepo", "-q", good}, ExitOK, ""},
		{"partial", []string{"createrepo", "-q", partial}, ExitPartial, "broken.rpm: rpmfile: not an RPM file"},
		{"no dir", []string{"createrepo"}, ExitUsage, "accepts 1 arg"},
		{"missing dir", []string{"createrepo", filepath.Join(good, "nope")}, ExitUsage, "is not a directory"},
		{"bad flag", []string{"createrepo", "--no-such-flag", good}, ExitUsage, "unknown flag"},
		{"bad checksum", []string{"createrepo", "-s", "md5", good}, ExitUsage, "unsupported checksum type"},
		{"bad compression", []string{"createrepo", "--general-compress-type", "lz4", good}, ExitUsage, "lz4"},
		{"bad config", []string{"--config", cfg, "createrepo", good}, ExitUsage, `unknown key "createrepo.wokers"`},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := execute(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
		})
	}
}

func TestCreaterepoLockedExitCode(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, ".repodata"), 0o755) // createrepo_c at work
	code, _, stderr := execute(t, "createrepo", "-q", dir)
	if code != ExitLocked || !strings.Contains(stderr, "createrepo_c") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}

func TestHelpAndVersion(t *testing.T) {
	code, out, _ := execute(t, "createrepo", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--outputdir", "--workers", "--checksum", "--general-compress-type", "--changelog-limit",
		"--simple-md-filenames", "--set-timestamp-to-revision", "--excludes", "--pkglist", "--baseurl",
		"--location-prefix", "--duplicated-nevra", "--quiet", "Examples:"} {
		if !strings.Contains(out, flag) {
			t.Errorf("--help lacks %s", flag)
		}
	}
	code, out, _ = execute(t, "--version")
	if code != ExitOK || !strings.Contains(out, "test") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
}

func TestJSONLogs(t *testing.T) {
	dir := t.TempDir()
	rpmtest.WriteAll(dir, rpmtest.Demo()[:1])
	code, _, stderr := execute(t, "--log-format", "json", "createrepo", dir)
	if code != ExitOK || !strings.Contains(stderr, `"msg":"metadata written"`) || !strings.Contains(stderr, `"packages":1`) {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
}
