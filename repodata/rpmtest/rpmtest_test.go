package rpmtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/sha256sums from the current output")

// TestDeterministic builds every Spec twice, from two calls of its
// catalogue, and wants the same bytes.
func TestDeterministic(t *testing.T) {
	for set, specs := range allSpecs() {
		again := allSpecs()[set]
		for i, s := range specs {
			a, err := Build(s)
			if err != nil {
				t.Fatalf("%s/%s: %v", set, label(s), err)
			}
			b, err := Build(again[i])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s/%s: two builds differ", set, label(s))
			}
		}
	}
}

// TestGolden compares the SHA-256 of every built file with
// testdata/sha256sums, so that a change of bytes across processes,
// machines or dependency versions is noticed (tests elsewhere may keep
// golden output derived from these files). Regenerate with
// go test ./repodata/rpmtest -run TestGolden -update.
func TestGolden(t *testing.T) {
	var got strings.Builder
	got.WriteString("# SHA-256 of the files built by package rpmtest, as \"sha256sum\" prints them.\n")
	got.WriteString("# Produced by: go test ./repodata/rpmtest -run TestGolden -update\n")
	for _, set := range []string{"cases", "demo", "broken"} {
		for _, s := range allSpecs()[set] {
			b, err := Build(s)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			fmt.Fprintf(&got, "%s  %s/%s\n", hex.EncodeToString(sum[:]), set, s.RelPath())
		}
	}
	path := filepath.Join("testdata", "sha256sums")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("built files differ from %s (run with -update if the change is intended):\n%s", path,
			lineDiff(string(want), got.String()))
	}
}

func lineDiff(want, got string) string {
	var b strings.Builder
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for _, l := range wl {
		if !slices.Contains(gl, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range gl {
		if !slices.Contains(wl, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// TestCasesCoverage checks that the catalogue still has every edge case
// its contract promises, so that an edit cannot silently drop one.
func TestCasesCoverage(t *testing.T) {
	cases := Cases()
	has := func(what string, pred func(s Spec) bool) {
		t.Helper()
		if !slices.ContainsFunc(cases, pred) {
			t.Errorf("no case has %s", what)
		}
	}
	anyDep := func(deps []Dep, pred func(Dep) bool) bool { return slices.ContainsFunc(deps, pred) }
	allDeps := func(s Spec) []Dep {
		return slices.Concat(s.Provides, s.Requires, s.Conflicts, s.Obsoletes, s.Recommends, s.Suggests, s.Supplements, s.Enhances)
	}
	xmlSpecial := func(v string) bool {
		return strings.ContainsAny(v, "&<>\"'") && strings.ContainsAny(v, "&") && strings.ContainsAny(v, "<")
	}
	nonASCII := func(v string) bool {
		return utf8.ValidString(v) && strings.ContainsFunc(v, func(r rune) bool { return r > 0x7f })
	}
	latin1 := func(v string) bool { return !utf8.ValidString(v) }
	owns := func(s Spec, path string) bool {
		return slices.ContainsFunc(s.Files, func(f File) bool { return f.Path == path })
	}

	for i, s := range cases {
		if s.Comment == "" {
			t.Errorf("case %d (%s) has no Comment", i, s.Name)
		}
		if _, err := Build(s); err != nil {
			t.Errorf("case %s: %v", label(s), err)
		}
	}
	rel := map[string]bool{}
	for _, s := range cases {
		if rel[s.RelPath()] {
			t.Errorf("two cases write %s", s.RelPath())
		}
		rel[s.RelPath()] = true
	}

	has("no epoch", func(s Spec) bool { return s.Epoch == nil })
	has("epoch 0", func(s Spec) bool { return s.Epoch != nil && *s.Epoch == 0 })
	has("epoch 1", func(s Spec) bool { return s.Epoch != nil && *s.Epoch == 1 })
	has("an epoch beyond int32", func(s Spec) bool { return s.Epoch != nil && *s.Epoch > 1<<31 })
	has("noarch", func(s Spec) bool { return s.arch() == "noarch" && !s.Source })
	has("a source package", func(s Spec) bool { return s.Source })
	for _, a := range []string{"x86_64", "i686"} {
		has("arch "+a, func(s Spec) bool { return s.Arch == a && !s.Source })
	}
	has("all four weak dependency kinds", func(s Spec) bool {
		return len(s.Recommends) > 0 && len(s.Suggests) > 0 && len(s.Supplements) > 0 && len(s.Enhances) > 0
	})
	has("a rich dependency", func(s Spec) bool {
		return anyDep(s.Requires, func(d Dep) bool { return strings.HasPrefix(d.Name, "(") })
	})
	for _, op := range []DepFlags{LT, GT, EQ, LE, GE} {
		has("a require with "+op.op(), func(s Spec) bool {
			return anyDep(s.Requires, func(d Dep) bool { return d.Flags&(LT|GT|EQ) == op })
		})
	}
	has("a versioned require with an epoch", func(s Spec) bool {
		return anyDep(s.Requires, func(d Dep) bool { return d.Flags.op() != "" && strings.Contains(d.Version, ":") })
	})
	for _, f := range []DepFlags{ScriptPre, ScriptPost, PreReq, Interp, RPMLib} {
		has(fmt.Sprintf("a require with flag %#x", uint32(f)), func(s Spec) bool {
			return anyDep(s.Requires, func(d Dep) bool { return d.Flags&f != 0 })
		})
	}
	has("several libc.so.6(GLIBC_2.x)(64bit) requires", func(s Spec) bool {
		n := 0
		for _, d := range s.Requires {
			if strings.HasPrefix(d.Name, "libc.so.6(GLIBC_2.") && strings.HasSuffix(d.Name, "(64bit)") {
				n++
			}
		}
		return n >= 3
	})
	has("a require identical to its own provide", func(s Spec) bool {
		return anyDep(s.Requires, func(d Dep) bool { return slices.Contains(s.HeaderProvides(), d) })
	})
	has("a file require for an owned /usr/bin file", func(s Spec) bool {
		return anyDep(s.Requires, func(d Dep) bool { return strings.HasPrefix(d.Name, "/usr/bin/") && owns(s, d.Name) })
	})
	has("a file require for a file not owned", func(s Spec) bool {
		return anyDep(s.Requires, func(d Dep) bool { return strings.HasPrefix(d.Name, "/") && !owns(s, d.Name) })
	})
	has("duplicate requires", func(s Spec) bool {
		for i, d := range s.Requires {
			if slices.Contains(s.Requires[i+1:], d) {
				return true
			}
		}
		return false
	})
	fileHas := func(what string, pred func(File) bool) {
		t.Helper()
		has(what, func(s Spec) bool { return slices.ContainsFunc(s.Files, pred) })
	}
	fileHas("a file under /etc/", func(f File) bool { return strings.HasPrefix(f.Path, "/etc/") })
	fileHas("bin/ outside /bin, /usr/bin and /usr/sbin", func(f File) bool {
		return strings.Contains(f.Path, "bin/") && !strings.HasPrefix(f.Path, "/bin/") &&
			!strings.HasPrefix(f.Path, "/usr/bin/") && !strings.HasPrefix(f.Path, "/usr/sbin/")
	})
	fileHas("a directory", func(f File) bool { return f.Dir })
	fileHas("a ghost", func(f File) bool { return f.Flags&FileGhost != 0 })
	fileHas("a config file", func(f File) bool { return f.Flags&FileConfig != 0 })
	fileHas("a symlink", func(f File) bool { return f.Symlink != "" })
	fileHas("XML special characters in a file name", func(f File) bool { return xmlSpecial(f.Path) })
	has("more than 10 changelogs with consecutive equal dates", func(s Spec) bool {
		if len(s.Changelogs) <= 10 {
			return false
		}
		for i := 1; i < len(s.Changelogs); i++ {
			if s.Changelogs[i].Time.Equal(s.Changelogs[i-1].Time) {
				return true
			}
		}
		return false
	})
	has("changelogs newest first", func(s Spec) bool {
		return len(s.Changelogs) > 10 && slices.IsSortedFunc(s.Changelogs, func(a, b Changelog) int { return b.Time.Compare(a.Time) })
	})
	has("a changelog author with trailing spaces", func(s Spec) bool {
		return slices.ContainsFunc(s.Changelogs, func(c Changelog) bool { return strings.HasSuffix(c.Author, " ") })
	})
	has("XML special characters in summary and description", func(s Spec) bool { return xmlSpecial(s.Summary) && xmlSpecial(s.Description) })
	has("XML special characters in a dependency name", func(s Spec) bool {
		return anyDep(allDeps(s), func(d Dep) bool { return xmlSpecial(d.Name) })
	})
	has("non-ASCII UTF-8 in summary, description and changelog", func(s Spec) bool {
		return nonASCII(s.Summary) && nonASCII(s.Description) &&
			slices.ContainsFunc(s.Changelogs, func(c Changelog) bool { return nonASCII(c.Text) })
	})
	has("Latin-1 in summary, description and changelog", func(s Spec) bool {
		return latin1(s.Summary) && latin1(s.Description) &&
			slices.ContainsFunc(s.Changelogs, func(c Changelog) bool { return latin1(c.Author) && latin1(c.Text) })
	})
	has("a WantReject control character", func(s Spec) bool {
		return s.WantReject && strings.ContainsFunc(s.Description, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' })
	})
	has("a duplicate NEVRA with other content and build time", func(s Spec) bool {
		return slices.ContainsFunc(cases, func(o Spec) bool {
			return o.NEVRA() == s.NEVRA() && o.RelPath() != s.RelPath() && !o.BuildTime.Equal(s.BuildTime)
		})
	})
	has("a signature", func(s Spec) bool { return s.Signer != nil })
	has("many files", func(s Spec) bool { return len(s.Files) >= 1000 })
	has("no files", func(s Spec) bool { return len(s.Files) == 0 })
	has("file names that sort unlike the NEVRAs", func(s Spec) bool {
		return slices.ContainsFunc(cases, func(o Spec) bool {
			return s.NEVRA() != o.NEVRA() && (s.RelPath() < o.RelPath()) != (s.NEVRA() < o.NEVRA())
		})
	})
}

// TestDemoSelfContained checks, without dnf, what lets Demo install into
// an empty root: every require is provided within the set and there are
// no scriptlets.
func TestDemoSelfContained(t *testing.T) {
	demo := Demo()
	if len(demo) != 8 {
		t.Errorf("Demo has %d packages, want 8", len(demo))
	}
	provided := map[string]bool{}
	for _, s := range demo {
		if !strings.HasPrefix(s.Name, "rpmirror-demo-") {
			t.Errorf("%s: demo package names start with rpmirror-demo-", s.Name)
		}
		for _, p := range s.HeaderProvides() {
			provided[p.Name] = true
		}
		for _, f := range s.Files {
			provided[f.Path] = true
		}
		if s.Pre+s.Post+s.PreUn+s.PostUn != "" {
			t.Errorf("%s: demo packages must not have scriptlets", s.Name)
		}
	}
	for _, s := range demo {
		for _, d := range s.Requires {
			if d.Flags&RPMLib != 0 || strings.HasPrefix(d.Name, "(") {
				continue // rpm itself, or checked by TestDNFInstallDemo
			}
			if !provided[d.Name] {
				t.Errorf("%s requires %s, which no demo package provides", s.Name, d)
			}
		}
	}
}

func TestLayoutAndBadInput(t *testing.T) {
	b, err := Build(Cases()[0])
	if err != nil {
		t.Fatal(err)
	}
	lay, err := ParseLayout(b)
	if err != nil {
		t.Fatal(err)
	}
	if lay.SignatureStart != 96 || lay.HeaderStart%8 != 0 || lay.HeaderStart <= lay.SignatureStart ||
		lay.PayloadStart <= lay.HeaderStart || lay.Size != int64(len(b)) || !bytes.Equal(b[lay.HeaderStart:][:4], headerMagic[:4]) {
		t.Errorf("implausible layout %+v", lay)
	}
	// Cut inside the lead, the signature header and the main header: no
	// layout. Cut inside the payload: the layout is still found.
	for _, n := range []int64{0, 50, lay.SignatureStart + 20, lay.HeaderStart - 1, lay.HeaderStart + 20, lay.PayloadStart - 1} {
		tr := Truncated(b, int(n))
		if int64(len(tr)) != n {
			t.Errorf("Truncated(%d) has %d bytes", n, len(tr))
		}
		if _, err := ParseLayout(tr); err == nil {
			t.Errorf("ParseLayout of the first %d bytes: no error", n)
		}
	}
	if _, err := ParseLayout(Truncated(b, int(lay.PayloadStart)+5)); err != nil {
		t.Errorf("ParseLayout cut inside the payload: %v", err)
	}
	if got := Truncated(b, len(b)+10); !bytes.Equal(got, b) {
		t.Error("Truncated past the end does not return everything")
	}
	if got := Truncated(b, -1); len(got) != 0 {
		t.Error("Truncated(-1) is not empty")
	}
	tr := Truncated(b, 10)
	tr[0] ^= 0xff
	if b[0] != 0xed {
		t.Error("Truncated does not copy")
	}
	if _, err := ParseLayout(NotRPM()); err == nil {
		t.Error("ParseLayout(NotRPM()): no error")
	}

	mainHeader := func(b []byte, err error) header {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		lay, err := ParseLayout(b)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := decodeHeader(b[lay.HeaderStart:])
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := mainHeader(InconsistentDeps())
	if n, f, v := h[tagRequireName].count, h[tagRequireFlags].count, h[tagRequireVersion].count; n != 3 || f != 2 || v != 4 {
		t.Errorf("InconsistentDeps: require arrays of %d, %d, %d entries, want 3, 2, 4", n, f, v)
	}
	h = mainHeader(DirIndexOutOfRange())
	dirs := h[tagDirNames].count
	if idx := h[tagDirIndexes].uint32s(); !slices.ContainsFunc(idx, func(i uint32) bool { return i >= dirs }) {
		t.Errorf("DirIndexOutOfRange: indexes %v all within %d dirnames", idx, dirs)
	}
}

func TestBuildRejectsBadSpecs(t *testing.T) {
	ok := Spec{Name: "x", Version: "1", Release: "1"}
	for name, mutate := range map[string]func(*Spec){
		"no name":            func(s *Spec) { s.Name = "" },
		"no version":         func(s *Spec) { s.Version = "" },
		"blank in release":   func(s *Spec) { s.Release = "1 2" },
		"relative path":      func(s *Spec) { s.Files = []File{{Path: "usr/bin/x"}} },
		"root path":          func(s *Spec) { s.Files = []File{{Path: "/"}} },
		"duplicate path":     func(s *Spec) { s.Files = []File{{Path: "/a"}, {Path: "/a"}} },
		"dir and symlink":    func(s *Spec) { s.Files = []File{{Path: "/a", Dir: true, Symlink: "b"}} },
		"raw tag type":       func(s *Spec) { s.RawTags = []RawTag{{Tag: 5000, Value: 3.14}} },
		"unknown compressor": func(s *Spec) { s.Compressor = "bzip3" },
	} {
		s := ok
		mutate(&s)
		if _, err := Build(s); err == nil {
			t.Errorf("%s: Build succeeded", name)
		}
	}
	if _, err := Build(ok); err != nil {
		t.Errorf("minimal spec: %v", err)
	}
	other := ok
	other.Release = "2"
	other.FileName = ok.RelPath()
	if _, err := WriteAll(t.TempDir(), []Spec{ok, other}); err == nil {
		t.Error("WriteAll of two Specs with the same RelPath succeeded")
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	h := header{
		1000: stringEntry("name"),
		1001: {typ: typeInt16, count: 1, data: []byte{0, 7}},
		1002: int32Entry([]uint32{1, 2}),
		1003: stringArrayEntry([]string{"a", "", "c"}),
		1004: binEntry([]byte{1, 2, 3}),
		1005: {typ: typeInt64, count: 1, data: []byte{0, 0, 0, 0, 0, 0, 0, 9}},
	}
	b := h.encode(tagHeaderImmutable)
	got, n, err := decodeHeader(append(b, "trailing"...))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(b) {
		t.Errorf("decoded %d bytes, encoded %d", n, len(b))
	}
	for tag, e := range h {
		if g := got[tag]; g.typ != e.typ || g.count != e.count || !bytes.Equal(g.data, e.data) {
			t.Errorf("tag %d: got %+v, want %+v", tag, g, e)
		}
	}
	if len(got) != len(h) {
		t.Errorf("got %d tags, want %d", len(got), len(h))
	}
}
