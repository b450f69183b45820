package createrepo

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
			pub, err := rpmtest.TestKey().PublicKey()
			if err != nil {
				t.Fatal(err)
			}
			d := testenv.NewDNFRoot(t, srv.URL+"/", pub, false)
			out := d.Install("rpmirror-demo-suite")
			installed := strings.Join(d.Installed(), " ")
			// The suite pulls in everything but the Suggests (extras).
			for _, want := range []string{"rpmirror-demo-suite-", "rpmirror-demo-hello-", "rpmirror-demo-config-",
				"rpmirror-demo-libgreet-1", "rpmirror-demo-libgreet-devel-", "rpmirror-demo-clock-", "rpmirror-demo-docs-"} {
				if !strings.Contains(installed, want) {
					t.Errorf("%s not installed; installed: %s\n%s", want, installed, out)
				}
			}
			if strings.Contains(installed, "rpmirror-demo-extras-") {
				t.Error("a merely suggested package was installed")
			}
		})
	}
}
