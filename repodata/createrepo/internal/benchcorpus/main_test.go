package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// need skips the test when program is missing, unless RPMIRROR_REQUIRE_ALL=1.
func need(t *testing.T, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("RPMIRROR_REQUIRE_ALL") == "1" {
			t.Fatalf("%s not found (RPMIRROR_REQUIRE_ALL=1)", program)
		}
		t.Skipf("%s not found; install it (.ci/install-deps) to run this test", program)
	}
	return p
}

func generate(t *testing.T, c config) string {
	t.Helper()
	if c.out == "" {
		c.out = t.TempDir()
	}
	if c.layout == "" {
		c.layout = "flat"
	}
	if err := run(context.Background(), c, io.Discard); err != nil {
		t.Fatal(err)
	}
	return c.out
}

type fileState struct {
	data  []byte
	mtime int64
}

func readTree(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	files := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = fileState{b, fi.ModTime().Unix()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestSameFlagsSameBytes(t *testing.T) {
	a := readTree(t, generate(t, config{n: 60, sizeMB: 3, seed: 7, layout: "letter", workers: 1}))
	b := readTree(t, generate(t, config{n: 60, sizeMB: 3, seed: 7, layout: "letter", workers: 4}))
	if len(a) != 60 || len(b) != 60 {
		t.Fatalf("got %d and %d files, want 60", len(a), len(b))
	}
	for name, fa := range a {
		fb, ok := b[name]
		switch {
		case !ok:
			t.Errorf("%s: only in the first corpus", name)
		case !bytes.Equal(fa.data, fb.data):
			t.Errorf("%s: bytes differ", name)
		case fa.mtime != fb.mtime:
			t.Errorf("%s: mtime %d != %d", name, fa.mtime, fb.mtime)
		}
	}
	c := readTree(t, generate(t, config{n: 60, sizeMB: 3, seed: 8, layout: "letter", workers: 2}))
	same := 0
	for name := range a {
		if _, ok := c[name]; ok {
			same++
		}
	}
	if same > 6 {
		t.Errorf("seeds 7 and 8 share %d of 60 file names", same)
	}
}

func TestTotalSize(t *testing.T) {
	for _, tc := range []struct {
		n      int
		sizeMB float64
	}{
		{50, 20},  // payload-heavy
		{400, 12}, // header-heavy, like the meta scenario
	} {
		files := readTree(t, generate(t, config{n: tc.n, sizeMB: tc.sizeMB, seed: 1, workers: 2}))
		var total int
		for _, f := range files {
			total += len(f.data)
		}
		want := tc.sizeMB * 1e6
		if d := float64(total)/want - 1; d < -0.03 || d > 0.03 {
			t.Errorf("n=%d size-mb=%g: %d bytes, %.1f%% off", tc.n, tc.sizeMB, total, 100*d)
		}
	}
}

func TestNonEmptyOut(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), config{n: 1, sizeMB: 1, out: dir, layout: "flat", workers: 1}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v, want a non-empty directory error", err)
	}
}

// TestReferenceTools checks that rpm and createrepo_c read every package
// without complaint.
func TestReferenceTools(t *testing.T) {
	if testing.Short() {
		t.Skip("runs rpm and createrepo_c")
	}
	rpm := need(t, "rpm")
	createrepo := need(t, "createrepo_c")
	dir := generate(t, config{n: 120, sizeMB: 6, seed: 3, layout: "letter", workers: 2})
	var pkgs []string
	for name := range readTree(t, dir) {
		pkgs = append(pkgs, filepath.Join(dir, name))
	}

	out, err := exec.Command(rpm, append([]string{"-K", "--nosignature"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rpm -K: %v\n%s", err, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasSuffix(l, ": digests OK") {
			t.Errorf("rpm -K: %s", l)
		}
	}

	repo := t.TempDir()
	out, err = exec.Command(createrepo, "--no-database", "--error-exit-val", "-o", repo, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	repomd, err := os.ReadFile(filepath.Join(repo, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(repomd, []byte(`<data type="primary">`)) {
		t.Fatalf("repomd.xml has no primary record:\n%s", repomd)
	}
	primary, err := filepath.Glob(filepath.Join(repo, "repodata", "*-primary.xml.gz"))
	if err != nil || len(primary) != 1 {
		t.Fatalf("primary.xml.gz: %v %v", primary, err)
	}
	xml, err := exec.Command("zcat", primary[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(xml, []byte("<package ")); got != len(pkgs) {
		t.Errorf("createrepo_c indexed %d packages, want %d", got, len(pkgs))
	}
}
