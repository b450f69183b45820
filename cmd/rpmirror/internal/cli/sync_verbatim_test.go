package cli

// mode = "verbatim" through the whole `rpmirror sync` command: upstreams
// made by the real createrepo_c (with comps, sqlite databases, an
// updateinfo added by modifyrepo_c and a repomd.xml.asc), served over
// HTTP on 127.0.0.1. What is published must be the upstream's files byte
// for byte, compared with the upstream's files on disk, never with
// rpmirror's own output.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
)

const vbComps = `<?xml version="1.0" encoding="UTF-8"?>
<comps><group><id>demo</id><name>Demo</name><description>The demo packages</description><default>true</default><uservisible>true</uservisible>
<packagelist><packagereq type="mandatory">rpmirror-demo-suite</packagereq></packagelist></group></comps>
`

const vbUpdateinfo = `<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="demo@rpmirror.invalid" status="stable" type="bugfix" version="1.0">
    <id>RPMIRROR-2025-1</id>
    <title>Demo fix</title>
    <issued date="2025-02-01 00:00:00"/>
    <description>A demo advisory.</description>
    <pkglist>
      <collection short="demo">
        <name>demo</name>
        <package name="rpmirror-demo-hello" version="1.0" release="1" epoch="0" arch="noarch">
          <filename>rpmirror-demo-hello-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
`

// vbIndex makes dir an upstream repository of the packages under
// dir/Packages as a distribution publishes one: createrepo_c with comps
// and its sqlite databases, an updateinfo record added by modifyrepo_c,
// and repomd.xml signed with the test key into repomd.xml.asc.
func vbIndex(t *testing.T, dir string) {
	t.Helper()
	createrepoC := testenv.RequireTool(t, "createrepo_c")
	modifyrepoC := testenv.RequireTool(t, "modifyrepo_c")
	aux := t.TempDir()
	comps, ui := filepath.Join(aux, "comps.xml"), filepath.Join(aux, "updateinfo.xml")
	os.WriteFile(comps, []byte(vbComps), 0o644)
	os.WriteFile(ui, []byte(vbUpdateinfo), 0o644)
	for _, cmd := range [][]string{
		{createrepoC, "-g", comps, dir},
		{modifyrepoC, "--mdtype=updateinfo", ui, filepath.Join(dir, "repodata")},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	vbSign(t, dir)
}

// vbSign writes repodata/repomd.xml.asc, the test key's detached
// signature of repodata/repomd.xml.
func vbSign(t *testing.T, dir string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := rpmtest.TestKey().Sign(md)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml.asc"), sig, 0o644); err != nil {
		t.Fatal(err)
	}
}

// vbRepomd parses dir's repodata/repomd.xml.
func vbRepomd(t *testing.T, dir string) *repodata.Repomd {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// vbWriteConfig writes a configuration syncing the upstream at url
// verbatim, as repository "up", to targets, with no grace period: a
// target then holds exactly the current publication.
func vbWriteConfig(t *testing.T, cache, url string, targets ...string) string {
	t.Helper()
	var qs []string
	for _, tg := range targets {
		qs = append(qs, fmt.Sprintf("%q", tg))
	}
	conf := fmt.Sprintf(`[sync]
cache-dir = %q

[publish]
grace-period = "0s"

[[repo]]
name = "up"
mode = "verbatim"
targets = [%s]
  [[repo.source]]
  type = "repo"
  baseurl = [%q]
`, cache, strings.Join(qs, ", "), url)
	cfg := filepath.Join(t.TempDir(), "rpmirror.toml")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// vbSameFiles checks that the published files (path -> sha256; the
// target's .rpmirror/ state left out) are exactly the upstream's.
func vbSameFiles(t *testing.T, what string, published, upstream map[string]string) {
	t.Helper()
	n := 0
	for k, v := range upstream {
		switch got, ok := published[k]; {
		case !ok:
			t.Errorf("%s: %s is missing", what, k)
		case got != v:
			t.Errorf("%s: %s differs from the upstream's", what, k)
		default:
			n++
		}
	}
	for k := range published {
		if _, ok := upstream[k]; !ok && !strings.HasPrefix(k, ".rpmirror/") {
			t.Errorf("%s: %s is not in the upstream", what, k)
		}
	}
	t.Logf("%s: %d files byte-identical to the upstream's", what, n)
}

// vbBucketFiles returns every object under prefix/ of bucket: key
// relative to prefix -> sha256.
func vbBucketFiles(t *testing.T, srv *miniotest.Server, bucket, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for obj := range srv.Client().ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		r, err := srv.Client().GetObject(ctx, bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(obj.Key, prefix+"/")] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// TestSyncVerbatimEndToEnd: an upstream made by createrepo_c and
// modifyrepo_c, signed, is synced verbatim to a directory and to MinIO;
// both hold the upstream's files byte for byte, verify, and the real dnf
// installs from the bucket with gpgcheck and repo_gpgcheck (so the
// signature is the upstream's and fits repomd.xml). An unchanged
// upstream costs one request. The upstream then drops a package and
// gains one: the targets converge to it, and neither unchanged packages
// nor record files whose checksum did not change are fetched again.
func TestSyncVerbatimEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	demo := rpmtest.Demo()
	upstream := t.TempDir()
	if _, err := rpmtest.WriteAll(filepath.Join(upstream, "Packages"), demo); err != nil {
		t.Fatal(err)
	}
	vbIndex(t, upstream)
	md1 := vbRepomd(t, upstream)
	var types []string
	for _, r := range md1.Records {
		types = append(types, r.Type)
	}
	for _, want := range []string{"primary", "filelists", "other", "primary_db", "filelists_db", "other_db", "group", "group_gz", "updateinfo"} {
		if !slices.Contains(types, want) {
			t.Fatalf("the upstream has records %v; the test wants %s", types, want)
		}
	}
	u := hsNewUpstream(t, upstream)

	srv, bucket := publicBucket(t)
	dirTarget := filepath.Join(t.TempDir(), "public")
	s3Target := fmt.Sprintf("s3://%s/up?endpoint=%s&region=%s&path-style=1&tls=0", bucket, srv.Endpoint, srv.Region)
	cache := t.TempDir()
	cfg := vbWriteConfig(t, cache, u.URL()+"/", dirTarget, s3Target)

	check := func(when string) {
		t.Helper()
		want := hsSnapshot(t, upstream)
		vbSameFiles(t, when+": directory", hsSnapshot(t, dirTarget), want)
		vbSameFiles(t, when+": bucket", vbBucketFiles(t, srv, bucket, "up"), want)
		hsVerify(t, dirTarget)
		hsVerify(t, s3Target)
		hsCheckPool(t, cache)
	}

	code, stderr := hsSync(t, cfg)
	if code != ExitOK || !strings.Contains(stderr, fmt.Sprintf(`"fetched":%d`, len(demo))) {
		t.Fatalf("first sync: exit %d\n%s", code, stderr)
	}
	check("first sync")

	pub, err := rpmtest.TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	d := testenv.NewDNFRoot(t, fmt.Sprintf("http://%s/%s/up/", srv.Endpoint, bucket), pub, true)
	out := d.Install("rpmirror-demo-suite")
	if installed := strings.Join(d.Installed(), " "); !strings.Contains(installed, "rpmirror-demo-suite-") {
		t.Errorf("installed: %s\n%s", installed, out)
	}

	mark := u.mark()
	code, stderr = hsSync(t, cfg)
	if code != ExitOK || !strings.Contains(stderr, `"msg":"unchanged"`) {
		t.Fatalf("unchanged upstream: exit %d\n%s", code, stderr)
	}
	if reqs := u.since(mark); len(reqs) != 1 || reqs[0].Path != "/repodata/repomd.xml" {
		t.Errorf("an unchanged upstream cost %s, want one request for repomd.xml", hsDescribe(reqs))
	}

	// Version 2: extras removed, a new package added, indexed again.
	gone := "Packages/" + demo[len(demo)-1].RelPath()
	if !strings.Contains(gone, "rpmirror-demo-extras") {
		t.Fatalf("the last demo package is %s, not extras", gone)
	}
	os.Remove(filepath.Join(upstream, filepath.FromSlash(gone)))
	added := hsBigSpec("rpmirror-verbatim-added", 32<<10)
	added.Signer = rpmtest.TestKey().Sign
	if _, err := rpmtest.WriteFile(filepath.Join(upstream, "Packages"), added); err != nil {
		t.Fatal(err)
	}
	vbIndex(t, upstream)
	md2 := vbRepomd(t, upstream)
	var unchanged []string // hrefs of record files in both versions
	for _, r := range md2.Records {
		if old := md1.Record(r.Type); old != nil && old.Href == r.Href {
			unchanged = append(unchanged, r.Href)
		}
	}
	if len(unchanged) == 0 {
		t.Fatal("no record file is the same in both versions (comps should be): the test proves nothing about them")
	}
	mark = u.mark()
	code, stderr = hsSync(t, cfg)
	if code != ExitOK || !strings.Contains(stderr, `"fetched":1`) {
		t.Fatalf("changed upstream: exit %d\n%s", code, stderr)
	}
	check("after the upstream changed")
	for _, r := range u.since(mark) {
		href := strings.TrimPrefix(r.Path, "/")
		if slices.Contains(unchanged, href) || (strings.HasSuffix(href, ".rpm") && href != "Packages/"+added.RelPath()) {
			t.Errorf("fetched %s again", href)
		}
	}
	// A client of its own: the first one's metadata cache kept the old
	// repository in about one run of fifteen (dnf's revalidation, not
	// the publication, which check has just compared byte for byte).
	d = testenv.NewDNFRoot(t, fmt.Sprintf("http://%s/%s/up/", srv.Endpoint, bucket), pub, true)
	out = d.Install("rpmirror-verbatim-added")
	if installed := strings.Join(d.Installed(), " "); !strings.Contains(installed, "rpmirror-verbatim-added-") {
		t.Errorf("installed after the change: %s\n%s", installed, out)
	}
}

// TestSyncVerbatimDryRun: --dry-run lists the packages and record files
// that would be fetched and those that would go, and changes nothing.
func TestSyncVerbatimDryRun(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	demo := rpmtest.Demo()
	upstream := t.TempDir()
	if _, err := rpmtest.WriteAll(filepath.Join(upstream, "Packages"), demo[:3]); err != nil {
		t.Fatal(err)
	}
	vbIndex(t, upstream)
	u := hsNewUpstream(t, upstream)
	target := filepath.Join(t.TempDir(), "public")
	cache := t.TempDir()
	cfg := vbWriteConfig(t, cache, u.URL()+"/", target)
	dryRun := func() []string {
		t.Helper()
		code, stdout, stderr := execute(t, "--config", cfg, "sync", "--dry-run")
		if code != ExitOK {
			t.Fatalf("dry run: exit %d\n%s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		slices.Sort(lines)
		return lines
	}

	var want []string
	for _, s := range demo[:3] {
		want = append(want, "up: fetch Packages/"+s.RelPath())
	}
	md1 := vbRepomd(t, upstream)
	for _, r := range md1.Records {
		want = append(want, "up: fetch "+r.Href)
	}
	slices.Sort(want)
	if got := dryRun(); !slices.Equal(got, want) {
		t.Errorf("first dry run:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A dry run opens no target: the directory is not even created.
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the dry run created the target directory (stat: %v)", err)
	}

	if code, stderr := hsSync(t, cfg); code != ExitOK {
		t.Fatalf("sync: exit %d\n%s", code, stderr)
	}
	os.Remove(filepath.Join(upstream, "Packages", demo[0].RelPath()))
	if _, err := rpmtest.WriteFile(filepath.Join(upstream, "Packages"), demo[3]); err != nil {
		t.Fatal(err)
	}
	vbIndex(t, upstream)
	md2 := vbRepomd(t, upstream)
	want = []string{"up: fetch Packages/" + demo[3].RelPath(), "up: remove Packages/" + demo[0].RelPath()}
	for _, r := range md2.Records {
		if old := md1.Record(r.Type); old == nil || old.Href != r.Href {
			want = append(want, "up: fetch "+r.Href)
			if old != nil {
				want = append(want, "up: remove "+old.Href)
			}
		}
	}
	slices.Sort(want)
	before := hsSnapshot(t, target)
	if got := dryRun(); !slices.Equal(got, want) {
		t.Errorf("dry run after a change:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if after := hsSnapshot(t, target); !maps.Equal(after, before) {
		t.Error("the dry run changed the target")
	}
}

// TestSyncVerbatimHostileUpstream: an upstream synced verbatim once then
// grows two packages and misbehaves. Since the upstream's metadata names
// every package, nothing can be left out: the run fails naming the file
// and the reason, and the previous publication stays byte for byte and
// verifies. Healed, the next run converges to the upstream.
func TestSyncVerbatimHostileUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	testenv.RequireTool(t, "createrepo_c")
	demo := rpmtest.Demo()
	badSpec := hsBigSpec("rpmirror-hostile", 64<<10)

	type env struct {
		dir, target, cfg string
		bad              string // href of the bad package
		u                *hsUpstream
	}
	// recordFile returns the upstream path of the file of record typ.
	recordFile := func(t *testing.T, e *env, typ string) string {
		return filepath.Join(e.dir, filepath.FromSlash(vbRepomd(t, e.dir).Record(typ).Href))
	}
	for _, tc := range []struct {
		name string
		// break_ makes the second version of the upstream bad; heal, when
		// set, repairs it.
		break_ func(t *testing.T, e *env)
		heal   func(t *testing.T, e *env)
		code   int
		want   []string // regular expressions stderr must match
	}{
		{
			name: "package with a wrong checksum",
			break_: func(t *testing.T, e *env) {
				p := filepath.Join(e.dir, filepath.FromSlash(e.bad))
				b, _ := os.ReadFile(p)
				b[len(b)-100] ^= 0xff
				os.WriteFile(p, b, 0o644)
			},
			heal: func(t *testing.T, e *env) {
				if _, err := rpmtest.WriteFile(filepath.Join(e.dir, "Packages"), badSpec); err != nil {
					t.Fatal(err)
				}
			},
			code: ExitFailure,
			want: []string{`rpmirror-hostile-1\.0-1\.noarch\.rpm[^\n]*checksum`, `could not be mirrored`},
		},
		{
			name: "package missing upstream",
			break_: func(t *testing.T, e *env) {
				os.Remove(filepath.Join(e.dir, filepath.FromSlash(e.bad)))
			},
			heal: func(t *testing.T, e *env) {
				if _, err := rpmtest.WriteFile(filepath.Join(e.dir, "Packages"), badSpec); err != nil {
					t.Fatal(err)
				}
			},
			code: ExitFailure,
			want: []string{`rpmirror-hostile-1\.0-1\.noarch\.rpm[^\n]*404`, `could not be mirrored`},
		},
		{
			name: "record file with a wrong checksum",
			break_: func(t *testing.T, e *env) {
				p := recordFile(t, e, "filelists")
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 0xff
				os.WriteFile(p, b, 0o644)
			},
			heal: func(t *testing.T, e *env) { vbIndex(t, e.dir) },
			code: ExitFailure,
			want: []string{`record filelists \(repodata/[0-9a-f]{64}-filelists\.xml\.gz\)[^\n]*checksum`},
		},
		{
			name: "record file outside repodata/",
			break_: func(t *testing.T, e *env) {
				// The other record moved to other/ (where the file is
				// served), repomd.xml re-signed: only the href is wrong.
				md := filepath.Join(e.dir, "repodata", "repomd.xml")
				b, _ := os.ReadFile(md)
				href := vbRepomd(t, e.dir).Record("other").Href
				moved := "other/" + filepath.Base(href)
				os.MkdirAll(filepath.Join(e.dir, "other"), 0o755)
				data, _ := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(href)))
				os.WriteFile(filepath.Join(e.dir, filepath.FromSlash(moved)), data, 0o644)
				os.WriteFile(md, bytes.Replace(b, []byte(`href="`+href+`"`), []byte(`href="`+moved+`"`), 1), 0o644)
				vbSign(t, e.dir)
			},
			heal: func(t *testing.T, e *env) {
				os.RemoveAll(filepath.Join(e.dir, "other"))
				vbIndex(t, e.dir)
			},
			code: ExitFailure,
			want: []string{`record other: href "other/[0-9a-f]{64}-other\.xml\.gz" is not a file directly in repodata/`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{dir: t.TempDir(), target: filepath.Join(t.TempDir(), "public")}
			if _, err := rpmtest.WriteAll(filepath.Join(e.dir, "Packages"), demo[:3]); err != nil {
				t.Fatal(err)
			}
			vbIndex(t, e.dir)
			e.u = hsNewUpstream(t, e.dir)
			cache := t.TempDir()
			e.cfg = vbWriteConfig(t, cache, e.u.URL()+"/", e.target)
			if code, stderr := hsSync(t, e.cfg); code != ExitOK {
				t.Fatalf("first sync: exit %d\n%s", code, stderr)
			}
			vbSameFiles(t, "first sync", hsSnapshot(t, e.target), hsSnapshot(t, e.dir))
			before := hsSnapshot(t, e.target)

			if _, err := rpmtest.WriteAll(filepath.Join(e.dir, "Packages"), []rpmtest.Spec{demo[3], badSpec}); err != nil {
				t.Fatal(err)
			}
			vbIndex(t, e.dir)
			e.bad = "Packages/" + badSpec.RelPath()
			tc.break_(t, e)

			code, stderr := hsSync(t, e.cfg)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			for _, re := range tc.want {
				if !regexp.MustCompile(re).MatchString(stderr) {
					t.Errorf("stderr does not match %q", re)
				}
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stderr:\n%s", stderr)
			}
			after := hsSnapshot(t, e.target)
			hsSameSnapshot(t, before, after)
			hsVerify(t, e.target)
			hsCheckPool(t, cache)

			if tc.heal == nil {
				return
			}
			tc.heal(t, e)
			if code, stderr := hsSync(t, e.cfg); code != ExitOK {
				t.Fatalf("healed: exit %d\n%s", code, stderr)
			}
			vbSameFiles(t, "healed", hsSnapshot(t, e.target), hsSnapshot(t, e.dir))
			hsVerify(t, e.target)
		})
	}
}

// TestSyncVerbatimExternalPackage: a package that upstream's primary
// lists with an xml:base lives there; verbatim mode neither fetches nor
// publishes it (as publish and verify expect), and the rest is mirrored
// byte for byte.
func TestSyncVerbatimExternalPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	demo := rpmtest.Demo()
	upstream := t.TempDir()
	if _, err := rpmtest.WriteAll(filepath.Join(upstream, "Packages"), demo[:3]); err != nil {
		t.Fatal(err)
	}
	hsCreaterepo(t, upstream)
	ext := "Packages/" + demo[2].RelPath()
	x := hsPrimaryXML(t, upstream)
	y := bytes.Replace(x, []byte(`<location href="`+ext+`"/>`), []byte(`<location xml:base="http://packages.invalid/el9/" href="`+ext+`"/>`), 1)
	if bytes.Equal(x, y) {
		t.Fatal("location not found in primary.xml")
	}
	old := vbRepomd(t, upstream).Record("primary")
	hsRewritePrimary(t, upstream, hsGzip(t, y), ".gz")
	// An honest upstream: the open checksum and size fit too.
	mdPath := filepath.Join(upstream, "repodata", "repomd.xml")
	b, _ := os.ReadFile(mdPath)
	sum := sha256.Sum256(y)
	b = bytes.Replace(b, []byte(old.OpenChecksum.Value), []byte(hex.EncodeToString(sum[:])), 1)
	b = bytes.Replace(b, []byte(fmt.Sprintf("<open-size>%d</open-size>", old.OpenSize)), []byte(fmt.Sprintf("<open-size>%d</open-size>", len(y))), 1)
	os.WriteFile(mdPath, b, 0o644)
	if rec := vbRepomd(t, upstream).Record("primary"); rec.OpenSize != int64(len(y)) || rec.OpenChecksum.Value != hex.EncodeToString(sum[:]) {
		t.Fatalf("repomd.xml not rewritten: %+v", rec)
	}
	vbSign(t, upstream)
	os.Remove(filepath.Join(upstream, filepath.FromSlash(ext)))
	u := hsNewUpstream(t, upstream)
	target := filepath.Join(t.TempDir(), "public")
	cfg := vbWriteConfig(t, t.TempDir(), u.URL()+"/", target)

	code, stderr := hsSync(t, cfg)
	if code != ExitOK || !strings.Contains(stderr, `"fetched":2`) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	vbSameFiles(t, "target", hsSnapshot(t, target), hsSnapshot(t, upstream))
	for _, r := range u.since(0) {
		if strings.HasSuffix(r.Path, "/"+filepath.Base(ext)) {
			t.Errorf("requested %s", r.Path)
		}
	}
	hsVerify(t, target)
}

// TestSyncVerbatimModeSwitch: changing a repository's mode in the
// configuration, with nothing changed upstream, rebuilds and republishes
// it in the new mode: regenerated, then the upstream's files byte for
// byte, then regenerated again without the upstream's signature.
func TestSyncVerbatimModeSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no end-to-end tests")
	}
	upstream := t.TempDir()
	if _, err := rpmtest.WriteAll(filepath.Join(upstream, "Packages"), rpmtest.Demo()[:4]); err != nil {
		t.Fatal(err)
	}
	vbIndex(t, upstream)
	u := hsNewUpstream(t, upstream)
	target := filepath.Join(t.TempDir(), "public")
	cfg := vbWriteConfig(t, t.TempDir(), u.URL()+"/", target)
	conf, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	setMode := func(mode string) {
		t.Helper()
		c := strings.Replace(string(conf), `mode = "verbatim"`, fmt.Sprintf("mode = %q", mode), 1)
		if err := os.WriteFile(cfg, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	asc := filepath.Join(target, "repodata", "repomd.xml.asc")

	setMode("regenerate")
	if code, stderr := hsSync(t, cfg); code != ExitOK {
		t.Fatalf("regenerate: exit %d\n%s", code, stderr)
	}
	hsVerify(t, target)
	if _, err := os.Stat(asc); !os.IsNotExist(err) {
		t.Errorf("regenerate mode published a repomd.xml.asc (%v)", err)
	}

	setMode("verbatim")
	if code, stderr := hsSync(t, cfg); code != ExitOK || strings.Contains(stderr, `"msg":"unchanged"`) {
		t.Fatalf("verbatim: exit %d\n%s", code, stderr)
	}
	vbSameFiles(t, "verbatim", hsSnapshot(t, target), hsSnapshot(t, upstream))
	hsVerify(t, target)

	setMode("regenerate")
	if code, stderr := hsSync(t, cfg); code != ExitOK || strings.Contains(stderr, `"msg":"unchanged"`) {
		t.Fatalf("regenerate again: exit %d\n%s", code, stderr)
	}
	hsVerify(t, target)
	if _, err := os.Stat(asc); !os.IsNotExist(err) {
		t.Errorf("the upstream's repomd.xml.asc is still published next to regenerated metadata (%v)", err)
	}
	if got := hsPrimary(t, target); len(got) != 4 {
		t.Errorf("regenerated: %d packages, want 4", len(got))
	}
}
