package createrepo

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// TestCompatibilityCases runs the real createrepo_c and our createrepo on
// the catalogue of edge-case packages and compares every field of every
// package, both sides read back through the same readers. The expected
// values are createrepo_c's, produced at test time.
func TestCompatibilityCases(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Cases())
	compareWithCreaterepoC(t, in, nil)
}

func TestCompatibilityDemo(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo())
	compareWithCreaterepoC(t, in, nil)
}

// TestCompatibilityOptions covers the options that change package
// entries: checksum type, changelog limit, location prefix and base URL.
func TestCompatibilityOptions(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Cases())
	for _, tc := range []struct {
		name string
		args []string
		set  func(*Options)
	}{
		{"sha512", []string{"--checksum", "sha512"}, func(o *Options) { o.ChecksumType = "sha512" }},
		{"sha1", []string{"--checksum", "sha1"}, func(o *Options) { o.ChecksumType = "sha1" }},
		{"changelog-limit-3", []string{"--changelog-limit", "3"}, func(o *Options) { o.ChangelogLimit = 3 }},
		{"changelog-limit-0", []string{"--changelog-limit", "0"}, func(o *Options) { o.ChangelogLimit = 0 }},
		{"location-prefix", []string{"--location-prefix", "pool/x/"}, func(o *Options) { o.LocationPrefix = "pool/x/" }},
		{"baseurl-path", []string{"--baseurl", "/srv/mirror"}, func(o *Options) { o.BaseURL = "/srv/mirror" }},
		{"baseurl-http", []string{"--baseurl", "https://example.org/repo/"}, func(o *Options) { o.BaseURL = "https://example.org/repo/" }},
		{"excludes", []string{"-x", "*-devel*", "-x", "sub/*"}, func(o *Options) { o.Excludes = []string{"*-devel*", "sub/*"} }},
		{"xz", []string{"--general-compress-type", "xz"}, func(o *Options) { o.Compression = compress.Xz }},
		{"bz2", []string{"--general-compress-type", "bz2"}, func(o *Options) { o.Compression = compress.Bzip2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compareWithCreaterepoCOpts(t, in, tc.args, tc.set)
		})
	}
}

// TestCompatibilityCorpus compares on real third-party packages from the
// shared corpus (skipped when the corpus is absent).
func TestCompatibilityCorpus(t *testing.T) {
	corpus := testenv.RequireCorpus(t)
	for _, dir := range []string{
		"createrepo_c-testdata/tests/testdata/packages",
		"go-rpmutils-testdata/testdata",
		"azurelinux-repo",
	} {
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			in := filepath.Join(corpus, dir)
			if _, err := os.Stat(in); err != nil {
				t.Skipf("%s not in this corpus", dir)
			}
			compareWithCreaterepoC(t, in, nil)
		})
	}
}

func compareWithCreaterepoC(t *testing.T, in string, args []string) {
	t.Helper()
	compareWithCreaterepoCOpts(t, in, args, nil)
}

func compareWithCreaterepoCOpts(t *testing.T, in string, args []string, set func(*Options)) {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref")
	runCreaterepoC(t, in, ref, args...)
	ours := filepath.Join(t.TempDir(), "ours")
	o := DefaultOptions(in)
	o.OutputDir = ours
	o.Workers = 3
	if set != nil {
		set(&o)
	}
	res, err := run(t, o)
	if err != nil && res == nil {
		t.Fatal(err)
	}
	// Packages createrepo_c rejects (control characters) we reject too;
	// anything else failing on our side only shows up as missing below.
	for _, f := range res.Failed {
		t.Logf("left out: %v", f)
	}
	compareRepos(t, loadRepo(t, ours), loadRepo(t, ref))
}

// TestCompatibilityRepomd compares repomd.xml: revision, tags, record
// types and timestamps. For the demo set, whose text is ASCII, our
// uncompressed XML is byte-for-byte createrepo_c's, so the open-checksums
// and open-sizes match too.
func TestCompatibilityRepomd(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo())
	args := []string{"--revision", "1234567890", "--set-timestamp-to-revision",
		"--distro", "cpe:/o:example:demo:9,Demo Linux 9", "--distro", "Plain", "--content", "binary-x86_64",
		"--content", "demo", "--repo", "demo-repo"}
	ref := filepath.Join(t.TempDir(), "ref")
	runCreaterepoC(t, in, ref, args...)
	ours := filepath.Join(t.TempDir(), "ours")
	o := DefaultOptions(in)
	o.OutputDir = ours
	o.Revision = "1234567890"
	o.SetTimestampToRevision = true
	o.DistroTags = []DistroTag{{CPEID: "cpe:/o:example:demo:9", Name: "Demo Linux 9"}, {Name: "Plain"}}
	o.ContentTags = []string{"binary-x86_64", "demo"}
	o.RepoTags = []string{"demo-repo"}
	mustRun(t, o)
	om, rm := loadRepo(t, ours).md, loadRepo(t, ref).md
	if om.Revision != rm.Revision {
		t.Errorf("revision %q, createrepo_c %q", om.Revision, rm.Revision)
	}
	if !tagsEqual(om.Tags, rm.Tags) {
		t.Errorf("tags %+v, createrepo_c %+v", om.Tags, rm.Tags)
	}
	if len(om.Records) != len(rm.Records) {
		t.Fatalf("%d records, createrepo_c %d", len(om.Records), len(rm.Records))
	}
	for i := range rm.Records {
		o, r := om.Records[i], rm.Records[i]
		if o.Type != r.Type || o.Timestamp != r.Timestamp || o.OpenChecksum != r.OpenChecksum || o.OpenSize != r.OpenSize {
			t.Errorf("record %d: ours %+v\n createrepo_c %+v", i, o, r)
		}
		for _, dir := range []string{ours, ref} {
			fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(map[string]string{ours: o.Href, ref: r.Href}[dir])))
			if err != nil || fi.ModTime().Unix() != 1234567890 {
				t.Errorf("%s %s: mtime %v, err %v", dir, r.Type, fi.ModTime(), err)
			}
		}
	}
}
