package rpmtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The demo packages committed under testdata/ must be what Demo()
// builds today (regenerate them with the command in testdata/README.md).
func TestDemoPackagesUpToDate(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "demo", "packages")
	files, err := filepath.Glob(filepath.Join(dir, "*.rpm"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(Demo()) {
		t.Fatalf("%d files in %s, Demo() has %d packages", len(files), dir, len(Demo()))
	}
	for _, s := range Demo() {
		want, err := Build(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, s.RelPath()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what Demo() builds; regenerate testdata/demo/packages", s.RelPath())
		}
	}
}
