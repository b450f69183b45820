package repodata

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// rpmFacts is what the real rpm tool says about one package file, turned
// into the values createrepo_c writes by createrepo_c's documented rules
// (noted where applied).
type rpmFacts struct {
	name, epoch, version, release, arch, summary, sourceRPM, license string
	buildTime                                                        int64
	installedSize                                                    uint64
	provides                                                         []string // "name op evr", as rpm --provides prints
	files                                                            []File
	changelogs                                                       []Changelog // newest first, as rpm lists them
}

// Separators for rpm's query format output; none occurs in RPM headers.
const (
	rpmEnd   = "\x1e" // after each package
	rpmField = "\x1f" // between fields
	rpmItem  = "\x1d" // after each item of a list
	rpmSub   = "\x1c" // between parts of an item
)

// queryRPM runs rpm once for all files. --qf '[%{PROVIDENEVRS}\n]' is what
// rpm --provides runs.
func queryRPM(t *testing.T, files []string) []rpmFacts {
	t.Helper()
	rpm := testenv.RequireTool(t, "rpm")
	qf := strings.Join([]string{
		"%{NAME}", "%{EPOCH}", "%{VERSION}", "%{RELEASE}", "%{ARCH}", "%{SOURCEPACKAGE}", "%{SUMMARY}",
		"%{BUILDTIME}", "%{LONGSIZE}", "%{SOURCERPM}", "%{LICENSE}",
		"[%{PROVIDENEVRS}" + rpmItem + "]",
		"[%{FILENAMES}" + rpmSub + "%{FILEFLAGS:fflags}" + rpmSub + "%{FILEMODES:perms}" + rpmItem + "]",
		"[%{CHANGELOGTIME}" + rpmSub + "%{CHANGELOGNAME}" + rpmSub + "%{CHANGELOGTEXT}" + rpmItem + "]",
	}, rpmField) + rpmEnd
	cmd := exec.Command(rpm, append([]string{"-qp", "--nosignature", "--nodigest", "--qf", qf}, files...)...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rpm -qp: %v\n%s", err, stderr.Bytes())
	}
	recs := strings.Split(strings.TrimSuffix(string(out), rpmEnd), rpmEnd)
	if len(recs) != len(files) {
		t.Fatalf("rpm printed %d packages for %d files", len(recs), len(files))
	}
	facts := make([]rpmFacts, len(recs))
	for i, rec := range recs {
		f := strings.Split(rec, rpmField)
		if len(f) != 14 {
			t.Fatalf("%s: rpm printed %d fields: %q", files[i], len(f), rec)
		}
		var err error
		p := &facts[i]
		p.name, p.version, p.release, p.arch = crText(f[0]), crText(f[2]), crText(f[3]), crText(f[4])
		p.summary, p.license = crText(f[6]), crText(f[10])
		// createrepo_c writes epoch 0 when there is none, arch "src" and
		// no sourcerpm for a source package.
		p.epoch = strings.ReplaceAll(f[1], "(none)", "0")
		if f[5] == "1" {
			p.arch = "src"
		}
		if f[9] != "(none)" {
			p.sourceRPM = crText(f[9])
		}
		if p.buildTime, err = strconv.ParseInt(f[7], 10, 64); err != nil {
			t.Fatal(err)
		}
		if p.installedSize, err = strconv.ParseUint(f[8], 10, 64); err != nil {
			t.Fatal(err)
		}
		for _, item := range rpmItems(f[11]) {
			p.provides = append(p.provides, normalizeNEVR(crText(item)))
		}
		for _, item := range rpmItems(f[12]) {
			parts := strings.Split(item, rpmSub)
			file := File{Path: crText(parts[0])}
			// createrepo_c (parsehdr.c): a directory is "dir", else a
			// %ghost is "ghost".
			switch {
			case strings.HasPrefix(parts[2], "d"):
				file.Type = FileDir
			case strings.Contains(parts[1], "g"):
				file.Type = FileGhost
			}
			p.files = append(p.files, file)
		}
		for _, item := range rpmItems(f[13]) {
			parts := strings.SplitN(item, rpmSub, 3)
			date, err := strconv.ParseInt(parts[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			// createrepo_c trims trailing spaces from the author.
			p.changelogs = append(p.changelogs, Changelog{
				Author: strings.TrimRight(crText(parts[1]), " "), Date: date, Text: crText(parts[2]),
			})
		}
	}
	return facts
}

func rpmItems(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, rpmItem), rpmItem)
}

// crText applies createrepo_c's rule for header strings that are not
// UTF-8 (cr_latin1_to_utf8 in src/xml_dump.c): read them as Latin-1,
// dropping control characters and the bytes 0x80-0xBF.
func crText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
		case c < 0x80:
			b.WriteByte(c)
		case c < 0xc0:
		default:
			b.WriteRune(rune(c))
		}
	}
	return b.String()
}

// normalizeNEVR drops an explicit zero epoch from "name op [epoch:]ver",
// which createrepo_c writes as epoch="0" just like an absent one.
func normalizeNEVR(s string) string {
	name, evr, ok := strings.Cut(s, " ")
	if !ok {
		return s
	}
	op, v, _ := strings.Cut(evr, " ")
	return name + " " + op + " " + strings.TrimPrefix(v, "0:")
}

// depString formats a Dependency as rpm --provides does.
func depString(d Dependency) string {
	if d.Flags == "" {
		return d.Name
	}
	op := map[string]string{"EQ": "=", "LT": "<", "GT": ">", "LE": "<=", "GE": ">="}[d.Flags]
	evr := d.Version
	if d.Epoch != "" && d.Epoch != "0" {
		evr = d.Epoch + ":" + evr
	}
	if d.Release != "" {
		evr += "-" + d.Release
	}
	return d.Name + " " + op + " " + evr
}

// isPrimaryPath is createrepo_c's cr_is_primary (src/misc.c), restated
// here so the test does not depend on the code under test.
func isPrimaryPath(p string) bool {
	return strings.HasPrefix(p, "/etc/") || p == "/usr/lib/sendmail" || strings.Contains(p, "bin/")
}

// openRecord opens the file of a repomd.xml record, decompressed.
func openRecord(t *testing.T, repo string, md *Repomd, typ string) io.Reader {
	t.Helper()
	rec := md.Record(typ)
	if rec == nil {
		t.Fatalf("no %s record", typ)
	}
	b, err := os.ReadFile(filepath.Join(repo, filepath.FromSlash(rec.Href)))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasSuffix(rec.Href, ".gz"):
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return zr
	case strings.HasSuffix(rec.Href, ".zst"):
		zr, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(zr.Close)
		return zr
	}
	t.Fatalf("%s: unexpected compression", rec.Href)
	return nil
}

// repoContent is a repository's three metadata files, read.
type repoContent struct {
	primary   []*Package
	filelists map[string]*FilelistsEntry // by pkgid
	other     map[string]*OtherEntry     // by pkgid
}

// readRepo reads primary, filelists and other of the repository at dir
// and checks that they describe the same packages.
func readRepo(t *testing.T, dir string) *repoContent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := ParseRepomd(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rc := &repoContent{filelists: map[string]*FilelistsEntry{}, other: map[string]*OtherEntry{}}
	pr, err := NewPrimaryReader(openRecord(t, dir, md, "primary"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rc.primary = append(rc.primary, p)
	}
	if pr.Count() != len(rc.primary) {
		t.Errorf("primary: Count() %d, read %d", pr.Count(), len(rc.primary))
	}
	if err := ReadFilelists(openRecord(t, dir, md, "filelists"), func(e *FilelistsEntry) error {
		rc.filelists[e.PkgID] = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := ReadOther(openRecord(t, dir, md, "other"), func(e *OtherEntry) error {
		rc.other[e.PkgID] = e
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range rc.primary {
		fl, ot := rc.filelists[p.Checksum.Value], rc.other[p.Checksum.Value]
		if fl == nil || ot == nil {
			t.Errorf("%s: pkgid %s missing from filelists or other", p.LocationHref, p.Checksum.Value)
			continue
		}
		for _, e := range [][6]string{
			{fl.Name, fl.Arch, fl.Epoch, fl.Version, fl.Release},
			{ot.Name, ot.Arch, ot.Epoch, ot.Version, ot.Release},
		} {
			if e != [6]string{p.Name, p.Arch, p.Epoch, p.Version, p.Release} {
				t.Errorf("%s: filelists/other say %q", p.NEVRA(), e)
			}
		}
	}
	return rc
}

// checkAgainstRPM compares what was read for each file with what rpm and
// the file itself say.
func checkAgainstRPM(t *testing.T, rc *repoContent, repo string, hrefs []string, mtime bool) {
	t.Helper()
	byHref := map[string]*Package{}
	for _, p := range rc.primary {
		byHref[p.LocationHref] = p
	}
	paths := make([]string, len(hrefs))
	for i, h := range hrefs {
		paths[i] = filepath.Join(repo, filepath.FromSlash(h))
	}
	facts := queryRPM(t, paths)
	for i, href := range hrefs {
		p, want := byHref[href], facts[i]
		if p == nil {
			t.Errorf("%s: not in primary.xml", href)
			continue
		}
		got := [...]any{p.Name, p.Epoch, p.Version, p.Release, p.Arch, p.Summary, p.BuildTime, p.InstalledSize, p.SourceRPM, p.License}
		exp := [...]any{want.name, want.epoch, want.version, want.release, want.arch, want.summary, want.buildTime, want.installedSize, want.sourceRPM, want.license}
		if got != exp {
			t.Errorf("%s:\n got %q\nwant %q (rpm -qp)", href, got, exp)
		}
		var provides []string
		for _, d := range p.Provides {
			provides = append(provides, depString(d))
		}
		if !slices.Equal(provides, want.provides) {
			t.Errorf("%s: provides\n got %q\nwant %q (rpm -qp --provides)", href, provides, want.provides)
		}

		b, err := os.ReadFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if p.Checksum != (Checksum{"sha256", hex.EncodeToString(sum[:])}) || p.PackageSize != uint64(len(b)) {
			t.Errorf("%s: checksum %v size %d, want the file's sha256 and size %d", href, p.Checksum, p.PackageSize, len(b))
		}
		if fi, err := os.Stat(paths[i]); err == nil && mtime && p.FileTime != fi.ModTime().Unix() {
			t.Errorf("%s: file time %d, want mtime %d", href, p.FileTime, fi.ModTime().Unix())
		}
		if p.HeaderStart < 96+16 || p.HeaderStart >= p.HeaderEnd || p.HeaderEnd > p.PackageSize {
			t.Errorf("%s: header range %d-%d in a file of %d bytes", href, p.HeaderStart, p.HeaderEnd, p.PackageSize)
		}

		var primaryFiles []File
		for _, f := range want.files {
			if isPrimaryPath(f.Path) {
				primaryFiles = append(primaryFiles, f)
			}
		}
		if !slices.Equal(p.Files, primaryFiles) {
			t.Errorf("%s: primary files\n got %v\nwant %v", href, p.Files, primaryFiles)
		}
		if fl := rc.filelists[p.Checksum.Value]; fl == nil || !slices.Equal(fl.Files, want.files) {
			t.Errorf("%s: filelists files\n got %v\nwant %v (rpm -qp)", href, fl, want.files)
		}
	}
}

// TestReadCreaterepoOutput reads what the real createrepo_c writes for the
// corpus's RPMs and compares every package with what rpm says of its file.
func TestReadCreaterepoOutput(t *testing.T) {
	createrepo := testenv.RequireTool(t, "createrepo_c")
	testenv.RequireTool(t, "rpm")
	pkgs := filepath.Join(testenv.RequireCorpus(t), "createrepo_c-testdata", "tests", "testdata", "packages")
	rpms, _ := filepath.Glob(filepath.Join(pkgs, "*.rpm"))
	if len(rpms) == 0 {
		t.Skipf("no RPMs in %s", pkgs)
	}
	out := t.TempDir()
	cmd := exec.Command(createrepo, "--no-database", "--simple-md-filenames", "--general-compress-type=gz", "--outputdir", out, pkgs)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("createrepo_c: %v\n%s", err, b)
	}
	// Package hrefs are relative to pkgs; repodata/ is in out.
	rc := readRepo(t, out)
	if len(rc.primary) != len(rpms) {
		t.Fatalf("read %d packages for %d RPMs", len(rc.primary), len(rpms))
	}
	var hrefs []string
	for _, p := range rpms {
		hrefs = append(hrefs, filepath.Base(p))
	}
	checkAgainstRPM(t, rc, pkgs, hrefs, true)

	// other.xml: createrepo_c keeps the newest 10 changelog entries and
	// writes them oldest first, bumping equal dates by one second.
	facts := queryRPM(t, rpms)
	byHref := map[string]*Package{}
	for _, p := range rc.primary {
		byHref[p.LocationHref] = p
	}
	for i, href := range hrefs {
		want := slices.Clone(facts[i].changelogs[:min(10, len(facts[i].changelogs))])
		slices.Reverse(want)
		ot := rc.other[byHref[href].Checksum.Value]
		if ot == nil || len(ot.Changelogs) != len(want) {
			t.Errorf("%s: changelogs %v, want %d entries", href, ot, len(want))
			continue
		}
		for j, c := range ot.Changelogs {
			w := want[j]
			if c.Author != w.Author || c.Text != w.Text || c.Date < w.Date || c.Date > w.Date+int64(len(want)) {
				t.Errorf("%s: changelog %d = %+v, want %+v", href, j, c, w)
			}
		}
	}
}

// TestReadCorpusRepos reads the metadata of the corpus's repositories as
// their upstreams wrote it.
func TestReadCorpusRepos(t *testing.T) {
	corpus := testenv.RequireCorpus(t)
	for _, tt := range []struct {
		dir string
		n   int
	}{
		{"createrepo_c-testdata/tests/testdata/repo_01", 1},
		{"createrepo_c-testdata/tests/testdata/repo_02", 2},
		{"createrepo_c-testdata/tests/testdata/repo_koji_01", 2},
		{"createrepo_c-testdata/tests/testdata/repo_koji_02", 1},
		{"createrepo_c-testdata/tests/testdata/repo_with_additional_metadata", 1},
		{"createrepo_c-testdata/tests/testdata/repo_with_duplicate_packages", 4},
		{"libdnf-testdata/data/tests/hawkey/yum", 2},
		{"libdnf-testdata/data/tests/advisories", 2},
		{"libdnf-testdata/data/tests/modules/modules/_all/x86_64", 43},
		{"azurelinux-repo", 113},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join(corpus, tt.dir)
			if _, err := os.Stat(dir); err != nil {
				t.Skipf("corpus incomplete: %v", err)
			}
			rc := readRepo(t, dir)
			if len(rc.primary) != tt.n || len(rc.filelists) > tt.n || len(rc.other) > tt.n {
				t.Errorf("%d packages, %d filelists, %d other entries; want %d", len(rc.primary), len(rc.filelists), len(rc.other), tt.n)
			}
		})
	}
}

// TestReadUpstreamRepo compares the upstream primary.xml of the Azure
// Linux repository of the corpus with rpm's view of the RPMs that are
// present (some are missing: see azurelinux-repo.missing).
func TestReadUpstreamRepo(t *testing.T) {
	testenv.RequireTool(t, "rpm")
	repo := filepath.Join(testenv.RequireCorpus(t), "azurelinux-repo")
	if _, err := os.Stat(filepath.Join(repo, "repodata", "repomd.xml")); err != nil {
		t.Skipf("corpus incomplete: %v", err)
	}
	rc := readRepo(t, repo)
	var hrefs []string
	for _, p := range rc.primary {
		if CheckHref(p.LocationHref) != nil || !strings.HasPrefix(p.LocationHref, "packages/") {
			t.Errorf("unexpected href %q", p.LocationHref)
		}
		if _, err := os.Stat(filepath.Join(repo, p.LocationHref)); err == nil {
			hrefs = append(hrefs, p.LocationHref)
		}
	}
	if len(hrefs) != 105 {
		t.Errorf("%d of %d packages present, want 105", len(hrefs), len(rc.primary))
	}
	checkAgainstRPM(t, rc, repo, hrefs, false)
}
