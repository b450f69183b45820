package publish

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// TestDNFInstallFromMinIO publishes the demo repository, signed, to a
// MinIO bucket that anyone may read, and installs from it with the real
// dnf straight over HTTP, with package and repository signature checks
// on. Then it publishes a newer revision and installs again, so dnf
// reads a repository that went through a switch.
func TestDNFInstallFromMinIO(t *testing.T) {
	if testing.Short() {
		t.Skip("dnf end-to-end test skipped in -short mode")
	}
	tg := s3Target(t, minioServer(t))

	src := t.TempDir()
	signed := func(s rpmtest.Spec) rpmtest.Spec { s.Signer = rpmtest.TestKey().Sign; return s }
	extra := signed(pkg("zulu", "1.0", "1", 2000))
	writeRepo(t, src, append(rpmtest.Demo(), extra))
	signRepo(t, src)
	mustPublish(t, src, tg, DefaultOptions())

	pub, err := rpmtest.TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	d := testenv.NewDNFRoot(t, tg.url, pub, true)
	install, installed := d.Install, d.Installed
	root := d.Root

	out := install("rpmirror-demo-suite")
	got := installed()
	for _, want := range []string{"rpmirror-demo-suite-1.0", "rpmirror-demo-hello-1.0", "rpmirror-demo-config-1.0",
		"rpmirror-demo-libgreet-1.2.0", "rpmirror-demo-clock-0.9"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s not installed; installed %v\n%s", want, got, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "usr/bin/rpmirror-demo-hello")); err != nil {
		t.Errorf("installed file missing: %v", err)
	}

	// A new revision: zulu 1.0 replaced by 2.0. dnf (metadata_expire=0)
	// reads the new repomd.xml and installs the new package; the old one
	// is still in the bucket for the grace period.
	writeRepo(t, src, append(rpmtest.Demo(), signed(pkg("zulu", "2.0", "1", 2100))))
	signRepo(t, src)
	res := mustPublish(t, src, tg, DefaultOptions())
	if !res.RepomdChanged || res.Superseded == 0 {
		t.Errorf("second publish: %+v", res)
	}
	out = install("zulu")
	if got := installed(); !slices.Contains(got, "zulu-2.0") {
		t.Errorf("zulu-2.0 not installed; installed %v\n%s", got, out)
	}
	if _, _, err := tg.get(context.Background(), extra.RelPath()); err != nil {
		t.Errorf("superseded package gone at once: %v", err)
	}
}
