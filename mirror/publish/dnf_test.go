package publish

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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
	dnf := testenv.RequireTool(t, "dnf")
	rpmBin := testenv.RequireTool(t, "rpm")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "dnf --installroot needs root")
	}
	tg := s3Target(t, minioServer(t))

	src := t.TempDir()
	signed := func(s rpmtest.Spec) rpmtest.Spec { s.Signer = rpmtest.TestKey().Sign; return s }
	extra := signed(pkg("zulu", "1.0", "1", 2000))
	writeRepo(t, src, append(rpmtest.Demo(), extra))
	signRepo(t, src)
	mustPublish(t, src, tg, DefaultOptions())

	work := t.TempDir()
	key := filepath.Join(work, "RPM-GPG-KEY-rpmirror-test")
	pub, err := rpmtest.TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	reposd := filepath.Join(work, "repos.d")
	if err := os.MkdirAll(reposd, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("[rpmirror-published]\nname=rpmirror published\nbaseurl=%s\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=file://%s\nmetadata_expire=0\n", tg.url, key)
	if err := os.WriteFile(filepath.Join(reposd, "published.repo"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(work, "root")
	install := func(pkgs ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := append([]string{"-y", "--installroot", root, "--releasever", "9",
			"--setopt=reposdir=" + reposd, "--setopt=cachedir=" + filepath.Join(work, "cache"),
			"--disablerepo=*", "--enablerepo=rpmirror-published", "--setopt=install_weak_deps=True",
			"install"}, pkgs...)
		cmd := exec.CommandContext(ctx, dnf, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("dnf install %v: %v\n%s", pkgs, err, out.String())
		}
		return out.String()
	}
	installed := func() []string {
		t.Helper()
		b, err := exec.Command(rpmBin, "--root", root, "-qa", "--qf", "%{NAME}-%{VERSION}\n").Output()
		if err != nil {
			t.Fatalf("rpm -qa: %v", err)
		}
		return strings.Fields(string(b))
	}

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
