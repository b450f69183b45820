package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
)

// TestSyncEndToEnd: an upstream repository made by the real createrepo_c
// and served over HTTP on 127.0.0.1 → rpmirror sync (regenerate, with a
// filter and a variable) → published to MinIO → the real dnf installs
// from the bucket over anonymous HTTP, with gpgcheck. A second run asks
// the upstream for repomd.xml only.
func TestSyncEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	createrepoC := testenv.RequireTool(t, "createrepo_c")

	upstream := t.TempDir()
	if _, err := rpmtest.WriteAll(filepath.Join(upstream, "Packages"), rpmtest.Demo()); err != nil {
		t.Fatal(err)
	}
	comps := `<?xml version="1.0" encoding="UTF-8"?>
<comps><group><id>demo</id><name>Demo</name><description>The demo packages</description><default>true</default><uservisible>true</uservisible>
<packagelist><packagereq type="mandatory">rpmirror-demo-suite</packagereq></packagelist></group></comps>
`
	if err := os.WriteFile(filepath.Join(upstream, "comps.xml"), []byte(comps), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(createrepoC, "--no-database", "-g", "comps.xml", upstream).CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, out)
	}
	var requests atomic.Int64
	var paths []string
	fileServer := http.FileServer(http.Dir(upstream))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		paths = append(paths, r.URL.Path)
		fileServer.ServeHTTP(w, r)
	}))
	defer up.Close()

	srv, bucket := publicBucket(t)

	cfg := filepath.Join(t.TempDir(), "rpmirror.toml")
	conf := fmt.Sprintf(`
[sync]
cache-dir = %q

[[repo]]
name = "demo-$basearch"
targets = ["s3://%s/demo/$basearch?endpoint=%s&region=%s&path-style=1&tls=0"]
  [repo.vars]
  basearch = ["x86_64"]
  [[repo.source]]
  type = "repo"
  baseurl = ["%s/"]
  [repo.filter]
  arches = ["$basearch"]
  exclude = ["rpmirror-demo-extras"]
`, filepath.Join(t.TempDir(), "cache"), bucket, srv.Endpoint, srv.Region, up.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := execute(t, "--config", cfg, "--log-format", "json", "sync")
	if code != ExitOK || !strings.Contains(stderr, `"fetched":7`) {
		t.Fatalf("first sync: exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, srv.SecretKey) {
		t.Error("the secret key is in the log")
	}

	before := requests.Load()
	paths = nil
	code, _, stderr = execute(t, "--config", cfg, "--log-format", "json", "sync")
	if code != ExitOK || !strings.Contains(stderr, `"msg":"unchanged"`) {
		t.Fatalf("second sync: exit %d\n%s", code, stderr)
	}
	if n := requests.Load() - before; n != 1 || paths[0] != "/repodata/repomd.xml" {
		t.Errorf("an unchanged upstream cost %d requests: %v", n, paths)
	}

	// The upstream's comps (group and group_gz records) are carried over.
	obj, err := srv.Client().GetObject(context.Background(), bucket, "demo/x86_64/repodata/repomd.xml", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := repodata.ParseRepomd(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"group", "group_gz"} {
		if md.Record(typ) == nil {
			t.Errorf("published repomd.xml has no %s record", typ)
		}
	}
	spec := fmt.Sprintf("s3://%s/demo/x86_64?endpoint=%s&region=%s&path-style=1&tls=0", bucket, srv.Endpoint, srv.Region)
	if code, out, stderr := execute(t, "verify", "--checksums", spec); code != ExitOK {
		t.Errorf("verify: exit %d\n%s\n%s", code, out, stderr)
	}

	// dnf installs from the bucket, over anonymous HTTP.
	pub, err := rpmtest.TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	d := testenv.NewDNFRoot(t, fmt.Sprintf("http://%s/%s/demo/x86_64/", srv.Endpoint, bucket), pub, false)
	out := d.Install("rpmirror-demo-suite")
	installed := strings.Join(d.Installed(), " ")
	if !strings.Contains(installed, "rpmirror-demo-suite-") || !strings.Contains(installed, "rpmirror-demo-libgreet-devel-") {
		t.Errorf("installed: %s\n%s", installed, out)
	}
	if strings.Contains(installed, "rpmirror-demo-extras-") {
		t.Error("the filtered-out package was installed")
	}
}

// verbatimConf is a valid verbatim repository, for TestSyncConfigErrors
// to break.
const verbatimConf = "[[repo]]\nname = \"v\"\nmode = \"verbatim\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"repo\"\n  baseurl = [\"http://x/\"]\n"

func TestSyncConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, conf, want string
	}{
		{"unknown key", "[[repo]]\nname = \"a\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"dir\"\n  pth = \"/x\"\n", `:6: unknown key "repo.source.pth"`},
		{"key of another type", "[[repo]]\nname = \"a\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"repo\"\n  baseurl = [\"http://x/\"]\n  tag = \"t\"\n", "tag not allowed for this type"},
		{"undefined variable", "[[repo]]\nname = \"a-$basearch\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"dir\"\n  path = \"/x\"\n", "variable $basearch has no values"},
		{"same name twice", "[[repo]]\nname = \"a\"\ntargets = [\"/tmp/x\"]\n  [repo.vars]\n  basearch = [\"x86_64\", \"aarch64\"]\n  [[repo.source]]\n  type = \"dir\"\n  path = \"/x/$basearch\"\n", `repository name "a" also made`},
		{"no targets", "[[repo]]\nname = \"a\"\n  [[repo.source]]\n  type = \"dir\"\n  path = \"/x\"\n", "targets is required"},
		{"two repo locations", "[[repo]]\nname = \"a\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"repo\"\n  baseurl = [\"http://x/\"]\n  metalink = \"http://y\"\n", "exactly one of baseurl, mirrorlist, metalink"},
		{"bad date", "[[repo]]\nname = \"a\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"dir\"\n  path = \"/x\"\n  [repo.filter]\n  min-build-time = \"yesterday\"\n", "filter.min-build-time"},
		{"bad type", "[[repo]]\nname = \"a\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"ftp\"\n", "type must be repo, dir or koji"},
		{"unknown mode", "[[repo]]\nname = \"a\"\nmode = \"copy\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"dir\"\n  path = \"/x\"\n", `repo "a": mode must be "regenerate" or "verbatim", not "copy"`},
		{"verbatim with filters", verbatimConf + "  [repo.filter]\n  arches = [\"x86_64\"]\n  exclude-source = true\n", `repo "v": filter.arches not allowed with mode "verbatim"`},
		{"verbatim with two sources", verbatimConf + "  [[repo.source]]\n  type = \"repo\"\n  baseurl = [\"http://y/\"]\n", `repo "v": mode "verbatim" needs exactly one [[repo.source]], not 2`},
		{"verbatim from a directory", "[[repo]]\nname = \"v\"\nmode = \"verbatim\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"dir\"\n  path = \"/x\"\n", `repo "v": mode "verbatim" needs a source of type "repo"`},
		{"verbatim from Koji", "[[repo]]\nname = \"v\"\nmode = \"verbatim\"\ntargets = [\"/tmp/x\"]\n  [[repo.source]]\n  type = \"koji\"\n  hub = \"http://h\"\n  topurl = \"http://t\"\n  tag = \"t\"\n", `repo "v": mode "verbatim" needs a source of type "repo" (an upstream repository whose metadata is copied), not "koji"`},
		{"verbatim with checksum", strings.Replace(verbatimConf, "targets", "checksum = \"sha512\"\ntargets", 1), `repo "v": checksum not allowed with mode "verbatim"`},
		{"verbatim with metadata keys", strings.Replace(verbatimConf, "targets", "compress-type = \"zstd\"\nchangelog-limit = 5\nunique-md-filenames = false\ntargets", 1), `repo "v": unique-md-filenames not allowed with mode "verbatim"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "c.toml")
			os.WriteFile(cfg, []byte(tc.conf), 0o644)
			code, _, stderr := execute(t, "--config", cfg, "sync", "--cache-dir", t.TempDir())
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to contain %q", code, ExitUsage, stderr, tc.want)
			}
		})
	}
}

// The README's main command works offline from a fresh checkout.
func TestSyncDemoConfig(t *testing.T) {
	wd, _ := os.Getwd()
	rootDir := filepath.Join(wd, "..", "..", "..", "..")
	tmp := t.TempDir()
	conf, err := os.ReadFile(filepath.Join(rootDir, "testdata", "demo.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// Same configuration, with the relative paths anchored so the test
	// writes into its own directory.
	s := strings.ReplaceAll(string(conf), `"testdata/demo/packages"`, fmt.Sprintf("%q", filepath.Join(rootDir, "testdata", "demo", "packages")))
	s = strings.ReplaceAll(s, `"./public"`, fmt.Sprintf("%q", filepath.Join(tmp, "public")))
	s = strings.ReplaceAll(s, `".cache/demo"`, fmt.Sprintf("%q", filepath.Join(tmp, "cache")))
	cfg := filepath.Join(tmp, "demo.toml")
	os.WriteFile(cfg, []byte(s), 0o644)
	if code, _, stderr := execute(t, "--config", cfg, "sync"); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if code, out, stderr := execute(t, "verify", "--checksums", filepath.Join(tmp, "public")); code != ExitOK {
		t.Errorf("verify: exit %d\n%s%s", code, out, stderr)
	}
}

// A package that leaves the source leaves the pool at the end of the run
// that drops it (prune-after elapsed, the target keeping no retired
// copies); a dry run only names what would go.
func TestSyncPrunesPool(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	written, err := rpmtest.WriteAll(src, rpmtest.Demo()[:3])
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(tmp, "cache")
	cfg := filepath.Join(tmp, "sync.toml")
	conf := fmt.Sprintf(`[sync]
cache-dir = %q
prune-after = "1ns"
[publish]
grace-period = "0s"
[[repo]]
name = "demo"
targets = [%q]
  [[repo.source]]
  type = "dir"
  path = %q
`, cache, filepath.Join(tmp, "public"), src)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	pooled := func() []string {
		files, _ := filepath.Glob(filepath.Join(cache, "pool", "sha256", "*", "*.rpm"))
		return files
	}
	if code, _, stderr := execute(t, "--config", cfg, "sync"); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := len(pooled()); n != 3 {
		t.Fatalf("%d packages pooled, want 3", n)
	}

	if err := os.Remove(written[0]); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := execute(t, "--config", cfg, "sync")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := len(pooled()); n != 2 {
		t.Fatalf("%d packages pooled after one left the source, want 2\n%s", n, stderr)
	}
	if !strings.Contains(stderr, "pool pruned") {
		t.Errorf("no log line for the prune:\n%s", stderr)
	}

	orphan := filepath.Join(cache, "pool", "sha256", "ff", strings.Repeat("f", 64)+".rpm")
	os.MkdirAll(filepath.Dir(orphan), 0o755)
	if err := os.WriteFile(orphan, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := execute(t, "--config", cfg, "sync", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "pool: remove sha256/ff/"+strings.Repeat("f", 64)+".rpm") {
		t.Errorf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Errorf("the dry run removed the orphan: %v", err)
	}
}

// publicBucket starts MinIO on 127.0.0.1 with a new bucket that anyone
// may read over plain HTTP (as dnf does a CDN origin), and puts the
// server's credentials in the environment, where rpmirror takes them.
func publicBucket(t *testing.T) (*miniotest.Server, string) {
	t.Helper()
	srv := miniotest.Start(t)
	bucket := srv.Bucket(t)
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket)
	if err := srv.Client().SetBucketPolicy(context.Background(), bucket, policy); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	return srv, bucket
}
