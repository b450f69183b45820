package compress

import (
	"os"
	"os/exec"
	"testing"
)

// requireTool returns the path of the command-line program name. When it
// is not installed the test is skipped, or fails if RPMIRROR_REQUIRE_ALL=1
// (set by CI and the README's test command), so that a missing tool
// cannot silently turn a test suite green.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " is not installed (apt-get install xz-utils bzip2 zstd gzip): " + err.Error()
	if os.Getenv("RPMIRROR_REQUIRE_ALL") == "1" {
		t.Fatal(msg + "; RPMIRROR_REQUIRE_ALL=1 makes this a failure")
	}
	t.Skip(msg)
	return ""
}
