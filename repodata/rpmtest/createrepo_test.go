package rpmtest

import (
	"compress/gzip"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

type primaryXML struct {
	Count    int `xml:"packages,attr"`
	Packages []struct {
		Name    string `xml:"name"`
		Arch    string `xml:"arch"`
		Version struct {
			Epoch string `xml:"epoch,attr"`
			Ver   string `xml:"ver,attr"`
			Rel   string `xml:"rel,attr"`
		} `xml:"version"`
		Location struct {
			Href string `xml:"href,attr"`
		} `xml:"location"`
		Format struct {
			HeaderRange struct {
				Start int64 `xml:"start,attr"`
				End   int64 `xml:"end,attr"`
			} `xml:"header-range"`
			Requires []struct {
				Name string `xml:"name,attr"`
			} `xml:"requires>entry"`
		} `xml:"format"`
	} `xml:"package"`
}

type filelistsXML struct {
	Count    int `xml:"packages,attr"`
	Packages []struct {
		Name  string   `xml:"name,attr"`
		Files []string `xml:"file"`
	} `xml:"package"`
}

// createrepo runs createrepo_c on dir and returns its combined output.
func createrepo(t *testing.T, dir string) string {
	t.Helper()
	out, stderr, err := runErr("createrepo_c", "--no-database", "--simple-md-filenames", "--general-compress-type=gz", dir)
	if err != nil {
		t.Fatalf("createrepo_c: %v\n%s%s", err, out, stderr)
	}
	return string(out) + string(stderr)
}

func readGzipXML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.NewDecoder(z).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestCreaterepoC is the acid test that our files look like real RPMs:
// createrepo_c reads them through librpm, which checks the header
// structure and digests. It must index every case except those marked
// WantReject, which it must refuse, and agree with ParseLayout on the
// header range.
func TestCreaterepoC(t *testing.T) {
	needTool(t, "createrepo_c")
	specs := Cases()
	dir, files := writeSet(t, specs)
	log := createrepo(t, dir)

	for _, line := range strings.Split(log, "\n") {
		// createrepo_c reports a refused package with a Critical line
		// naming it, then "Pool finished with errors".
		if strings.HasPrefix(line, "Pool finished") ||
			!strings.Contains(line, "Critical") && !strings.Contains(line, "rror") {
			continue
		}
		if !slices.ContainsFunc(specs, func(s Spec) bool { return s.WantReject && strings.Contains(line, " "+s.Name+" ") }) {
			t.Errorf("createrepo_c complains about a package we did not expect it to reject: %s", line)
		}
	}

	var primary primaryXML
	readGzipXML(t, filepath.Join(dir, "repodata", "primary.xml.gz"), &primary)
	var filelists filelistsXML
	readGzipXML(t, filepath.Join(dir, "repodata", "filelists.xml.gz"), &filelists)

	byHref := map[string]int{}
	for i, p := range primary.Packages {
		byHref[p.Location.Href] = i
	}
	want := 0
	for _, f := range files {
		s := f.spec
		i, ok := byHref[s.RelPath()]
		if s.WantReject {
			if ok {
				t.Errorf("%s: createrepo_c indexed a WantReject package", label(s))
			}
			if !strings.Contains(log, s.Name) {
				t.Errorf("%s: createrepo_c did not say why it refused it:\n%s", label(s), log)
			}
			continue
		}
		want++
		if !ok {
			t.Errorf("%s: not in primary.xml\ncreaterepo_c said:\n%s", label(s), log)
			continue
		}
		p := primary.Packages[i]
		epoch := "0"
		if s.Epoch != nil {
			epoch = strconv.FormatUint(uint64(*s.Epoch), 10)
		}
		got := []string{p.Name, p.Arch, p.Version.Epoch, p.Version.Ver, p.Version.Rel}
		if w := []string{s.Name, s.rpmmdArch(), epoch, s.Version, s.Release}; !slices.Equal(got, w) {
			t.Errorf("%s: primary.xml has %q, want %q", label(s), got, w)
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			t.Fatal(err)
		}
		lay, err := ParseLayout(b)
		if err != nil {
			t.Fatal(err)
		}
		if hr := p.Format.HeaderRange; hr.Start != lay.HeaderStart || hr.End != lay.PayloadStart {
			t.Errorf("%s: header-range %d-%d, ParseLayout says %d-%d", label(s), hr.Start, hr.End, lay.HeaderStart, lay.PayloadStart)
		}
	}
	if primary.Count != want || len(primary.Packages) != want || filelists.Count != want || len(filelists.Packages) != want {
		t.Errorf("primary.xml has %d (says %d), filelists.xml %d (says %d) packages, want %d",
			len(primary.Packages), primary.Count, len(filelists.Packages), filelists.Count, want)
	}
}

// TestCreaterepoCBroken pins what createrepo_c does with Broken, as its
// doc comment says.
func TestCreaterepoCBroken(t *testing.T) {
	needTool(t, "createrepo_c")
	dir, _ := writeSet(t, Broken())
	createrepo(t, dir)
	var primary primaryXML
	readGzipXML(t, filepath.Join(dir, "repodata", "primary.xml.gz"), &primary)
	var filelists filelistsXML
	readGzipXML(t, filepath.Join(dir, "repodata", "filelists.xml.gz"), &filelists)
	if len(primary.Packages) != 2 || len(filelists.Packages) != 2 {
		t.Fatalf("createrepo_c indexed %d/%d packages, want 2", len(primary.Packages), len(filelists.Packages))
	}
	for i, p := range primary.Packages {
		switch p.Name {
		case "broken-deps":
			if n := len(p.Format.Requires); n != 2 {
				t.Errorf("broken-deps: %d requires, want 2", n)
			}
		case "broken-dirindex":
			if n := len(filelists.Packages[i].Files); n != 0 {
				t.Errorf("broken-dirindex: %d files, want 0", n)
			}
		}
	}
}

// TestDNFInstallDemo installs Demo into an empty root with dnf, checking
// signatures with TestKey: first the meta package, which must pull in all
// but the merely suggested extras, then the extras.
func TestDNFInstallDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("installs packages with dnf; skipped with -short")
	}
	needTool(t, "createrepo_c")
	needTool(t, "dnf")
	needTool(t, "rpm")
	dir, _ := writeSet(t, Demo())
	createrepo(t, dir)
	key, err := TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	keyFile := filepath.Join(tmp, "key.asc")
	if err := os.WriteFile(keyFile, key, 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "root")
	dnf := func(args ...string) {
		t.Helper()
		run(t, "dnf", append([]string{"-y", "-q", "--installroot=" + root, "--releasever=1",
			"--disableplugin=*", "--setopt=reposdir=" + filepath.Join(tmp, "no-repos.d"),
			"--setopt=cachedir=" + filepath.Join(tmp, "cache"),
			"--repofrompath=demo," + dir, "--repo=demo",
			"--setopt=demo.gpgcheck=1", "--setopt=demo.gpgkey=file://" + keyFile}, args...)...)
	}
	installed := func() []string {
		t.Helper()
		out := run(t, "rpm", "--root", root, "-qa", "--qf", "%{NAME}\n", "rpmirror-demo-*")
		names := strings.Fields(string(out))
		slices.Sort(names)
		return names
	}
	var all []string
	for _, s := range Demo() {
		all = append(all, s.Name)
	}
	slices.Sort(all)

	dnf("install", "rpmirror-demo-suite")
	wantSuite := slices.DeleteFunc(slices.Clone(all), func(n string) bool { return n == "rpmirror-demo-extras" })
	if got := installed(); !slices.Equal(got, wantSuite) {
		t.Errorf("after installing the suite: got %q, want %q", got, wantSuite)
	}
	dnf("install", "rpmirror-demo-extras")
	if got := installed(); !slices.Equal(got, all) {
		t.Errorf("after installing the extras: got %q, want %q", got, all)
	}
	if out, stderr, err := runErr("rpm", "--root", root, "-Va"); err != nil || len(out) != 0 {
		t.Errorf("rpm -Va in the root: %v\n%s%s", err, out, stderr)
	}
	conf, err := os.ReadFile(filepath.Join(root, "etc/rpmirror-demo/hello.conf"))
	if err != nil || string(conf) != "greeting='Hello, world'\n" {
		t.Errorf("installed hello.conf: %q, %v", conf, err)
	}
}
