package rpmfile

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// FuzzRead feeds arbitrary bytes to Read: it must never panic or hang,
// and what it accepts must be self-consistent.
func FuzzRead(f *testing.F) {
	for _, s := range append(rpmtest.Cases(), rpmtest.Demo()...) {
		b, err := rpmtest.Build(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(rpmtest.Truncated(b, len(b)/2))
	}
	for _, fn := range []func() ([]byte, error){rpmtest.InconsistentDeps, rpmtest.DirIndexOutOfRange} {
		if b, err := fn(); err == nil {
			f.Add(b)
		}
	}
	f.Add(rpmtest.NotRPM())
	if dir := testenv.CorpusDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "createrepo_c-testdata/tests/testdata/packages/*.rpm"))
		for _, fn := range files {
			if b, err := os.ReadFile(fn); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read(bytes.NewReader(data), Options{ChangelogLimit: -1})
		if err != nil {
			return
		}
		if p.PackageSize != uint64(len(data)) {
			t.Fatalf("PackageSize %d, input %d", p.PackageSize, len(data))
		}
		if p.HeaderStart > p.HeaderEnd || p.HeaderEnd > p.PackageSize {
			t.Fatalf("header range %d-%d of %d bytes", p.HeaderStart, p.HeaderEnd, p.PackageSize)
		}
		if want := fmt.Sprintf("%x", sha256.Sum256(data)); p.Checksum.Value != want {
			t.Fatalf("checksum %s, want %s", p.Checksum.Value, want)
		}
		if p.Name == "" {
			t.Fatal("accepted a package without a name")
		}
	})
}
