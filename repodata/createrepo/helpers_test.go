package createrepo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

func testLogger(t testing.TB) logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	if testing.Verbose() {
		l.SetOutput(os.Stderr)
	}
	return l
}

// writeSpecs builds specs into dir and returns dir.
func writeSpecs(t testing.TB, dir string, specs []rpmtest.Spec) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := rpmtest.WriteAll(dir, specs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(t testing.TB, o Options) (*Result, error) {
	t.Helper()
	return Run(context.Background(), o, testLogger(t), nil)
}

func mustRun(t testing.TB, o Options) *Result {
	t.Helper()
	res, err := run(t, o)
	if err != nil {
		t.Fatalf("createrepo: %v", err)
	}
	return res
}

// runCreaterepoC runs the reference tool.
func runCreaterepoC(t testing.TB, in, out string, args ...string) {
	t.Helper()
	bin := testenv.RequireTool(t, "createrepo_c")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--no-database", "-q", "-o", out}, args...)
	args = append(args, in)
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("createrepo_c %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

// repo is a repository read back through our readers.
type repo struct {
	md        *repodata.Repomd
	primary   map[string]*repodata.Package // by location href
	filelists map[string][]repodata.File   // by pkgid
	other     map[string][]repodata.Changelog
	order     []string // hrefs in primary order
	counts    map[string]int
}

func loadRepo(t testing.TB, dir string) *repo {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	r := &repo{md: md, primary: map[string]*repodata.Package{}, filelists: map[string][]repodata.File{},
		other: map[string][]repodata.Changelog{}, counts: map[string]int{}}
	open := func(typ string) io.ReadCloser {
		rec := md.Record(typ)
		if rec == nil {
			t.Fatalf("%s: no %s record", dir, typ)
		}
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rec.Href)))
		if err != nil {
			t.Fatal(err)
		}
		zr, err := compress.NewReader(f, compress.FromFilename(rec.Href), compress.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return readCloser{zr, f}
	}
	rc := open("primary")
	err = repodata.ReadPrimary(rc, func(p *repodata.Package) error {
		if _, dup := r.primary[p.LocationHref]; dup {
			return fmt.Errorf("href %s twice", p.LocationHref)
		}
		r.primary[p.LocationHref] = p
		r.order = append(r.order, p.LocationHref)
		return nil
	})
	rc.Close()
	if err != nil {
		t.Fatalf("%s primary: %v", dir, err)
	}
	rc = open("filelists")
	err = repodata.ReadFilelists(rc, func(e *repodata.FilelistsEntry) error {
		r.filelists[e.PkgID] = e.Files
		r.counts["filelists"]++
		return nil
	})
	rc.Close()
	if err != nil {
		t.Fatalf("%s filelists: %v", dir, err)
	}
	rc = open("other")
	err = repodata.ReadOther(rc, func(e *repodata.OtherEntry) error {
		r.other[e.PkgID] = e.Changelogs
		r.counts["other"]++
		return nil
	})
	rc.Close()
	if err != nil {
		t.Fatalf("%s other: %v", dir, err)
	}
	r.counts["primary"] = len(r.order)
	return r
}

type readCloser struct {
	io.ReadCloser
	f *os.File
}

func (r readCloser) Close() error { r.ReadCloser.Close(); return r.f.Close() }

// diffPackages lists the fields in which two packages differ.
func diffPackages(a, b *repodata.Package) []string {
	var diffs []string
	va, vb := reflect.ValueOf(*a), reflect.ValueOf(*b)
	for i := 0; i < va.NumField(); i++ {
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if isEmpty(va.Field(i)) && isEmpty(vb.Field(i)) {
			continue
		}
		if !reflect.DeepEqual(fa, fb) {
			diffs = append(diffs, fmt.Sprintf("%s:\n    ours: %#v\n    ref:  %#v", va.Type().Field(i).Name, fa, fb))
		}
	}
	return diffs
}

func isEmpty(v reflect.Value) bool {
	return (v.Kind() == reflect.Slice && v.Len() == 0) || v.IsZero()
}

// compareRepos asserts that two repositories describe the same packages
// with the same values in every field of primary, filelists and other.
func compareRepos(t *testing.T, ours, ref *repo) {
	t.Helper()
	if !reflect.DeepEqual(ours.order, ref.order) {
		t.Errorf("package order differs:\n ours: %v\n ref:  %v", ours.order, ref.order)
	}
	for typ, n := range ref.counts {
		if ours.counts[typ] != n {
			t.Errorf("%s: %d packages, reference has %d", typ, ours.counts[typ], n)
		}
	}
	for href, rp := range ref.primary {
		op, ok := ours.primary[href]
		if !ok {
			t.Errorf("%s: missing from our primary", href)
			continue
		}
		for _, d := range diffPackages(op, rp) {
			t.Errorf("%s primary %s", href, d)
		}
		id := rp.Checksum.Value
		if of, rf := ours.filelists[id], ref.filelists[id]; !(len(of) == 0 && len(rf) == 0) && !reflect.DeepEqual(of, rf) {
			t.Errorf("%s filelists differ:\n ours: %v\n ref:  %v", href, of, rf)
		}
		if oc, rc := ours.other[id], ref.other[id]; !(len(oc) == 0 && len(rc) == 0) && !reflect.DeepEqual(oc, rc) {
			t.Errorf("%s other differs:\n ours: %#v\n ref:  %#v", href, oc, rc)
		}
	}
	for href := range ours.primary {
		if _, ok := ref.primary[href]; !ok {
			t.Errorf("%s: in our primary only", href)
		}
	}
}

// fixedOptions are options that make output reproducible.
func fixedOptions(in, out string) Options {
	o := DefaultOptions(in)
	o.OutputDir = out
	o.Revision = "1700000000"
	o.SetTimestampToRevision = true
	o.Now = func() time.Time { return time.Unix(1700000000, 0) }
	return o
}

// readTree returns every regular file under dir/repodata by name.
func readTree(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(filepath.Join(dir, "repodata"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "repodata", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}
