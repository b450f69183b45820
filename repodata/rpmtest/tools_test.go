package rpmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// debianPackage names the package that provides each external tool.
var debianPackage = map[string]string{
	"rpm":          "rpm",
	"rpmkeys":      "rpm",
	"rpm2cpio":     "rpm2cpio",
	"createrepo_c": "createrepo-c",
	"dnf":          "dnf",
}

// needTool returns the path of an external program, or skips the test
// when it is missing, unless RPMIRROR_REQUIRE_ALL=1 turns the skip into a
// failure.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (Debian: apt-get install %s)", name, debianPackage[name])
	if os.Getenv("RPMIRROR_REQUIRE_ALL") == "1" {
		t.Fatalf("%s, and RPMIRROR_REQUIRE_ALL=1 requires every external tool", msg)
	}
	t.Skip(msg)
	return ""
}

// run runs a program with a fixed locale and time zone and returns its
// standard output; a non-zero exit fails the test.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, stderr, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return out
}

func runErr(name string, args ...string) (stdout, stderr []byte, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// written is a Spec and the file it was written to.
type written struct {
	spec Spec
	path string
}

// writeSet writes specs to a fresh directory.
func writeSet(t *testing.T, specs []Spec) (dir string, files []written) {
	t.Helper()
	dir = t.TempDir()
	paths, err := WriteAll(dir, specs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range paths {
		files = append(files, written{specs[i], p})
	}
	return dir, files
}

// label names a Spec in test output: its file name is unique in a set.
func label(s Spec) string {
	return strings.ReplaceAll(filepath.ToSlash(s.RelPath()), "/", "_")
}
