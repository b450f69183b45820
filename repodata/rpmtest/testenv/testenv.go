// Package testenv decides what a test does when an external tool or the
// shared corpus is missing: skip, or fail under RPMIRROR_REQUIRE_ALL=1.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireAllEnv is the environment variable that turns a missing external
// tool or corpus from a skip into a failure. The README's test command and
// CI set it.
const RequireAllEnv = "RPMIRROR_REQUIRE_ALL"

// RequireAll reports whether tests must not skip for want of a tool.
func RequireAll() bool { return os.Getenv(RequireAllEnv) == "1" }

// Missing skips t with reason, or fails it when RequireAll is set.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s (and %s=1 forbids skipping)", reason, RequireAllEnv)
	}
	t.Skip(reason)
}

// RequireTool returns the path of an external program, skipping (or,
// with RPMIRROR_REQUIRE_ALL=1, failing) the test when it is not installed.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed (make test-deps installs it)")
	}
	return p
}

// CorpusDir returns the shared corpus of real third-party RPMs and
// repodata (../shared/corpus from the project root, or $RPMIRROR_CORPUS),
// or "" when it is absent. The corpus lives outside the project and is
// never copied into it, so tests that use it skip without it even under
// RPMIRROR_REQUIRE_ALL.
func CorpusDir() string {
	if d := os.Getenv("RPMIRROR_CORPUS"); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	// file is <root>/repodata/rpmtest/testenv/testenv.go; the corpus is <root>/../shared/corpus.
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "corpus")
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		return d
	}
	return ""
}

// RequireCorpus returns CorpusDir or skips the test.
func RequireCorpus(t testing.TB) string {
	t.Helper()
	d := CorpusDir()
	if d == "" {
		t.Skip("shared corpus not found (set RPMIRROR_CORPUS or place it at ../shared/corpus)")
	}
	return d
}
