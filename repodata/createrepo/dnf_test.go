package createrepo

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// TestDNFInstall serves a repository made by our createrepo over HTTP on
// 127.0.0.1 and installs from it with the real dnf into an empty
// installroot, with signature checking on. It proves that dnf
// (librepo+libsolv) accepts our repomd.xml and metadata, finds the
// packages, resolves dependencies across them (versioned, rich, file and
// weak ones) and verifies the downloads against our checksums.
func TestDNFInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("dnf end-to-end test skipped in -short mode")
	}
	dnf := testenv.RequireTool(t, "dnf")
	rpmBin := testenv.RequireTool(t, "rpm")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "dnf --installroot needs root")
	}

	for _, ct := range []string{"gz", "zstd", "xz", "bz2"} {
		t.Run(ct, func(t *testing.T) {
			repo := writeSpecs(t, t.TempDir(), rpmtest.Demo())
			o := DefaultOptions(repo)
			var err error
			if o.Compression, err = compress.ParseType(ct); err != nil {
				t.Fatal(err)
			}
			mustRun(t, o)

			srv := httptest.NewServer(http.FileServer(http.Dir(repo)))
			defer srv.Close()

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
			os.MkdirAll(reposd, 0o755)
			conf := fmt.Sprintf("[rpmirror-demo]\nname=rpmirror demo\nbaseurl=%s/\ngpgcheck=1\ngpgkey=file://%s\nmetadata_expire=0\n", srv.URL, key)
			if err := os.WriteFile(filepath.Join(reposd, "demo.repo"), []byte(conf), 0o644); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(work, "root")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, dnf, "-y", "--installroot", root, "--releasever", "9",
				"--setopt=reposdir="+reposd, "--setopt=cachedir="+filepath.Join(work, "cache"),
				"--disablerepo=*", "--enablerepo=rpmirror-demo", "--setopt=install_weak_deps=True",
				"install", "rpmirror-demo-suite")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("dnf install: %v\n%s", err, out.String())
			}
			q := exec.Command(rpmBin, "--root", root, "-qa", "--qf", "%{NAME}\n")
			b, err := q.Output()
			if err != nil {
				t.Fatalf("rpm -qa: %v", err)
			}
			installed := strings.Fields(string(b))
			// The suite pulls in everything but the Suggests (extras).
			for _, want := range []string{"rpmirror-demo-suite", "rpmirror-demo-hello", "rpmirror-demo-config",
				"rpmirror-demo-libgreet", "rpmirror-demo-libgreet-devel", "rpmirror-demo-clock", "rpmirror-demo-docs"} {
				if !contains(installed, want) {
					t.Errorf("%s not installed; installed: %v\n%s", want, installed, out.String())
				}
			}
			if _, err := os.Stat(filepath.Join(root, "usr/bin/rpmirror-demo-hello")); err != nil {
				t.Errorf("installed file missing: %v", err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
