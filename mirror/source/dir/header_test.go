package dir

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmfile"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// checkAgainstRPMFile: whatever rpmfile.Read accepts, readNEVRA must read
// the same fields of.
func checkAgainstRPMFile(t *testing.T, name string, b []byte) {
	t.Helper()
	p, perr := rpmfile.Read(bytes.NewReader(b), rpmfile.Options{})
	h, herr := readNEVRA(bytes.NewReader(b), int64(len(b)))
	if herr != nil && !errors.Is(herr, errNotRPM) {
		t.Fatalf("%s: unclassified error %v", name, herr)
	}
	if perr != nil {
		return // we read less than rpmfile; we may accept what it rejects
	}
	if herr != nil {
		t.Fatalf("%s: rpmfile reads it, readNEVRA says %v", name, herr)
	}
	got := nevra{p.Name, p.Epoch, p.Version, p.Release, p.Arch, p.BuildTime}
	if h != got {
		t.Fatalf("%s: readNEVRA %+v, rpmfile %+v", name, h, got)
	}
}

func testPackages(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	specs := append(rpmtest.Cases(), rpmtest.Demo()...)
	specs = append(specs, rpmtest.Broken()...)
	for _, s := range specs {
		b, err := rpmtest.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		out[s.NEVRA()+" "+s.Comment] = b
	}
	if dir := testenv.CorpusDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "createrepo_c-testdata/tests/testdata/packages/*.rpm"))
		for _, fn := range files {
			if b, err := os.ReadFile(fn); err == nil {
				out[filepath.Base(fn)] = b
			}
		}
	}
	return out
}

func TestReadNEVRA(t *testing.T) {
	pkgs := testPackages(t)
	sources := 0
	for name, b := range pkgs {
		checkAgainstRPMFile(t, name, b)
		if h, err := readNEVRA(bytes.NewReader(b), int64(len(b))); err == nil && h.arch == "src" {
			sources++
		}
	}
	if sources == 0 {
		t.Error("no source package among the test packages")
	}
	for name, b := range map[string][]byte{
		"empty":           {},
		"not an RPM":      rpmtest.NotRPM(),
		"cut in the lead": rpmtest.Truncated(pkgs[firstKey(pkgs)], 50),
		"cut in header":   rpmtest.Truncated(pkgs[firstKey(pkgs)], 400),
	} {
		if _, err := readNEVRA(bytes.NewReader(b), int64(len(b))); !errors.Is(err, errNotRPM) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func firstKey(m map[string][]byte) string {
	k := ""
	for n := range m {
		if k == "" || n < k {
			k = n
		}
	}
	return k
}

// FuzzReadNEVRA: never panics, and agrees with rpmfile on everything
// rpmfile accepts.
func FuzzReadNEVRA(f *testing.F) {
	for _, b := range testPackages(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstRPMFile(t, "input", data)
	})
}
