package rpmtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The separators of our query formats: rpm's queryformat has no escape
// for them, so they are passed as raw bytes.
const (
	fieldSep   = "\x1f"
	recordSep  = "\x1e"
	sectionSep = "\x1d"
)

func allSpecs() map[string][]Spec {
	return map[string][]Spec{"cases": Cases(), "demo": Demo(), "broken": Broken()}
}

// TestRPMQuery checks with rpm -qp that every package says what its Spec
// says: the expected values come from the Spec, never from our own reader.
func TestRPMQuery(t *testing.T) {
	needTool(t, "rpm")
	for set, specs := range allSpecs() {
		_, files := writeSet(t, specs)
		for _, f := range files {
			t.Run(set+"/"+label(f.spec), func(t *testing.T) {
				if set == "broken" {
					// Only the parts that are not broken.
					got := string(run(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION}", f.path))
					if want := f.spec.Name + " " + f.spec.Version; got != want {
						t.Errorf("rpm -qp: got %q, want %q", got, want)
					}
					return
				}
				checkRPMQuery(t, f.spec, f.path)
			})
		}
	}
}

func checkRPMQuery(t *testing.T, s Spec, path string) {
	t.Helper()
	compare := func(what string, got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("%s:\n got %q\nwant %q", what, got, want)
		}
	}
	// Query formats are collected and run in one rpm -qp.
	type section struct{ what, qf, want string }
	var sections []section
	query := func(what, qf, want string) { sections = append(sections, section{what, qf, want}) }

	epoch := "(none)"
	if s.Epoch != nil {
		epoch = strconv.FormatUint(uint64(*s.Epoch), 10)
	}
	compare("NEVRA", run(t, "rpm", "-qp", "--qf", "%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\n", path),
		fmt.Sprintf("%s %s %s %s %s\n", s.Name, epoch, s.Version, s.Release, s.arch()))

	srcpkg, srcrpm := "(none)", s.SourceRPM
	if srcrpm == "" {
		srcrpm = fmt.Sprintf("%s-%s-%s.src.rpm", s.Name, s.Version, s.Release)
	}
	if s.Source {
		srcpkg, srcrpm = "1", "(none)"
	}
	none := func(v string) string {
		if v == "" {
			return "(none)"
		}
		return v
	}
	buildTime := "(none)"
	if !s.BuildTime.IsZero() {
		buildTime = strconv.FormatInt(s.BuildTime.Unix(), 10)
	}
	fields := []string{"SOURCEPACKAGE", "SOURCERPM", "SUMMARY", "DESCRIPTION", "LICENSE", "VENDOR",
		"URL", "PACKAGER", "GROUP", "BUILDHOST", "BUILDTIME"}
	values := []string{srcpkg, srcrpm, s.Summary, s.Description, s.License, none(s.Vendor),
		none(s.URL), none(s.Packager), none(s.Group), s.BuildHost, buildTime}
	query("general tags "+strings.Join(fields, " "),
		"%{"+strings.Join(fields, "}"+fieldSep+"%{")+"}",
		strings.Join(values, fieldSep))

	lists := []struct {
		tag  string
		deps []Dep
	}{
		{"PROVIDE", s.HeaderProvides()}, {"REQUIRE", s.Requires}, {"CONFLICT", s.Conflicts},
		{"OBSOLETE", s.Obsoletes}, {"RECOMMEND", s.Recommends}, {"SUGGEST", s.Suggests},
		{"SUPPLEMENT", s.Supplements}, {"ENHANCE", s.Enhances},
	}
	for _, l := range lists {
		qf := fmt.Sprintf("[%%{%[1]sNAME}%[2]s%%{%[1]sFLAGS}%[2]s%%{%[1]sVERSION}%[3]s]", l.tag, fieldSep, recordSep)
		var want strings.Builder
		for _, d := range l.deps {
			fmt.Fprintf(&want, "%s%s%d%s%s%s", d.Name, fieldSep, uint32(d.Flags), fieldSep, d.Version, recordSep)
		}
		query(l.tag+" name/flags/version", qf, want.String())
	}
	compare("rpm -qp --requires", run(t, "rpm", "-qp", "--requires", path), depLines(s.Requires))
	compare("rpm -qp --provides", run(t, "rpm", "-qp", "--provides", path), depLines(s.HeaderProvides()))

	var wantLog, wantLogText strings.Builder
	for _, c := range s.Changelogs {
		fmt.Fprintf(&wantLog, "%d%s%s%s%s%s", c.Time.Unix(), fieldSep, c.Author, fieldSep, c.Text, recordSep)
		fmt.Fprintf(&wantLogText, "* %s %s\n%s\n\n", c.Time.UTC().Format("Mon Jan 02 2006"), c.Author, c.Text)
	}
	query("changelog tags",
		"[%{CHANGELOGTIME}"+fieldSep+"%{CHANGELOGNAME}"+fieldSep+"%{CHANGELOGTEXT}"+recordSep+"]", wantLog.String())
	compare("rpm -qp --changelog", run(t, "rpm", "-qp", "--changelog", path), wantLogText.String())

	files := slices.Clone(s.Files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	var wantFiles, wantList strings.Builder
	for _, f := range files {
		fmt.Fprintln(&wantList, f.Path)
		wantFiles.WriteString(fileRecord(s, f))
	}
	if len(files) == 0 {
		wantList.WriteString("(contains no files)\n")
	}
	compare("rpm -qp -l", run(t, "rpm", "-qp", "-l", path), wantList.String())
	query("file tags", "[%{FILENAMES}"+fieldSep+"%{FILEMODES}"+fieldSep+
		"%{FILEFLAGS}"+fieldSep+"%{FILELINKTOS}"+fieldSep+"%{FILEUSERNAME}"+fieldSep+"%{FILEGROUPNAME}"+fieldSep+
		"%{FILEMTIMES}"+fieldSep+"%{FILESIZES}"+fieldSep+"%{FILEDIGESTS}"+recordSep+"]", wantFiles.String())

	var wantScripts string
	for _, sc := range []struct{ tag, body string }{{"PREIN", s.Pre}, {"POSTIN", s.Post}, {"PREUN", s.PreUn}, {"POSTUN", s.PostUn}} {
		if sc.body != "" {
			wantScripts += sc.tag + "=" + sc.body + fieldSep
		}
	}
	query("scriptlets",
		"%|PREIN?{PREIN=%{PREIN}"+fieldSep+"}|%|POSTIN?{POSTIN=%{POSTIN}"+fieldSep+"}|"+
			"%|PREUN?{PREUN=%{PREUN}"+fieldSep+"}|%|POSTUN?{POSTUN=%{POSTUN}"+fieldSep+"}|", wantScripts)

	qfs := make([]string, len(sections))
	for i, sec := range sections {
		qfs[i] = sec.qf
	}
	got := strings.Split(string(run(t, "rpm", "-qp", "--qf", strings.Join(qfs, sectionSep), path)), sectionSep)
	if len(got) != len(sections) {
		t.Fatalf("rpm -qp --qf: got %d sections, want %d: %q", len(got), len(sections), got)
	}
	for i, sec := range sections {
		compare(sec.what, []byte(got[i]), sec.want)
	}
}

func depLines(deps []Dep) string {
	var b strings.Builder
	for _, d := range deps {
		b.WriteString(d.String() + "\n")
	}
	return b.String()
}

// fileRecord is what our file query prints for f.
func fileRecord(s Spec, f File) string {
	mode, size, link, digest := f.Mode, len(f.Content), "", ""
	switch {
	case f.Dir:
		mode = orDefaultMode(mode, 0o755) | 0o40000
		size = 4096 // rpmpack's choice; rpmbuild writes st_size, usually 4096 too
	case f.Symlink != "":
		mode = orDefaultMode(mode, 0o777) | 0o120000
		size, link = len(f.Symlink), f.Symlink
	default:
		mode = orDefaultMode(mode, 0o644) | 0o100000
		sum := sha256.Sum256(f.Content)
		digest = hex.EncodeToString(sum[:])
	}
	mtime := f.MTime
	if mtime.IsZero() {
		mtime = s.BuildTime
	}
	return strings.Join([]string{f.Path, strconv.Itoa(int(mode)), strconv.Itoa(int(f.Flags)), link,
		orDefault(f.Owner, "root"), orDefault(f.Group, "root"), strconv.FormatInt(mtime.Unix(), 10),
		strconv.Itoa(size), digest}, fieldSep) + recordSep
}

func orDefaultMode(m, def uint32) uint32 {
	if m == 0 {
		return def
	}
	return m
}

// TestRPMVerify checks the digests of every package, broken ones
// included (they are broken inside, not in structure), with rpm -K, and
// the size tags of the signature header: SIZE (header and payload) and
// PAYLOADSIZE (the uncompressed cpio archive, as rpm2cpio writes it).
func TestRPMVerify(t *testing.T) {
	needTool(t, "rpm")
	needTool(t, "rpm2cpio")
	for set, specs := range allSpecs() {
		_, files := writeSet(t, specs)
		for _, f := range files {
			b, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			lay, err := ParseLayout(b)
			if err != nil {
				t.Fatal(err)
			}
			archive := run(t, "rpm2cpio", f.path)
			got := string(run(t, "rpm", "-qp", "--qf", "%{SIGSIZE} %{ARCHIVESIZE}", f.path))
			if want := fmt.Sprintf("%d %d", lay.Size-lay.HeaderStart, len(archive)); got != want {
				t.Errorf("%s/%s: SIGSIZE ARCHIVESIZE: got %s, want %s", set, label(f.spec), got, want)
			}
			out := run(t, "rpm", "-K", "--nosignature", f.path)
			if want := f.path + ": digests OK\n"; string(out) != want {
				t.Errorf("%s/%s: rpm -K: got %q, want %q", set, label(f.spec), out, want)
			}
			out = run(t, "rpm", "-K", "-v", "--nosignature", f.path)
			for _, d := range []string{"Header SHA256 digest: OK", "Header SHA1 digest: OK", "Payload SHA256 digest: OK", "MD5 digest: OK"} {
				if !strings.Contains(string(out), d) {
					t.Errorf("%s/%s: rpm -K -v does not say %q:\n%s", set, label(f.spec), d, out)
				}
			}
		}
	}
}

// TestRPMSignatures imports TestKey into an empty rpm database and checks
// the signatures of the signed packages, and that an unsigned package has
// none.
func TestRPMSignatures(t *testing.T) {
	needTool(t, "rpmkeys")
	key, err := TestKey().PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	keyID, err := TestKey().KeyID()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	db := filepath.Join(tmp, "db")
	keyFile := filepath.Join(tmp, "key.asc")
	if err := os.WriteFile(keyFile, key, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "rpmkeys", "--dbpath", db, "--import", keyFile)

	var specs []Spec
	for _, s := range append(Cases(), Demo()...) {
		if s.Signer != nil || s.Name == "epoch-none" {
			specs = append(specs, s)
		}
	}
	_, files := writeSet(t, specs)
	for _, f := range files {
		out := run(t, "rpmkeys", "--dbpath", db, "-K", "-v", f.path)
		id := fmt.Sprintf("key ID %08x: OK", uint32(keyID))
		if f.spec.Signer == nil {
			if strings.Contains(string(out), "RSA/SHA256 Signature") {
				t.Errorf("%s: unsigned package has a signature:\n%s", label(f.spec), out)
			}
			continue
		}
		for _, want := range []string{"Header V4 RSA/SHA256 Signature, " + id, "\n    V4 RSA/SHA256 Signature, " + id} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s: rpmkeys -K -v does not say %q:\n%s", label(f.spec), want, out)
			}
		}
	}
}
