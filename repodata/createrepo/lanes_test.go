package createrepo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/internal/sha256x2"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// Workers hashing several packages at once write exactly what workers
// reading one at a time write, and fail the same files with the same
// errors, also when packages are started out of order: on the
// catalogue, the demo set, broken files and, when present, the
// corpus's real packages.
func TestLanesMatchSingle(t *testing.T) {
	if runtime.GOARCH == "amd64" && !sha256x2.Supported() {
		t.Log("this CPU has no SHA extensions: both runs read one package at a time")
	}
	in := writeSpecs(t, t.TempDir(), append(rpmtest.Cases(), rpmtest.Demo()...))
	good, err := rpmtest.Build(rpmtest.Demo()[0])
	if err != nil {
		t.Fatal(err)
	}
	incons, err := rpmtest.InconsistentDeps()
	if err != nil {
		t.Fatal(err)
	}
	broken := map[string][]byte{
		"truncated-header.rpm":  rpmtest.Truncated(good, 200),
		"truncated-payload.rpm": rpmtest.Truncated(good, len(good)-10),
		"not-an-rpm.rpm":        rpmtest.NotRPM(),
		"empty.rpm":             nil,
		"inconsistent.rpm":      incons,
		"big-not-rpm.rpm":       bytes.Repeat([]byte("x"), 3*laneChunk+5),
	}
	for name, b := range broken {
		if err := os.WriteFile(filepath.Join(in, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if dir := testenv.CorpusDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "createrepo_c-testdata/tests/testdata/packages/*.rpm"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				os.WriteFile(filepath.Join(in, "corpus-"+filepath.Base(f)), b, 0o644)
			}
		}
	}
	describe := func(res *Result) []string {
		var out []string
		for _, f := range res.Failed {
			out = append(out, f.Path+": "+f.Err.Error())
		}
		return append(out, fmt.Sprint(res.Packages, res.Duplicates))
	}
	variants := []struct {
		name       string
		singleLane bool
		large      int64
	}{
		{"one at a time", true, 0},
		{"lanes", false, 0},
		{"lanes, every package started early", false, 1},
	}
	for _, workers := range []int{1, 2, 3} {
		trees := make([]map[string][]byte, len(variants))
		results := make([]string, len(variants))
		for i, v := range variants {
			out := t.TempDir()
			o := fixedOptions(in, out)
			o.Workers = workers
			o.singleLane = v.singleLane
			o.largePackage = v.large
			res, err := run(t, o)
			if !errors.Is(err, ErrPackagesFailed) {
				t.Fatalf("workers=%d, %s: %v", workers, v.name, err)
			}
			trees[i], results[i] = readTree(t, out), fmt.Sprint(describe(res))
		}
		for i := 1; i < len(variants); i++ {
			if results[i] != results[0] {
				t.Errorf("workers=%d: results differ:\n %s: %v\n %s: %v", workers, variants[0].name, results[0], variants[i].name, results[i])
			}
			if len(trees[i]) != len(trees[0]) {
				t.Fatalf("workers=%d, %s: %d files against %d", workers, variants[i].name, len(trees[i]), len(trees[0]))
			}
			for name, b := range trees[0] {
				if !bytes.Equal(trees[i][name], b) {
					t.Errorf("workers=%d, %s: %s differs", workers, variants[i].name, name)
				}
			}
		}
	}
}
