package createrepo

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmfile"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// WriteEntries from packages parsed elsewhere must produce exactly what
// Run produces from the files.
func TestWriteEntriesMatchesRun(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo())
	writeSpecs(t, filepath.Join(in, "sub"), rpmtest.Demo()[:2])
	viaRun := filepath.Join(t.TempDir(), "run")
	mustRun(t, fixedOptions(in, viaRun))

	var entries []*Entry
	filepath.Walk(in, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || filepath.Ext(p) != ".rpm" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		pkg, err := rpmfile.Read(f, rpmfile.Options{ChangelogLimit: 10})
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(in, p)
		pkg.LocationHref = filepath.ToSlash(rel)
		pkg.FileTime = fi.ModTime().Unix()
		entries = append(entries, NewEntry(pkg))
		return nil
	})
	sort.Slice(entries, func(i, j int) bool { return HrefLess(entries[i].Href, entries[j].Href) })
	viaEntries := filepath.Join(t.TempDir(), "entries")
	i := 0
	res, err := WriteEntries(context.Background(), fixedOptions("", viaEntries), len(entries), func() (*Entry, error) {
		if i == len(entries) {
			return nil, io.EOF
		}
		i++
		return entries[i-1], nil
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicates != 2 {
		t.Errorf("duplicates = %d, want 2", res.Duplicates)
	}
	a, b := readTree(t, viaRun), readTree(t, viaEntries)
	for name, data := range a {
		if !bytes.Equal(b[name], data) {
			t.Errorf("%s differs", name)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%d files vs %d", len(a), len(b))
	}
}
