package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/fs"
)

// signRepo writes repodata/repomd.xml.asc (a detached signature by the
// test key) and repodata/repomd.xml.key (its public key).
func signRepo(t testing.TB, dir string) {
	t.Helper()
	md := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
	sig, err := rpmtest.TestKey().Sign(md)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := rpmtest.TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml.asc"), sig, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml.key"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sourceKeys returns every key of the publication in dir, with the
// Cache-Control it must be served with.
func sourceKeys(t testing.TB, dir string, pkgCC string) map[string]string {
	t.Helper()
	s, err := readSource(context.Background(), dir, pkgCC, newState(), nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range s.objects {
		m[o.key] = o.cacheControl
	}
	return m
}

// checkPublished checks that the target serves every object of the
// publication in dir with the local file's bytes and, over HTTP, the
// right headers.
func checkPublished(t *testing.T, tg testTarget, dir string, pkgCC string) {
	t.Helper()
	ctx := context.Background()
	want := sourceKeys(t, dir, pkgCC)
	sawImmutable := false
	for _, key := range sortedKeys(want) {
		body, hdr, err := tg.get(ctx, key)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if local := readFile(t, filepath.Join(dir, filepath.FromSlash(key))); !bytes.Equal(body, local) {
			t.Errorf("%s: served %d bytes that differ from the source's %d", key, len(body), len(local))
		}
		if hdr == nil {
			continue
		}
		cc := want[key]
		switch {
		case key == "repodata/repomd.xml", strings.HasSuffix(key, ".asc"), strings.HasSuffix(key, ".key"):
			if cc != CacheNoCache {
				t.Errorf("%s: planned Cache-Control %q", key, cc)
			}
		case strings.HasPrefix(key, "repodata/"):
			if cc != CacheImmutable {
				t.Errorf("%s: planned Cache-Control %q", key, cc)
			}
			sawImmutable = true
		default:
			if cc != pkgCC {
				t.Errorf("%s: planned Cache-Control %q", key, cc)
			}
		}
		if got := hdr.Get("Cache-Control"); got != cc {
			t.Errorf("%s: Cache-Control %q, want %q", key, got, cc)
		}
		if got, want := hdr.Get("Content-Type"), ContentType(key); got != want {
			t.Errorf("%s: Content-Type %q, want %q", key, got, want)
		}
		if ce := hdr.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s: Content-Encoding %q", key, ce)
		}
	}
	if tg.url != "" && !sawImmutable {
		t.Error("no checksum-named metadata file checked")
	}
}

func TestPublishFS(t *testing.T) {
	testPublishCycle(t, fsTarget(t))
}

func TestPublishMinIO(t *testing.T) {
	testPublishCycle(t, s3Target(t, minioServer(t)))
}

// testPublishCycle publishes a repository, republishes it unchanged,
// changes it (a package added, one replaced by a newer version, one
// removed, the signature renewed) and publishes it through the grace
// period.
func testPublishCycle(t *testing.T, tg testTarget) {
	ctx := context.Background()
	src := t.TempDir()
	specs := append(rpmtest.Demo(), pkg("alpha", "1.0", "1", 3000), pkg("bravo", "1.0", "1", 5000), pkg("charlie", "1.0", "1", 7000))
	writeRepo(t, src, specs)
	signRepo(t, src)

	// Things that are not the publication's: a file at the root and a
	// nested repository must survive; a stray package next to ours is
	// an orphan.
	foreign := map[string][]byte{
		"RPM-GPG-KEY-other":                     []byte("key"),
		"nested/repodata/repomd.xml":            []byte("<repomd/>"),
		"nested/Packages/n/n-1-1.noarch.rpm":    []byte("nested package"),
		"Packages/a/stray-1.0-1.noarch.rpm":     []byte("a package no publication knows"),
		"repodata/0000-stale-primary.xml.gz":    []byte("left by another tool"),
		"Packages/unknown-dir/x-1-1.noarch.rpm": []byte("not a directory of ours"),
	}
	for k, v := range foreign {
		if err := putBytes(ctx, tg.b, k, v, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	clk := &clock{t: time.Date(2026, time.January, 10, 8, 0, 0, 0, time.UTC)}
	opt := DefaultOptions()
	opt.Now = clk.now
	opt.PackageCacheControl = "public, max-age=600"

	// First publish: everything is uploaded.
	res := mustPublish(t, src, tg, opt)
	if res.Uploaded != res.Objects || res.Skipped != 0 || !res.RepomdChanged || !res.StateWritten {
		t.Errorf("first publish: %+v", res)
	}
	if res.Packages != len(specs) || res.Objects != len(specs)+3+3 {
		t.Errorf("first publish: %d packages, %d objects; want %d and %d", res.Packages, res.Objects, len(specs), len(specs)+6)
	}
	if res.Orphans != 2 {
		t.Errorf("orphans: %d, want 2 (the stray package and the stale metadata file)", res.Orphans)
	}
	checkPublished(t, tg, src, opt.PackageCacheControl)
	st, err := ReadState(ctx, tg.b)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Current) != res.Objects || len(st.Retired) != 2 || st.Retired["Packages/a/stray-1.0-1.noarch.rpm"].Reason != ReasonOrphan {
		t.Errorf("state: %d current, retired %v", len(st.Current), st.Retired)
	}
	if _, err := tg.b.Stat(ctx, LockKey); !errorsIsNotExist(err) {
		t.Errorf("lock not released: %v", err)
	}

	// Unchanged: nothing uploaded, nothing rewritten.
	before := tg.keys(t)
	repomd1, _, err := tg.get(ctx, "repodata/repomd.xml")
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Hour)
	res = mustPublish(t, src, tg, opt)
	if res.Uploaded != 0 || res.BytesUploaded != 0 || res.RepomdChanged || res.StateWritten || res.Skipped != res.Objects || res.Deleted != 0 {
		t.Errorf("unchanged publish: %+v", res)
	}
	repomd2, _, err := tg.get(ctx, "repodata/repomd.xml")
	if err != nil || !bytes.Equal(repomd1, repomd2) {
		t.Errorf("repomd.xml changed: %v", err)
	}
	after := tg.keys(t)
	for _, k := range sortedKeys(before) {
		if k == LockKey {
			continue
		}
		if a, ok := after[k]; !ok || !a.ModTime.Equal(before[k].ModTime) || a.Size != before[k].Size {
			t.Errorf("%s rewritten or removed by an unchanged publish: %+v -> %+v", k, before[k], a)
		}
	}

	// Changed: delta added, bravo 1.0 replaced by 2.0, charlie removed.
	oldKeys := sourceKeys(t, src, opt.PackageCacheControl)
	specs2 := append(rpmtest.Demo(), pkg("alpha", "1.0", "1", 3000), pkg("bravo", "2.0", "1", 5100), pkg("delta", "1.0", "1", 4000))
	writeRepo(t, src, specs2)
	signRepo(t, src)
	newKeys := sourceKeys(t, src, opt.PackageCacheControl)
	var added, gone []string
	for k := range newKeys {
		if _, ok := oldKeys[k]; !ok {
			added = append(added, k)
		}
	}
	for k := range oldKeys {
		if _, ok := newKeys[k]; !ok {
			gone = append(gone, k)
		}
	}
	slices.Sort(added)
	slices.Sort(gone)
	// 2 packages and 3 metadata files new; the signature and repomd.xml
	// change in place.
	if len(added) != 5 || len(gone) != 5 {
		t.Fatalf("test setup: added %v, gone %v", added, gone)
	}
	clk.advance(time.Hour)
	changedAt := clk.t
	res = mustPublish(t, src, tg, opt)
	if res.Uploaded != len(added)+2 || !res.RepomdChanged || res.Superseded != len(gone) || res.Deleted != 0 {
		t.Errorf("changed publish: %+v; added %v", res, added)
	}
	checkPublished(t, tg, src, opt.PackageCacheControl)
	for _, k := range gone {
		if _, err := tg.b.Stat(ctx, k); err != nil {
			t.Errorf("superseded %s deleted at once: %v", k, err)
		}
	}

	// Within the grace period: kept.
	clk.t = changedAt.Add(opt.GracePeriod - time.Minute)
	res = mustPublish(t, src, tg, opt)
	if res.Uploaded != 0 || res.Deleted != 2 || res.Retained != len(gone) {
		// The two orphans of the first publish are past their grace.
		t.Errorf("publish within the grace period: %+v", res)
	}
	for _, k := range gone {
		if _, err := tg.b.Stat(ctx, k); err != nil {
			t.Errorf("superseded %s deleted within the grace period: %v", k, err)
		}
	}
	for _, k := range []string{"Packages/a/stray-1.0-1.noarch.rpm", "repodata/0000-stale-primary.xml.gz"} {
		if _, err := tg.b.Stat(ctx, k); !errorsIsNotExist(err) {
			t.Errorf("orphan %s not deleted after its grace period: %v", k, err)
		}
	}

	// After it: deleted, and the state forgets them.
	clk.t = changedAt.Add(opt.GracePeriod)
	res = mustPublish(t, src, tg, opt)
	if res.Uploaded != 0 || res.Deleted != len(gone) || res.Retained != 0 || res.RepomdChanged || !res.StateWritten {
		t.Errorf("publish after the grace period: %+v", res)
	}
	for _, k := range gone {
		if _, err := tg.b.Stat(ctx, k); !errorsIsNotExist(err) {
			t.Errorf("superseded %s not deleted after the grace period: %v", k, err)
		}
	}
	checkPublished(t, tg, src, opt.PackageCacheControl)
	st, err = ReadState(ctx, tg.b)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Retired) != 0 || len(st.Current) != len(newKeys) {
		t.Errorf("final state: %d current (want %d), retired %v", len(st.Current), len(newKeys), st.Retired)
	}
	for _, k := range []string{"RPM-GPG-KEY-other", "nested/repodata/repomd.xml", "nested/Packages/n/n-1-1.noarch.rpm", "Packages/unknown-dir/x-1-1.noarch.rpm"} {
		if _, err := tg.b.Stat(ctx, k); err != nil {
			t.Errorf("foreign object %s touched: %v", k, err)
		}
	}

	// A changed package Cache-Control re-uploads the packages only, on a
	// backend that keeps headers (a Stat tells; fs keeps none).
	opt.PackageCacheControl = "public, max-age=60"
	res = mustPublish(t, src, tg, opt)
	wantUp := res.Packages
	if tg.url == "" {
		wantUp = 0
	}
	if res.Uploaded != wantUp || res.RepomdChanged || !res.StateWritten {
		t.Errorf("publish with a new package Cache-Control: %+v", res)
	}
	checkPublished(t, tg, src, opt.PackageCacheControl)
}

func errorsIsNotExist(err error) bool { return errors.Is(err, storage.ErrNotExist) }

// The signature of a repomd.xml the source no longer signs is removed
// with the switch; the key is kept for the grace period.
func TestUnsignedRepublish(t *testing.T) {
	ctx := context.Background()
	tg := fsTarget(t)
	src := t.TempDir()
	writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 100)})
	signRepo(t, src)
	mustPublish(t, src, tg, DefaultOptions())
	os.Remove(filepath.Join(src, "repodata", "repomd.xml.asc"))
	os.Remove(filepath.Join(src, "repodata", "repomd.xml.key"))
	res := mustPublish(t, src, tg, DefaultOptions())
	if res.Deleted != 1 || res.Retained != 1 {
		t.Errorf("%+v", res)
	}
	if _, err := tg.b.Stat(ctx, "repodata/repomd.xml.asc"); !errorsIsNotExist(err) {
		t.Errorf("stale signature kept: %v", err)
	}
	if _, err := tg.b.Stat(ctx, "repodata/repomd.xml.key"); err != nil {
		t.Errorf("key deleted at once: %v", err)
	}
}

// A crash after uploads but before the switch leaves objects the state
// does not know; the next publish finds them by Stat and does not upload
// them again. A crash between the switch and the state write is repaired
// the same way.
func TestConvergesAfterCrash(t *testing.T) {
	for _, name := range []string{"fs", "minio"} {
		t.Run(name, func(t *testing.T) {
			var tg testTarget
			if name == "fs" {
				tg = fsTarget(t)
			} else {
				tg = s3Target(t, minioServer(t))
			}
			ctx := context.Background()
			src := t.TempDir()
			writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 2000), pkg("bravo", "1", "1", 2000)})
			mustPublish(t, src, tg, DefaultOptions())
			old := readFile(t, filepath.Join(src, "repodata", "repomd.xml"))

			writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 2000), pkg("bravo", "2", "1", 2000), pkg("charlie", "1", "1", 2000)})
			// The crashed run: every object but repomd.xml uploaded, no
			// state.
			s, err := readSource(ctx, src, DefaultPackageCacheControl, newState(), nil, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			p := &publisher{src: s, dst: tg.b, opt: DefaultOptions(), log: testLogger(t)}
			var batch []*object
			for _, o := range s.objects {
				if o.kind != kindRepomd {
					batch = append(batch, o)
				}
			}
			if err := p.uploadAll(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := tg.get(ctx, "repodata/repomd.xml"); !bytes.Equal(got, old) {
				t.Fatal("the crashed run switched")
			}
			res := mustPublish(t, src, tg, DefaultOptions())
			if res.Uploaded != 1 || !res.RepomdChanged || res.Orphans != 0 {
				t.Errorf("publish after a crash before the switch: %+v", res)
			}
			checkPublished(t, tg, src, DefaultPackageCacheControl)

			// Crash after the switch: the state is one publication behind.
			stale, err := ReadState(ctx, tg.b)
			if err != nil {
				t.Fatal(err)
			}
			writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 2000), pkg("delta", "1", "1", 2000)})
			mustPublish(t, src, tg, DefaultOptions())
			if err := writeState(ctx, tg.b, stale); err != nil {
				t.Fatal(err)
			}
			res = mustPublish(t, src, tg, DefaultOptions())
			if res.Uploaded != 0 || res.RepomdChanged || !res.StateWritten {
				t.Errorf("publish after a crash after the switch: %+v", res)
			}
			st, err := ReadState(ctx, tg.b)
			if err != nil {
				t.Fatal(err)
			}
			for k, r := range st.Retired {
				if r.Since.Before(time.Now().Add(-time.Minute)) {
					t.Errorf("%s retired since %s: an unknown object must get a full grace period", k, r.Since)
				}
			}
			checkPublished(t, tg, src, DefaultPackageCacheControl)
		})
	}
}

// A dry run reports and writes nothing.
func TestDryRun(t *testing.T) {
	tg := fsTarget(t)
	src := t.TempDir()
	writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 1000)})
	opt := DefaultOptions()
	opt.DryRun = true
	res := mustPublish(t, src, tg, opt)
	if !res.DryRun || res.Uploaded != res.Objects || !res.RepomdChanged || res.StateWritten {
		t.Errorf("%+v", res)
	}
	if keys := tg.keys(t); len(keys) != 0 {
		t.Errorf("dry run wrote %v", sortedKeys(keys))
	}
}

// Packages whose checksum is not a SHA-256 are hashed locally; their
// SHA-256 is what is stored and remembered.
func TestSHA1Repository(t *testing.T) {
	tg := fsTarget(t)
	src := t.TempDir()
	writeRepoWith(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 1000), pkg("bravo", "1", "1", 1000)}, func(o *createrepo.Options) {
		o.ChecksumType = "sha1"
	})
	res := mustPublish(t, src, tg, DefaultOptions())
	if res.Uploaded != res.Objects {
		t.Errorf("%+v", res)
	}
	st, err := ReadState(context.Background(), tg.b)
	if err != nil {
		t.Fatal(err)
	}
	for k, e := range st.Current {
		if local := readFile(t, filepath.Join(src, filepath.FromSlash(k))); sha256Hex(local) != e.SHA256 {
			t.Errorf("%s: state SHA-256 %s is not the file's", k, e.SHA256)
		}
	}
	res = mustPublish(t, src, tg, DefaultOptions())
	if res.Uploaded != 0 {
		t.Errorf("republish: %+v", res)
	}
}

// ContentType covers every suffix of a repository.
func TestContentType(t *testing.T) {
	for key, want := range map[string]string{
		"repodata/repomd.xml":                  "application/xml",
		"repodata/abc-primary.xml.gz":          "application/gzip",
		"repodata/abc-primary.xml.zst":         "application/zstd",
		"repodata/abc-primary.xml.xz":          "application/x-xz",
		"repodata/abc-primary.sqlite.bz2":      "application/x-bzip2",
		"Packages/a/a-1-1.noarch.rpm":          "application/x-rpm",
		"repodata/repomd.xml.asc":              "application/pgp-signature",
		"repodata/repomd.xml.key":              "application/pgp-keys",
		"repodata/abc-primary.xml.zck":         "application/octet-stream",
		"repodata/abc-comps.xml":               "application/xml",
		"Packages/a/a-1-1.noarch.rpm.sig.what": "application/octet-stream",
	} {
		if got := ContentType(key); got != want {
			t.Errorf("ContentType(%s) = %s, want %s", key, got, want)
		}
	}
	if !checksumNamed("repodata/abcd-primary.xml.gz", "abcd") || checksumNamed("repodata/primary.xml.gz", "abcd") {
		t.Error("checksumNamed")
	}
}

// With --simple-md-filenames the metadata files change in place: they are
// served no-cache.
func TestSimpleMDFilenames(t *testing.T) {
	src := t.TempDir()
	writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 100)})
	md, err := repodata.ParseRepomd(bytes.NewReader(readFile(t, filepath.Join(src, "repodata", "repomd.xml"))))
	if err != nil {
		t.Fatal(err)
	}
	// Rename the files as createrepo --simple-md-filenames names them.
	for i := range md.Records {
		r := &md.Records[i]
		simple := "repodata/" + strings.TrimPrefix(filepath.Base(r.Href), r.Checksum.Value+"-")
		if err := os.Rename(filepath.Join(src, r.Href), filepath.Join(src, simple)); err != nil {
			t.Fatal(err)
		}
		r.Href = simple
	}
	var buf bytes.Buffer
	if err := repodata.WriteRepomd(&buf, md); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(src, "repodata", "repomd.xml"), buf.Bytes(), 0o644)
	for k, cc := range sourceKeys(t, src, DefaultPackageCacheControl) {
		if strings.HasPrefix(k, "repodata/") && cc != CacheNoCache {
			t.Errorf("%s: Cache-Control %q, want no-cache", k, cc)
		}
	}
	tg := fsTarget(t)
	mustPublish(t, src, tg, DefaultOptions())
	checkPublished(t, tg, src, DefaultPackageCacheControl)
}

// The state caches the package list of the published primary: a
// republish of the same primary does not parse it, and sees the same
// publication, local files still checked.
func TestPrimaryCache(t *testing.T) {
	ctx := context.Background()
	tg := fsTarget(t)
	src := t.TempDir()
	specs := []rpmtest.Spec{pkg("alpha", "1", "1", 1000), pkg("bravo", "1", "1", 1000), pkg("charlie", "1", "1", 1000)}
	writeRepo(t, src, specs)
	mustPublish(t, src, tg, DefaultOptions())
	st, err := ReadState(ctx, tg.b)
	if err != nil {
		t.Fatal(err)
	}
	if st.Primary == nil || len(st.Primary.Packages) != len(specs) || !strings.HasPrefix(st.Primary.Checksum, "sha256:") {
		t.Fatalf("primary cache: %+v", st.Primary)
	}
	describe := func(s *source) []string {
		var d []string
		for _, o := range s.objects {
			d = append(d, fmt.Sprintf("%s %s %d %s %s", o.kind, o.key, o.size, o.sha256, o.cacheControl))
		}
		return d
	}
	parsed, err := readSource(ctx, src, DefaultPackageCacheControl, newState(), nil, testLogger(t))
	if err != nil || parsed.cached {
		t.Fatalf("parsed: cached %v, %v", parsed != nil && parsed.cached, err)
	}
	cached, err := readSource(ctx, src, DefaultPackageCacheControl, st, nil, testLogger(t))
	if err != nil || !cached.cached {
		t.Fatalf("cached: %v", err)
	}
	if a, b := describe(parsed), describe(cached); !slices.Equal(a, b) {
		t.Errorf("the cache gives another publication:\n%v\n%v", a, b)
	}

	// Another primary, or a cache that does not add up: parsed.
	for name, edit := range map[string]func(s *State){
		"other checksum": func(s *State) { s.Primary.Checksum = "sha256:" + strings.Repeat("0", 64) },
		"unknown key":    func(s *State) { s.Primary.Packages[0] = "Packages/z/zz.rpm" },
		"duplicate key":  func(s *State) { s.Primary.Packages[1] = s.Primary.Packages[0] },
		"unsafe key": func(s *State) {
			s.Primary.Packages[0] = "../x.rpm"
			s.Current["../x.rpm"] = Entry{Size: 1, SHA256: "ab"}
		},
	} {
		forged, _ := ReadState(ctx, tg.b)
		edit(forged)
		s, err := readSource(ctx, src, DefaultPackageCacheControl, forged, nil, testLogger(t))
		if err != nil || s.cached {
			t.Errorf("%s: cached %v, %v", name, s != nil && s.cached, err)
		}
	}

	// Missing local packages are found through the cache too.
	os.Remove(filepath.Join(src, filepath.FromSlash(specs[1].RelPath())))
	if _, err := readSource(ctx, src, DefaultPackageCacheControl, st, nil, testLogger(t)); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), specs[1].RelPath()) {
		t.Errorf("missing package with the cache: %v", err)
	}
}

// With Options.Link, a directory target on the same file system gets
// the source's files as hard links; without it, copies; a target on
// another file system falls back to copying. Either way the publication
// verifies.
func TestLinkedPublish(t *testing.T) {
	src := t.TempDir()
	writeRepo(t, src, []rpmtest.Spec{pkg("alpha", "1", "1", 100), pkg("beta", "2", "1", 300)})
	shm, err := os.MkdirTemp("/dev/shm", "rpmirror-publish-")
	if err == nil {
		defer os.RemoveAll(shm)
	}
	for _, tc := range []struct {
		name       string
		dir        string
		link, want bool
	}{
		{"link", t.TempDir(), true, true},
		{"copy", t.TempDir(), false, false},
		{"another file system", shm, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dir == "" {
				t.Skip("no /dev/shm")
			}
			b, err := fs.New(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			opt := DefaultOptions()
			opt.Link = tc.link
			tg := testTarget{b: b, dir: tc.dir}
			res := mustPublish(t, src, tg, opt)
			if tc.want && res.Linked != res.Uploaded-1 { // all but repomd.xml
				t.Errorf("linked %d of %d uploads", res.Linked, res.Uploaded)
			}
			if !tc.want && res.Linked != 0 {
				t.Errorf("linked %d, want 0", res.Linked)
			}
			checkPublished(t, tg, src, DefaultPackageCacheControl)
			n := 0
			filepath.WalkDir(src, func(p string, d iofs.DirEntry, err error) error {
				if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rpm") {
					return err
				}
				rel, _ := filepath.Rel(src, p)
				a, _ := os.Stat(p)
				o, err := os.Stat(filepath.Join(tc.dir, rel))
				if err != nil {
					t.Fatal(err)
				}
				if os.SameFile(a, o) != tc.want {
					t.Errorf("%s: hard link %v, want %v", rel, os.SameFile(a, o), tc.want)
				}
				n++
				return nil
			})
			if n != 2 {
				t.Errorf("%d packages in the source", n)
			}
		})
	}
}

// A KnownPrimary for the source's primary gives the same publication as
// parsing it; one for another primary is ignored; one naming a package
// that is not there fails as the parse would.
func TestKnownPrimary(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	specs := []rpmtest.Spec{pkg("alpha", "1", "1", 100), pkg("beta", "2", "1", 300)}
	writeRepo(t, src, specs)
	parsed, err := readSource(ctx, src, DefaultPackageCacheControl, newState(), nil, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	// The list as the syncer would give it, from the primary's packages
	// (read independently of readSource).
	known := &KnownPrimary{Checksum: parsed.repomd.Record("primary").Checksum}
	md := readFile(t, filepath.Join(src, "repodata", "repomd.xml"))
	rec, _ := repodata.ParseRepomd(bytes.NewReader(md))
	f, _ := os.Open(filepath.Join(src, filepath.FromSlash(rec.Record("primary").Href)))
	defer f.Close()
	zr, _ := compress.NewReader(f, compress.FromFilename(rec.Record("primary").Href), compress.ReaderOptions{})
	repodata.ReadPrimary(zr, func(p *repodata.Package) error {
		known.Packages = append(known.Packages, KnownPackage{Href: p.LocationHref, Size: int64(p.PackageSize), Checksum: p.Checksum})
		return nil
	})
	if len(known.Packages) != len(specs) {
		t.Fatalf("%d packages in primary", len(known.Packages))
	}
	describe := func(s *source) []string {
		var d []string
		for _, o := range s.objects {
			d = append(d, fmt.Sprintf("%s %s %d %s %s %v", o.kind, o.key, o.size, o.sha256, o.cacheControl, o.want))
		}
		return d
	}
	fromKnown, err := readSource(ctx, src, DefaultPackageCacheControl, newState(), known, testLogger(t))
	if err != nil || !fromKnown.cached {
		t.Fatalf("known: cached %v, %v", fromKnown != nil && fromKnown.cached, err)
	}
	if a, b := describe(parsed), describe(fromKnown); !slices.Equal(a, b) {
		t.Errorf("the known list gives another publication:\n%v\n%v", a, b)
	}
	if !slices.Equal(parsed.primary.Packages, fromKnown.primary.Packages) {
		t.Errorf("primary cache %v, want %v", fromKnown.primary.Packages, parsed.primary.Packages)
	}

	other := *known
	other.Checksum.Value = strings.Repeat("0", 64)
	if s, err := readSource(ctx, src, DefaultPackageCacheControl, newState(), &other, testLogger(t)); err != nil || s.cached {
		t.Errorf("known list of another primary: cached %v, %v", s != nil && s.cached, err)
	}

	os.Remove(filepath.Join(src, filepath.FromSlash(known.Packages[1].Href)))
	if _, err := readSource(ctx, src, DefaultPackageCacheControl, newState(), known, testLogger(t)); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), known.Packages[1].Href) {
		t.Errorf("missing package with a known list: %v", err)
	}
}
