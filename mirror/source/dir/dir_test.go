package dir

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// tree writes the demo packages into nested directories, with files that
// are not packages beside them, and returns the root.
func tree(t *testing.T) (root string, hrefs []string) {
	t.Helper()
	root = t.TempDir()
	specs := rpmtest.Demo()
	for i := range specs {
		switch {
		case specs[i].Arch == "x86_64":
			specs[i].FileName = "x86_64/Packages/" + specs[i].RelPath()
		case i%2 == 0:
			specs[i].FileName = "noarch/deep/er/" + specs[i].RelPath()
		}
	}
	if _, err := rpmtest.WriteAll(root, specs); err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		hrefs = append(hrefs, s.RelPath())
	}
	sort.Strings(hrefs)
	for name, content := range map[string]string{
		"README":                   "not a package",
		"noarch/notes.rpm.txt":     "not a package either",
		"x86_64/repodata/repomd.x": "<repomd/>",
	} {
		write(t, filepath.Join(root, name), content)
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory named like a package is not one.
	if err := os.Mkdir(filepath.Join(root, "dir.rpm"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root, hrefs
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newSource(t *testing.T, root string, follow bool) *Source {
	t.Helper()
	s, err := New(Config{Path: root, FollowSymlinks: follow}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func list(t *testing.T, s *Source) []source.Candidate {
	t.Helper()
	cs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func hrefs(cs []source.Candidate) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Href)
	}
	return out
}

func fingerprint(t *testing.T, s *Source) string {
	t.Helper()
	fp, err := s.Fingerprint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

func TestListAndFetch(t *testing.T) {
	root, demoHrefs := tree(t)
	s := newSource(t, root, false)
	cs := list(t, s)
	if len(demoHrefs) != 8 || !strings.HasPrefix(demoHrefs[len(demoHrefs)-1], "x86_64/Packages/") || !strings.Contains(demoHrefs[0], "/deep/er/") {
		t.Fatalf("the tree is not nested as meant: %q", demoHrefs)
	}
	if got := hrefs(cs); !reflect.DeepEqual(got, demoHrefs) {
		t.Fatalf("hrefs:\n got %q\nwant %q", got, demoHrefs)
	}
	for _, c := range cs {
		path := filepath.Join(root, filepath.FromSlash(c.Href))
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Size != int64(len(want)) || c.Origin != path || c.Checksum != (repodata.Checksum{}) || c.Package != nil {
			t.Errorf("candidate %+v", c)
		}
		// The header fields are what rpmfile reads from the whole file.
		p, err := rpmfile.Read(bytes.NewReader(want), rpmfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != p.Name || c.Epoch != p.Epoch || c.Version != p.Version || c.Release != p.Release ||
			c.Arch != p.Arch || c.BuildTime != p.BuildTime || c.NEVRA() != p.NEVRA() {
			t.Errorf("candidate %+v, rpmfile says %s built %d", c, p.NEVRA(), p.BuildTime)
		}
		if err := repodata.CheckHref(c.Href); err != nil {
			t.Error(err)
		}
		var buf bytes.Buffer
		if err := s.Fetch(context.Background(), &c, 0, &buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: fetched bytes differ", c.Href)
		}
		if _, err := rpmfile.Read(&buf, rpmfile.Options{}); err != nil {
			t.Errorf("%s: %v", c.Href, err)
		}
		buf.Reset()
		if err := s.Fetch(context.Background(), &c, 100, &buf); err != nil || !bytes.Equal(buf.Bytes(), want[100:]) {
			t.Errorf("%s from offset 100: %v", c.Href, err)
		}
		buf.Reset()
		if err := s.Fetch(context.Background(), &c, c.Size, &buf); err != nil || buf.Len() != 0 {
			t.Errorf("%s from its end: %v, %d bytes", c.Href, err, buf.Len())
		}
		if err := s.Fetch(context.Background(), &c, c.Size+1, io.Discard); !errors.Is(err, source.ErrVerify) {
			t.Errorf("%s past its end: %v", c.Href, err)
		}
	}
}

func TestSymlinks(t *testing.T) {
	root, demoHrefs := tree(t)
	outside := t.TempDir()
	extra := rpmtest.Demo()[0]
	extra.Name = "outside"
	if _, err := rpmtest.WriteFile(outside, extra); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"loop":                     ".",                                   // a loop to the root
		"noarch/deep/er/up":        "..",                                  // a loop to an ancestor
		"again":                    "noarch",                              // a directory reached twice
		"ext":                      outside,                               // a directory outside
		"alias.rpm":                "rpmirror-demo-docs-1.0-1.noarch.rpm", // a file
		"dangling.rpm":             "nowhere.rpm",
		"x86_64/Packages/self.rpm": "self.rpm", // a link to itself
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}

	// Not following: links are invisible.
	if got := hrefs(list(t, newSource(t, root, false))); !reflect.DeepEqual(got, demoHrefs) {
		t.Errorf("without following:\n got %q\nwant %q", got, demoHrefs)
	}

	// Following: every file at every path that does not loop.
	s := newSource(t, root, true)
	done := make(chan []source.Candidate)
	go func() { cs, _ := s.List(context.Background()); done <- cs }()
	var cs []source.Candidate
	select {
	case cs = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("List did not return: symbolic link loop")
	}
	want := append([]string{"alias.rpm", "ext/outside-1.0-1.noarch.rpm"}, demoHrefs...)
	for _, h := range demoHrefs {
		if rest, ok := strings.CutPrefix(h, "noarch/"); ok {
			want = append(want, "again/"+rest)
		}
	}
	sort.Strings(want)
	if got := hrefs(cs); !reflect.DeepEqual(got, want) {
		t.Errorf("following:\n got %q\nwant %q", got, want)
	}
	for _, c := range cs {
		if err := s.Fetch(context.Background(), &c, 0, io.Discard); err != nil {
			t.Errorf("%s: %v", c.Href, err)
		}
	}

	// Without FollowSymlinks, Fetch cannot be led outside the root.
	s = newSource(t, root, false)
	c := source.Candidate{Href: "ext/outside-1.0-1.noarch.rpm", Size: -1}
	if err := s.Fetch(context.Background(), &c, 0, io.Discard); err == nil {
		t.Error("fetched through a link leading outside the root")
	}
}

func TestFingerprint(t *testing.T) {
	root, demoHrefs := tree(t)
	s := newSource(t, root, false)
	a := fingerprint(t, s)
	if b := fingerprint(t, newSource(t, root, false)); a != b {
		t.Fatalf("not stable: %q, %q", a, b)
	}
	if !strings.Contains(a, "files=8") {
		t.Errorf("fingerprint %q", a)
	}
	if b := fingerprint(t, newSource(t, root, true)); a == b {
		t.Error("FollowSymlinks is not part of the fingerprint")
	}

	// Files that are not packages do not count.
	write(t, filepath.Join(root, "noarch/more-notes.txt"), "x")
	if fp := fingerprint(t, s); fp != a {
		t.Error("a non-RPM file changed the fingerprint")
	}

	steps := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"touch", func(t *testing.T) {
			p := filepath.Join(root, demoHrefs[3])
			mt := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			if err := os.Chtimes(p, mt, mt); err != nil {
				t.Fatal(err)
			}
		}},
		{"add", func(t *testing.T) { write(t, filepath.Join(root, "new/x.rpm"), "x") }},
		{"grow", func(t *testing.T) { write(t, filepath.Join(root, "new/x.rpm"), "xy") }},
		{"rename", func(t *testing.T) {
			if err := os.Rename(filepath.Join(root, "new/x.rpm"), filepath.Join(root, "new/y.rpm")); err != nil {
				t.Fatal(err)
			}
		}},
		{"remove", func(t *testing.T) {
			if err := os.Remove(filepath.Join(root, "new/y.rpm")); err != nil {
				t.Fatal(err)
			}
		}},
	}
	seen := map[string]string{a: "start"}
	for _, st := range steps {
		st.do(t)
		fp := fingerprint(t, s)
		if prev, dup := seen[fp]; dup {
			t.Errorf("after %s: fingerprint as after %s", st.name, prev)
		}
		seen[fp] = st.name
		if st.name == "touch" {
			delete(seen, fp) // "remove" comes back to this state
			defer func(want string) {
				if got := fingerprint(t, s); got != want {
					t.Error("the same files give another fingerprint after add and remove")
				}
			}(fp)
		}
	}
}

func TestFetchChangedFiles(t *testing.T) {
	root, _ := tree(t)
	s := newSource(t, root, false)
	cs := list(t, s)

	// Removed between List and Fetch.
	gone := cs[0]
	if err := os.Remove(gone.Origin); err != nil {
		t.Fatal(err)
	}
	err := s.Fetch(context.Background(), &gone, 0, io.Discard)
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, source.ErrVerify) {
		t.Errorf("vanished file: %v", err)
	}

	// Replaced by a file of another size between List and Fetch.
	changed := cs[1]
	write(t, changed.Origin, "short")
	if err := s.Fetch(context.Background(), &changed, 0, io.Discard); !errors.Is(err, source.ErrVerify) {
		t.Errorf("changed size: %v", err)
	}

	// Growing while being copied.
	c := cs[2]
	w := &hookWriter{fn: func() {
		f, err := os.OpenFile(c.Origin, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("more"))
		f.Close()
	}}
	if err := s.Fetch(context.Background(), &c, 0, w); !errors.Is(err, source.ErrVerify) {
		t.Errorf("grown during the copy: %v", err)
	}

	// Truncated while being copied (a large file, so that the copy takes
	// more than one read).
	big := filepath.Join(root, "big.rpm")
	write(t, big, strings.Repeat("x", 1<<20))
	c = source.Candidate{Href: "big.rpm", Size: 1 << 20, Origin: big}
	w = &hookWriter{fn: func() {
		if err := os.Truncate(big, 1000); err != nil {
			t.Fatal(err)
		}
	}}
	if err := s.Fetch(context.Background(), &c, 0, w); !errors.Is(err, source.ErrVerify) {
		t.Errorf("truncated during the copy: %v", err)
	}

	// Rewritten in place with the same size while being copied.
	write(t, big, strings.Repeat("x", 1<<20))
	w = &hookWriter{fn: func() {
		mt := time.Now().Add(time.Hour)
		if err := os.Chtimes(big, mt, mt); err != nil {
			t.Fatal(err)
		}
	}}
	if err := s.Fetch(context.Background(), &c, 0, w); !errors.Is(err, source.ErrVerify) {
		t.Errorf("modified during the copy: %v", err)
	}

	// The writer's error comes back as such.
	boom := errors.New("disk full")
	if err := s.Fetch(context.Background(), &c, 0, failWriter{boom}); !errors.Is(err, boom) || errors.Is(err, source.ErrVerify) {
		t.Errorf("writer error: %v", err)
	}

	// Cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	w = &hookWriter{fn: cancel}
	if err := s.Fetch(ctx, &c, 0, w); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List cancelled: %v", err)
	}

	// Hrefs that are not clean relative paths are refused.
	for _, href := range []string{"../x.rpm", "/etc/passwd", "a/../../x.rpm", ""} {
		c := source.Candidate{Href: href, Size: -1}
		if err := s.Fetch(context.Background(), &c, 0, io.Discard); err == nil {
			t.Errorf("href %q accepted", href)
		}
	}
}

// hookWriter calls fn once, after its first write.
type hookWriter struct {
	fn   func()
	done bool
}

func (w *hookWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.done = true
		w.fn()
	}
	return len(p), nil
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestOddNames(t *testing.T) {
	root := t.TempDir()
	good, err := rpmtest.Build(rpmtest.Demo()[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"100%.rpm",    // '%' cannot be in an href
		"what?.rpm",   // nor '?'
		"sp ace.rpm",  // a space can
		"UPPER.RPM",   // not "*.rpm"
		".hidden.rpm", // hidden files are files
	} {
		write(t, filepath.Join(root, name), string(good))
	}
	// Files named *.rpm that are not packages, or not whole ones.
	write(t, filepath.Join(root, "text.rpm"), "not a package")
	write(t, filepath.Join(root, "empty.rpm"), "")
	write(t, filepath.Join(root, "cut.rpm"), string(rpmtest.Truncated(good, 200)))
	log, hook := logtest.NewNullLogger()
	s, err := New(Config{Path: root}, log)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hrefs(list(t, s)), []string{".hidden.rpm", "sp ace.rpm"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	var warned []string
	for _, e := range hook.AllEntries() {
		warned = append(warned, e.Data["pkg"].(string))
	}
	sort.Strings(warned)
	if want := []string{"100%.rpm", "cut.rpm", "empty.rpm", "text.rpm", "what?.rpm"}; !reflect.DeepEqual(warned, want) {
		t.Errorf("warned about %q, want %q", warned, want)
	}
}

// A header is read once while the file stays the same, and again when
// it changes.
func TestHeaderCache(t *testing.T) {
	root := t.TempDir()
	spec := rpmtest.Demo()[0]
	spec.FileName = "p.rpm"
	path, err := rpmtest.WriteFile(root, spec)
	if err != nil {
		t.Fatal(err)
	}
	s := newSource(t, root, false)
	first := list(t, s)[0]

	// Another package of exactly the same size, written in place (same
	// inode) with the old modification time: the cache cannot tell, by
	// design, and the old header is returned.
	other := spec
	other.Release = "2" // same length as "1"
	b, err := rpmtest.Build(other)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != first.Size {
		t.Skipf("the rebuilt package has %d bytes, not %d", len(b), first.Size)
	}
	fi, _ := os.Stat(path)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if c := list(t, s)[0]; c.Release != "1" {
		t.Errorf("header re-read although size, mtime and inode are unchanged: release %s", c.Release)
	}
	// A new modification time: read again.
	mt := fi.ModTime().Add(time.Second)
	if err := os.Chtimes(path, mt, mt); err != nil {
		t.Fatal(err)
	}
	if c := list(t, s)[0]; c.Release != "2" {
		t.Errorf("changed file: release %s, want 2", c.Release)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}, nil); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := New(Config{Path: filepath.Join(t.TempDir(), "missing")}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	write(t, f, "x")
	if _, err := New(Config{Path: f}, nil); err == nil {
		t.Error("a file accepted as the directory")
	}

	// An unreadable subdirectory fails the walk rather than hiding its
	// packages.
	if os.Geteuid() == 0 {
		t.Log("running as root: permissions are not enforced, skipping the unreadable-directory case")
		return
	}
	root, _ := tree(t)
	sub := filepath.Join(root, "noarch")
	if err := os.Chmod(sub, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(sub, 0o755)
	if _, err := newSource(t, root, false).List(context.Background()); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("unreadable directory: %v", err)
	}
}
