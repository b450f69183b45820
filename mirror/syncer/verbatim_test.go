package syncer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/mirror/publish"
	"github.com/rpmirror/rpmirror/mirror/source/repo"
	"github.com/rpmirror/rpmirror/mirror/verify"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
	fsstore "github.com/rpmirror/rpmirror/storage/fs"
)

func TestCheckMode(t *testing.T) {
	mem := newMemSource(t, nil)
	up, err := repo.New(repo.Config{BaseURLs: []string{"http://127.0.0.1:1/"}}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(r *Repo)
		want string // "" for no error
	}{
		{"regenerate by default", func(r *Repo) {}, ""},
		{"regenerate", func(r *Repo) { r.Mode = ModeRegenerate }, ""},
		{"verbatim", func(r *Repo) { r.Mode = ModeVerbatim; r.Sources = []NamedSource{{"up", up}} }, ""},
		{"unknown mode", func(r *Repo) { r.Mode = "copy" }, `unknown mode "copy"`},
		{"verbatim from a source that cannot", func(r *Repo) { r.Mode = ModeVerbatim }, "source mem cannot be mirrored byte for byte"},
		{"verbatim from two sources", func(r *Repo) {
			r.Mode = ModeVerbatim
			r.Sources = []NamedSource{{"up", up}, {"up2", up}}
		}, "exactly one source, not 2"},
		{"verbatim with a filter", func(r *Repo) {
			r.Mode = ModeVerbatim
			r.Sources = []NamedSource{{"up", up}}
			r.Filter.ExcludeSource = true
		}, "cannot filter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRepo(t, mem, t.TempDir())
			tc.edit(r)
			err := checkMode(r)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// vtUpstream is an upstream repository indexed by the real createrepo_c
// and served on 127.0.0.1.
type vtUpstream struct {
	dir string
	url string
}

func vtNewUpstream(t *testing.T) *vtUpstream {
	t.Helper()
	u := &vtUpstream{dir: t.TempDir()}
	srv := httptest.NewServer(http.FileServer(http.Dir(u.dir)))
	t.Cleanup(srv.Close)
	u.url = srv.URL + "/"
	return u
}

// index runs createrepo_c with args (sqlite databases included, as by
// default) and signs repomd.xml with the test key.
func (u *vtUpstream) index(t *testing.T, specs []rpmtest.Spec, args ...string) {
	t.Helper()
	bin := testenv.RequireTool(t, "createrepo_c")
	os.RemoveAll(filepath.Join(u.dir, "Packages"))
	if _, err := rpmtest.WriteAll(filepath.Join(u.dir, "Packages"), specs); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, append(args, u.dir)...).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	md, err := os.ReadFile(filepath.Join(u.dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := rpmtest.TestKey().Sign(md)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(u.dir, "repodata", "repomd.xml.asc"), sig, 0o644); err != nil {
		t.Fatal(err)
	}
	key, err := rpmtest.TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(u.dir, "repodata", "repomd.xml.key"), key, 0o644); err != nil {
		t.Fatal(err)
	}
}

// vtFiles returns every regular file under dir outside .rpmirror/ and
// hidden files: relative path -> sha256.
func vtFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func vtSameFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s differs from the upstream's or is missing", what, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s is not in the upstream", what, k)
		}
	}
}

func vtVerify(t *testing.T, target string) {
	t.Helper()
	be, err := fsstore.New(target)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Verify(context.Background(), be, verify.Options{Checksums: true}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("verify %s: %v", target, p)
	}
}

// TestVerbatimModeSwitch syncs one repository regenerated, then
// verbatim, then regenerated again, then verbatim from an upstream with
// simple file names that changes under the same names. Each time the
// tree and the directory target hold exactly what the mode makes: the
// upstream's files byte for byte in verbatim mode (nothing regenerate
// left, createrepo's lock file aside; repomd.xml.asc and repomd.xml.key
// included, and gone when the upstream drops the key), and no stale
// repomd.xml.asc or key once back in regenerate mode.
func TestVerbatimModeSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs createrepo_c")
	}
	demo := rpmtest.Demo()
	u := vtNewUpstream(t)
	u.index(t, demo[:4])
	src, err := repo.New(repo.Config{BaseURLs: []string{u.url}, TempDir: t.TempDir()}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	cache := t.TempDir()
	s, err := New(Options{CacheDir: cache, Parallelism: 2}, testLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	be, err := fsstore.New(target)
	if err != nil {
		t.Fatal(err)
	}
	po := publish.DefaultOptions()
	po.GracePeriod = 0 // the target then holds only the current publication
	r := &Repo{Name: "up", Sources: []NamedSource{{"up", src}}, Targets: []Target{{"dir", be}},
		Metadata: createrepo.DefaultOptions(""), Publish: po}
	tree := filepath.Join(cache, "repos", "up", "tree")
	ctx := context.Background()
	sync := func(mode Mode, digest string) *Result {
		t.Helper()
		r.Mode, r.ConfigDigest = mode, digest
		res, err := s.Sync(ctx, r)
		if err != nil {
			t.Fatalf("sync %s: %v", mode, err)
		}
		vtVerify(t, target)
		return res
	}

	sync(ModeRegenerate, "regenerate")
	if _, err := os.Stat(filepath.Join(tree, createrepo.LockName)); err != nil {
		t.Fatalf("regenerate mode left no lock file in the tree (%v): the switch below does not test it", err)
	}

	res := sync(ModeVerbatim, "verbatim")
	if res.Fetched != 0 || res.Reused != 4 {
		t.Errorf("verbatim after regenerate: fetched %d, reused %d; want the 4 packages from the pool", res.Fetched, res.Reused)
	}
	vtSameFiles(t, "tree", vtFiles(t, tree), vtFiles(t, u.dir))
	vtSameFiles(t, "target", vtFiles(t, target), vtFiles(t, u.dir))

	sync(ModeRegenerate, "regenerate")
	for _, dir := range []string{tree, target} {
		for _, name := range []string{"repomd.xml.asc", "repomd.xml.key"} {
			if _, err := os.Stat(filepath.Join(dir, "repodata", name)); !os.IsNotExist(err) {
				t.Errorf("%s: the upstream's %s is left next to regenerated metadata (%v)", dir, name, err)
			}
		}
	}
	if got := publishedPackages(t, target); len(got) != 4 {
		t.Errorf("regenerated: %d packages, want 4", len(got))
	}

	// Simple names: a new upstream replaces primary.xml.gz and the others
	// under the names the tree already has.
	u.index(t, demo[:4], "--simple-md-filenames")
	sync(ModeVerbatim, "verbatim")
	vtSameFiles(t, "tree (simple names)", vtFiles(t, tree), vtFiles(t, u.dir))
	u.index(t, demo[2:6], "--simple-md-filenames")
	// The upstream stops publishing its key: the mirror follows.
	if err := os.Remove(filepath.Join(u.dir, "repodata", "repomd.xml.key")); err != nil {
		t.Fatal(err)
	}
	sync(ModeVerbatim, "verbatim")
	vtSameFiles(t, "tree (simple names, changed)", vtFiles(t, tree), vtFiles(t, u.dir))
	vtSameFiles(t, "target (simple names, changed)", vtFiles(t, target), vtFiles(t, u.dir))
	if ents, _ := filepath.Glob(filepath.Join(tree, "repodata", ".*")); len(ents) != 0 {
		t.Errorf("staging files left in the tree: %v", ents)
	}
}
