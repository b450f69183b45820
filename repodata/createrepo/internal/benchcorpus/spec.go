package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"strings"

	"github.com/google/rpmpack"
)

// spec is one binary package, complete but for its file sizes
// (shareFiles sets them).
type spec struct {
	name, version, release, arch string
	epoch                        uint32
	summary, description         string
	license, url, group, vendor  string
	packager, buildHost          string
	sourceRPM                    string
	buildTime                    int64
	files                        []fileSpec
	deps                         [numDepKinds][]dep
	changelog                    []changelogEntry // newest first, as in the header
	pre, post, preun, postun     string
	contentSeed                  uint64
}

type fileSpec struct {
	path   string
	mode   uint // permissions, with 040000 for a directory, 0120000 for a symbolic link
	flags  rpmpack.FileType
	link   string  // target of a symbolic link
	weight float64 // share of the package's payload; 0: an empty file
	size   int64
}

// hasContent reports whether f is a regular file with bytes in the payload.
func (f *fileSpec) hasContent() bool {
	return f.mode&0170000 == 0 && f.flags&rpmpack.GhostFile == 0
}

type changelogEntry struct {
	time         int64
	author, text string
}

// gen builds the spec of one package from its own generator.
type gen struct {
	r   *rand.Rand
	p   *plan
	pk  *pkg
	src *source
	s   *spec
	fl  fileList

	hasConfig, hasService, hasScript bool
	modules                          []string // Perl modules the package's files provide
	locales                          int      // locales used so far
}

// spec returns package i's spec. It depends only on the plan and i.
func (p *plan) spec(i int) *spec {
	pk := &p.pkgs[i]
	src := &p.sources[pk.src]
	r := rand.New(rand.NewPCG(p.seed, uint64(i)+1))
	g := &gen{r: r, p: p, pk: pk, src: src, fl: fileList{seen: map[string]bool{}}}
	g.s = &spec{
		name:        pk.name,
		version:     src.version,
		release:     src.release,
		arch:        pk.arch,
		epoch:       src.epoch,
		license:     src.license,
		url:         src.vendorURL,
		group:       "Unspecified",
		vendor:      "rpmirror benchmark corpus",
		packager:    "Bench Build System <build@example.org>",
		buildHost:   fmt.Sprintf("x86-%02d.build.example.org", r.IntN(40)),
		sourceRPM:   fmt.Sprintf("%s-%s-%s.src.rpm", src.srcName, src.version, src.release),
		buildTime:   src.buildTime,
		contentSeed: r.Uint64(),
	}
	g.files()
	g.deps()
	g.changelog()
	g.s.summary, g.s.description = g.texts()
	return g.s
}

// ---- files ----

type fileList struct {
	files []fileSpec
	seen  map[string]bool
}

func (l *fileList) add(f fileSpec) bool {
	if l.seen[f.path] {
		return false
	}
	l.seen[f.path] = true
	l.files = append(l.files, f)
	return true
}

func (l *fileList) dir(p string)          { l.add(fileSpec{path: p, mode: 0o40755}) }
func (l *fileList) link(p, target string) { l.add(fileSpec{path: p, mode: 0o120777, link: target}) }

// unique returns dir/name+ext, or dir/name-k+ext if that is taken.
func (l *fileList) unique(dir, name, ext string, k int) string {
	p := dir + "/" + name + ext
	if l.seen[p] {
		p = fmt.Sprintf("%s/%s-%d%s", dir, name, k, ext)
	}
	return p
}

// file adds a regular file whose size is w times a random factor.
func (g *gen) file(p string, mode uint, w float64, flags rpmpack.FileType) {
	g.fl.add(fileSpec{path: p, mode: mode, flags: flags, weight: w * math.Exp(1.2*g.r.NormFloat64())})
}

func (g *gen) ghost(p string, mode uint) {
	g.fl.add(fileSpec{path: p, mode: mode, flags: rpmpack.GhostFile})
}

// cursor hands out directories under root for a run of files: a first
// batch in root, then batches in new subdirectories (some nested), all
// owned by the package, like a documentation or module tree.
type cursor struct {
	root, cur string
	left      int
	capital   bool             // capitalized directory names (Perl modules)
	onNew     func(dir string) // called for each directory created
}

func (g *gen) next(c *cursor, k int) string {
	if c.left > 0 {
		c.left--
		return c.cur
	}
	c.left = 2 + g.r.IntN(25)
	name := pick(g.r, words)
	if c.capital {
		name = capitalize(name)
	}
	switch {
	case c.cur == "":
		c.cur = c.root
	case g.r.Float64() < 0.3 && strings.Count(c.cur, "/")-strings.Count(c.root, "/") < 3:
		c.cur = g.fl.unique(c.cur, name, "", k)
	default:
		c.cur = g.fl.unique(c.root, name, "", k)
	}
	g.fl.dir(c.cur)
	if c.onNew != nil {
		c.onNew(c.cur)
	}
	return c.cur
}

func (g *gen) fileCount() int {
	r := g.r
	if r.Float64() < 0.005 {
		return 500 + r.IntN(1501)
	}
	n := 20 * math.Exp(0.95*r.NormFloat64())
	switch g.pk.kind {
	case kindDoc, kindData:
		n *= 2.5
	case kindPerl:
		n *= 0.5
	}
	return min(max(int(n), 3), 2000)
}

func (g *gen) files() {
	n := g.fileCount()
	switch g.pk.kind {
	case kindLib:
		g.libFiles(n)
	case kindDevel:
		g.develFiles(n)
	case kindTool:
		g.toolFiles(n)
	case kindPython:
		g.pythonFiles(n)
	case kindPerl:
		g.perlFiles(n)
	case kindDoc:
		g.docFiles(n)
	case kindData:
		g.dataFiles(n)
	}
	g.s.files = g.fl.files
}

func (g *gen) docs(name string) {
	d := "/usr/share/doc/" + name
	g.fl.dir(d)
	g.file(d+"/README.md", 0o644, 0.05, rpmpack.DocFile)
	for _, f := range []string{"NEWS", "AUTHORS", "CHANGES.md", "CONTRIBUTING.md"} {
		if g.r.Float64() < 0.4 {
			g.file(d+"/"+f, 0o644, 0.05, rpmpack.DocFile)
		}
	}
}

func (g *gen) licenses(name string) {
	d := "/usr/share/licenses/" + name
	g.fl.dir(d)
	g.file(d+"/"+pick(g.r, []string{"COPYING", "LICENSE", "LICENSE.txt"}), 0o644, 0.03, rpmpack.LicenceFile)
}

// locale adds a message catalogue; false when every locale is used.
func (g *gen) locale(domain string) bool {
	if g.locales == len(locales) {
		return false
	}
	g.file("/usr/share/locale/"+locales[g.locales]+"/LC_MESSAGES/"+domain+".mo", 0o644, 0.1, 0)
	g.locales++
	return true
}

func (g *gen) libFiles(n int) {
	b, r := g.src.base, g.r
	so := fmt.Sprintf("/usr/lib64/lib%s.so.%d", b, g.src.soMajor)
	real := fmt.Sprintf("%s.%d.%d", so, r.IntN(20), r.IntN(10))
	g.fl.link(so, path.Base(real))
	g.file(real, 0o755, 8, 0)
	g.licenses(g.pk.name)
	if r.Float64() < 0.6 {
		g.docs(g.pk.name)
	}
	if r.Float64() < 0.15 {
		g.file("/etc/"+b+".conf", 0o644, 0.02, rpmpack.ConfigFile|rpmpack.NoReplaceFile)
		g.hasConfig = true
	}
	plugins := &cursor{root: "/usr/lib64/" + b}
	data := &cursor{root: "/usr/share/" + b}
	for k := 0; len(g.fl.files) < n; k++ {
		switch x := r.Float64(); {
		case x < 0.2 && g.locale(b):
		case x < 0.6:
			g.file(g.fl.unique(g.next(plugins, k), pick(r, words), ".so", k), 0o755, 1, 0)
		default:
			g.file(g.fl.unique(g.next(data, k), pick(r, words), pick(r, dataExts), k), 0o644, 0.5, 0)
		}
	}
}

func (g *gen) develFiles(n int) {
	b, r := g.src.base, g.r
	inc := "/usr/include/" + b
	g.fl.dir(inc)
	g.file(inc+"/"+b+".h", 0o644, 0.3, 0)
	g.fl.link("/usr/lib64/lib"+b+".so", fmt.Sprintf("lib%s.so.%d", b, g.src.soMajor))
	g.file("/usr/lib64/pkgconfig/"+b+".pc", 0o644, 0.01, 0)
	if r.Float64() < 0.3 {
		c := "/usr/lib64/cmake/" + cmakeName(b)
		g.fl.dir(c)
		g.file(c+"/"+cmakeName(b)+"Config.cmake", 0o644, 0.02, 0)
		g.file(c+"/"+cmakeName(b)+"ConfigVersion.cmake", 0o644, 0.01, 0)
	}
	headers := &cursor{root: inc, cur: inc, left: 5 + r.IntN(20)}
	for k := 0; len(g.fl.files) < n; k++ {
		if r.Float64() < 0.75 {
			g.file(g.fl.unique(g.next(headers, k), pick(r, words), ".h", k), 0o644, 0.1, 0)
		} else {
			g.file(g.fl.unique("/usr/share/man/man3", b+"_"+pick(r, words), ".3.gz", k), 0o644, 0.02, rpmpack.DocFile)
		}
	}
}

func (g *gen) toolFiles(n int) {
	b, r := g.src.base, g.r
	g.file("/usr/bin/"+b, 0o755, 4, 0)
	if r.Float64() < 0.5 {
		g.fl.dir("/etc/" + b)
		g.file("/etc/"+b+"/"+b+".conf", 0o644, 0.02, rpmpack.ConfigFile|rpmpack.NoReplaceFile)
		if r.Float64() < 0.4 {
			g.file("/etc/sysconfig/"+b, 0o644, 0.01, rpmpack.ConfigFile|rpmpack.NoReplaceFile)
		}
		g.hasConfig = true
	}
	if r.Float64() < 0.3 {
		g.file("/usr/lib/systemd/system/"+b+".service", 0o644, 0.01, 0)
		g.ghost("/var/log/"+b+".log", 0o640)
		g.ghost("/run/"+b, 0o40755)
		g.hasService = true
	}
	g.file("/usr/share/man/man1/"+b+".1.gz", 0o644, 0.03, rpmpack.DocFile)
	if r.Float64() < 0.4 {
		g.file("/usr/share/bash-completion/completions/"+b, 0o644, 0.02, 0)
	}
	g.docs(g.pk.name)
	g.licenses(g.pk.name)
	libexec := &cursor{root: "/usr/libexec/" + b}
	data := &cursor{root: "/usr/share/" + b}
	for k := 0; len(g.fl.files) < n; k++ {
		switch x := r.Float64(); {
		case x < 0.15:
			g.file(g.fl.unique("/usr/bin", b+"-"+pick(r, words), "", k), 0o755, 1, 0)
		case x < 0.35:
			g.file(g.fl.unique(g.next(libexec, k), pick(r, words), "", k), 0o755, 1, 0)
		case x < 0.45 && g.locale(b):
		case x < 0.50:
			g.file(g.fl.unique("/usr/share/man/man1", b+"-"+pick(r, words), ".1.gz", k), 0o644, 0.02, rpmpack.DocFile)
		default:
			g.file(g.fl.unique(g.next(data, k), pick(r, words), pick(r, dataExts), k), 0o644, 0.5, 0)
		}
	}
}

func (g *gen) pythonFiles(n int) {
	b, r := g.src.base, g.r
	sp := "/usr/lib/python3.11/site-packages"
	if g.pk.arch != "noarch" {
		sp = "/usr/lib64/python3.11/site-packages"
	}
	// A Python package directory: __init__.py and its byte code.
	pyPackage := func(dir string) {
		g.pyModule(dir, "__init__", r.Float64() < 0.3)
	}
	top := sp + "/" + b
	g.fl.dir(top)
	pyPackage(top)
	info := fmt.Sprintf("%s/%s-%s.dist-info", sp, b, pyVersion(g.src.version))
	g.fl.dir(info)
	for _, f := range []string{"METADATA", "RECORD", "top_level.txt", "INSTALLER"} {
		g.file(info+"/"+f, 0o644, 0.01, 0)
	}
	if g.pk.arch != "noarch" {
		g.file(fmt.Sprintf("%s/_%s.cpython-311-x86_64-linux-gnu.so", top, b), 0o755, 5, 0)
	}
	if r.Float64() < 0.3 {
		g.file("/usr/bin/"+b, 0o755, 0.01, 0)
		g.hasScript = true
	}
	g.licenses(g.pk.name)
	mods := &cursor{root: top, cur: top, left: 3 + r.IntN(20), onNew: pyPackage}
	for k := 0; len(g.fl.files) < n; k++ {
		dir := g.next(mods, k)
		g.pyModule(dir, g.uniqueModule(dir, k), false)
	}
}

func (g *gen) uniqueModule(dir string, k int) string {
	m := pick(g.r, words)
	if g.fl.seen[dir+"/"+m+".py"] {
		m = fmt.Sprintf("%s%d", m, k)
	}
	return m
}

// pyModule adds dir/mod.py and its two byte-code files.
func (g *gen) pyModule(dir, mod string, empty bool) {
	w := 0.3
	if empty {
		w = 0
	}
	g.file(dir+"/"+mod+".py", 0o644, w, 0)
	cache := dir + "/__pycache__"
	g.fl.dir(cache)
	g.file(cache+"/"+mod+".cpython-311.pyc", 0o644, w, 0)
	g.file(cache+"/"+mod+".cpython-311.opt-1.pyc", 0o644, w, 0)
}

func (g *gen) perlFiles(n int) {
	r := g.r
	vp := "/usr/share/perl5/vendor_perl"
	if g.pk.arch != "noarch" {
		vp = "/usr/lib64/perl5/vendor_perl"
	}
	mod := g.src.module
	rel := strings.ReplaceAll(mod, "::", "/")
	if d := path.Dir(rel); d != "." {
		g.fl.dir(vp + "/" + d)
	}
	g.perlModule(vp, mod)
	if g.pk.arch != "noarch" {
		auto := vp + "/auto/" + rel
		g.fl.dir(auto)
		g.file(auto+"/"+path.Base(rel)+".so", 0o755, 3, 0)
	}
	g.docs(g.pk.name)
	g.licenses(g.pk.name)
	subs := &cursor{root: vp + "/" + rel, capital: true}
	for k := 0; len(g.fl.files) < n; k++ {
		dir := g.next(subs, k)
		name := capitalize(pick(r, words))
		if g.fl.seen[dir+"/"+name+".pm"] {
			name = fmt.Sprintf("%s%d", name, k)
		}
		g.perlModule(vp, strings.ReplaceAll(strings.TrimPrefix(dir+"/"+name, vp+"/"), "/", "::"))
	}
}

func (g *gen) perlModule(vp, mod string) {
	g.file(vp+"/"+strings.ReplaceAll(mod, "::", "/")+".pm", 0o644, 0.3, 0)
	g.file("/usr/share/man/man3/"+mod+".3pm.gz", 0o644, 0.05, rpmpack.DocFile)
	g.modules = append(g.modules, mod)
}

func (g *gen) docFiles(n int) {
	r := g.r
	d := "/usr/share/doc/" + g.pk.name
	g.fl.dir(d)
	html := d + "/html"
	g.fl.dir(html)
	g.file(html+"/index.html", 0o644, 0.1, rpmpack.DocFile)
	pages := &cursor{root: html, cur: html, left: 5 + r.IntN(30)}
	for k := 0; len(g.fl.files) < n; k++ {
		g.file(g.fl.unique(g.next(pages, k), pick(r, words), pick(r, docExts), k), 0o644, 0.2, rpmpack.DocFile)
	}
}

func (g *gen) dataFiles(n int) {
	r := g.r
	root := "/usr/share/" + g.src.base
	data := &cursor{root: root}
	for k := 0; len(g.fl.files) < n; k++ {
		g.file(g.fl.unique(g.next(data, k), pick(r, words), pick(r, dataExts), k), 0o644, 1, 0)
	}
}

// ---- dependencies ----

type depKind int

const (
	provides depKind = iota
	requires
	conflicts
	obsoletes
	recommends
	suggests
	supplements
	enhances
	numDepKinds
)

type dep struct {
	name, version string
	flags         uint32
}

// rpmsenseFlags, from rpm's rpmds.h.
const (
	senseLT           = 1 << 1
	senseGT           = 1 << 2
	senseEQ           = 1 << 3
	senseLE           = senseLT | senseEQ
	senseGE           = senseGT | senseEQ
	senseInterp       = 1 << 8
	senseScriptPre    = 1 << 9
	senseScriptPost   = 1 << 10
	senseScriptPreUn  = 1 << 11
	senseScriptPostUn = 1 << 12
	senseFindRequires = 1 << 14
	senseFindProvides = 1 << 15
	senseRPMLib       = 1 << 24
	senseConfig       = 1 << 28
)

func (g *gen) add(k depKind, name, version string, flags uint32) {
	g.s.deps[k] = append(g.s.deps[k], dep{name, version, flags})
}

func (g *gen) has(k depKind, name string) bool {
	for _, d := range g.s.deps[k] {
		if d.name == name {
			return true
		}
	}
	return false
}

// otherSource returns a source index from list other than the package's
// own, or -1.
func (g *gen) otherSource(list []int) int {
	for range 4 {
		if len(list) == 0 {
			return -1
		}
		if i := list[g.r.IntN(len(list))]; i != g.pk.src {
			return i
		}
	}
	return -1
}

func (g *gen) soname(si int) string {
	s := &g.p.sources[si]
	return fmt.Sprintf("lib%s.so.%d", s.base, s.soMajor)
}

func (g *gen) deps() {
	r, pk, src := g.r, g.pk, g.src
	evr := src.evr()
	arch := pk.arch != "noarch"
	b := src.base

	// The target number of requires and provides together.
	want := min(max(int(14*math.Exp(0.55*r.NormFloat64())), 5), 60)
	if pk.kind == kindDoc {
		want = 5
	}

	g.add(provides, pk.name, evr, senseEQ)
	if arch {
		g.add(provides, pk.name+"(x86-64)", evr, senseEQ)
	}
	if g.hasConfig {
		g.add(provides, "config("+pk.name+")", evr, senseConfig|senseEQ)
		g.add(requires, "config("+pk.name+")", evr, senseConfig|senseEQ)
	}
	if arch {
		g.add(requires, "libc.so.6()(64bit)", "", senseFindRequires)
		g.add(requires, "libc.so.6(GLIBC_2.2.5)(64bit)", "", senseFindRequires)
		for _, v := range glibcVersions {
			if r.Float64() < 0.25 {
				g.add(requires, "libc.so.6(GLIBC_"+v+")(64bit)", "", senseFindRequires)
			}
		}
		if r.Float64() < 0.5 {
			g.add(requires, pick(r, systemLibs), "", senseFindRequires)
		}
	}
	rich := false

	switch pk.kind {
	case kindLib:
		so := g.soname(pk.src)
		g.add(provides, so+"()(64bit)", "", senseFindProvides)
		if r.Float64() < 0.2 {
			g.add(requires, "/sbin/ldconfig", "", senseInterp|senseScriptPost)
			g.s.post = "/sbin/ldconfig"
		}
	case kindDevel:
		g.add(provides, "pkgconfig("+b+")", pkgVersion(src.version), senseFindProvides|senseEQ)
		g.add(requires, "lib"+b+"(x86-64)", evr, senseEQ)
		g.add(requires, g.soname(pk.src)+"()(64bit)", "", senseFindRequires)
		g.add(requires, "/usr/bin/pkg-config", "", senseFindRequires)
		if o := g.otherSource(g.p.libs); o >= 0 {
			g.add(requires, "pkgconfig("+g.p.sources[o].base+")", "", senseFindRequires)
		}
	case kindTool:
		if src.flavor == flavorLib {
			g.add(requires, "lib"+b+"(x86-64)", evr, senseEQ)
			g.add(requires, g.soname(pk.src)+"()(64bit)", "", senseFindRequires)
		}
		if r.Float64() < 0.1 {
			g.add(provides, "bundled("+pick(r, bundled)+")", fmt.Sprintf("%d.%d", r.IntN(5), r.IntN(20)), senseEQ)
		}
		if g.hasService {
			g.s.pre = fmt.Sprintf("getent group %[1]s >/dev/null || groupadd -r %[1]s\ngetent passwd %[1]s >/dev/null || \\\n    useradd -r -g %[1]s -d /var/lib/%[1]s -s /sbin/nologin %[1]s\nexit 0\n", b)
			g.s.post = fmt.Sprintf("if [ $1 -eq 1 ]; then\n    systemctl --no-reload preset %s.service >/dev/null 2>&1 || :\nfi\n", b)
			g.s.preun = fmt.Sprintf("if [ $1 -eq 0 ]; then\n    systemctl --no-reload disable --now %s.service >/dev/null 2>&1 || :\nfi\n", b)
			g.s.postun = fmt.Sprintf("systemctl try-restart %s.service >/dev/null 2>&1 || :\n", b)
			g.add(requires, "/bin/sh", "", senseInterp|senseScriptPre)
			g.add(requires, "/bin/sh", "", senseInterp|senseScriptPost)
			g.add(requires, "shadow-utils", "", senseScriptPre)
			g.add(requires, "systemd", "", senseScriptPost)
			g.add(requires, "systemd", "", senseScriptPreUn)
			g.add(requires, "systemd", "", senseScriptPostUn)
		}
	case kindPython:
		dist := pyDist(b)
		g.add(provides, "python3.11-"+b, evr, senseEQ)
		g.add(provides, "python-"+b, evr, senseEQ)
		g.add(provides, "python3.11dist("+dist+")", pyVersion(src.version), senseEQ)
		g.add(provides, "python3dist("+dist+")", pyVersion(src.version), senseEQ)
		g.add(requires, "python(abi)", "3.11", senseEQ)
		if g.hasScript {
			g.add(requires, "/usr/bin/python3", "", senseFindRequires)
		}
		if r.Float64() < 0.3 {
			if o := g.otherSource(g.p.pythons); o >= 0 {
				d := pyDist(g.p.sources[o].base)
				lo, hi := r.IntN(3), 3+r.IntN(5)
				g.add(requires, fmt.Sprintf("(python3.11dist(%s) < %d~~ with python3.11dist(%s) >= %d.%d)", d, hi, d, lo, r.IntN(20)), "", 0)
				rich = true
			}
		}
	case kindPerl:
		for j, m := range g.modules {
			v := ""
			var f uint32 = senseFindProvides
			if j == 0 || r.Float64() < 0.3 {
				v, f = pkgVersion(src.version), senseFindProvides|senseEQ
			}
			g.add(provides, "perl("+m+")", v, f)
		}
		g.add(requires, "perl(:MODULE_COMPAT_5.36.0)", "", 0)
		g.add(requires, "perl-libs", "", 0)
		g.add(requires, "perl(:VERSION)", "5.10.0", senseGE)
		if arch {
			g.add(requires, "libperl.so.5.36()(64bit)", "", senseFindRequires)
		}
	case kindDoc, kindData:
		if r.Float64() < 0.3 {
			g.add(requires, src.srcName, evr, senseEQ)
		}
	}

	// Pad to the target count with the dependencies packages of each kind
	// have many of.
	count := func() int { return len(g.s.deps[provides]) + len(g.s.deps[requires]) }
	pad := func(k depKind, name, version string, flags uint32) {
		if !g.has(k, name) {
			g.add(k, name, version, flags)
		}
	}
	for k := 0; count() < want && k < 4*want; k++ {
		switch {
		case pk.kind == kindLib && r.Float64() < 0.5:
			pad(provides, fmt.Sprintf("%s(%s_%d.%d)(64bit)", g.soname(pk.src), strings.ToUpper(strings.TrimSuffix(b, "++")), r.IntN(4), r.IntN(30)), "", senseFindProvides)
		case pk.kind == kindPython:
			if o := g.otherSource(g.p.pythons); o >= 0 {
				pad(requires, "python3.11dist("+pyDist(g.p.sources[o].base)+")", fmt.Sprintf("%d.%d", r.IntN(4), r.IntN(30)), senseGE)
			} else {
				pad(requires, "python3.11dist("+pick(r, words)+")", "", 0)
			}
		case pk.kind == kindPerl:
			if o := g.otherSource(g.p.perls); o >= 0 && r.Float64() < 0.4 {
				pad(requires, "perl("+g.p.sources[o].module+")", "", senseFindRequires)
			} else {
				pad(requires, "perl("+pick(r, perlCore)+")", "", senseFindRequires)
			}
		case arch:
			if o := g.otherSource(g.p.libs); o >= 0 && r.Float64() < 0.6 {
				pad(requires, g.soname(o)+"()(64bit)", "", senseFindRequires)
			} else {
				pad(requires, pick(r, systemLibs), "", senseFindRequires)
			}
		default:
			pad(requires, pick(r, commonRequires), "", 0)
		}
	}

	// What createrepo must filter: duplicates, a file the package owns,
	// a requirement equal to a provide (config() above).
	if n := len(g.s.deps[requires]); n > 0 && r.Float64() < 0.03 {
		g.s.deps[requires] = append(g.s.deps[requires], g.s.deps[requires][r.IntN(n)])
	}
	if r.Float64() < 0.02 {
		for _, f := range g.fl.files {
			if strings.HasPrefix(f.path, "/usr/bin/") {
				g.add(requires, f.path, "", 0)
				break
			}
		}
	}
	if r.Float64() < 0.05 {
		g.add(requires, fmt.Sprintf("(%s if %s)", g.otherName(), g.otherName()), "", 0)
		rich = true
	}
	if arch && r.Float64() < 0.15 {
		g.add(requires, "glibc", "2.34", senseGE)
	}

	// Weak and negative dependencies.
	if r.Float64() < 0.15 {
		for range 1 + r.IntN(3) {
			g.add(recommends, g.otherName(), "", 0)
		}
	}
	if r.Float64() < 0.08 {
		g.add(suggests, g.otherName(), "", 0)
	}
	if r.Float64() < 0.04 {
		g.add(supplements, fmt.Sprintf("(%s and %s)", g.otherName(), pick(r, []string{"bash-completion", "langpacks-de", "systemd"})), "", 0)
	}
	if r.Float64() < 0.04 {
		g.add(enhances, g.otherName(), "", 0)
	}
	if r.Float64() < 0.04 {
		g.add(conflicts, g.otherName(), fmt.Sprintf("%d.%d", r.IntN(3), r.IntN(10)), senseLT)
	}
	if r.Float64() < 0.06 {
		g.add(obsoletes, pk.name+"-compat", evr, senseLT)
	}

	// rpmbuild's rpmlib() requirements.
	g.add(requires, "rpmlib(CompressedFileNames)", "3.0.4-1", senseRPMLib|senseLE)
	g.add(requires, "rpmlib(FileDigests)", "4.6.0-1", senseRPMLib|senseLE)
	g.add(requires, "rpmlib(PayloadFilesHavePrefix)", "4.0-1", senseRPMLib|senseLE)
	g.add(requires, "rpmlib(PayloadIsZstd)", "5.4.18-1", senseRPMLib|senseLE)
	if rich {
		g.add(requires, "rpmlib(RichDependencies)", "4.12.0-1", senseRPMLib|senseLE)
	}

	// rpmbuild sorts provides and requires by name.
	for _, k := range []depKind{provides, requires} {
		sortDeps(g.s.deps[k])
	}
}

func sortDeps(ds []dep) {
	// Insertion sort: the lists are short, and it is stable.
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].name < ds[j-1].name; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

// otherName is the name of a random package of the corpus.
func (g *gen) otherName() string {
	return g.p.pkgs[g.r.IntN(len(g.p.pkgs))].name
}

// ---- changelog ----

func (g *gen) changelog() {
	r := g.r
	n := 0
	if r.Float64() >= 0.1 {
		n = min(max(int(6*math.Exp(0.8*r.NormFloat64())), 1), 40)
	}
	// rpmbuild stores each entry's date at 12:00 UTC.
	t := g.s.buildTime/86400*86400 + 43200
	if t > g.s.buildTime {
		t -= 86400
	}
	for j := range n {
		evr := g.src.evr()
		if j > 0 {
			evr = fmt.Sprintf("%d.%d.%d-%d", r.IntN(5), r.IntN(30), r.IntN(20), 1+r.IntN(5))
		}
		author := fmt.Sprintf("%s - %s", pick(r, authors), evr)
		if r.Float64() < 0.01 {
			author += " "
		}
		var text strings.Builder
		for l := range 1 + r.IntN(4) {
			if l > 0 {
				text.WriteByte('\n')
			}
			text.WriteString("- ")
			text.WriteString(g.fill(pick(r, changes)))
		}
		g.s.changelog = append(g.s.changelog, changelogEntry{time: t, author: author, text: text.String()})
		if r.Float64() >= 0.04 { // some entries share a date
			t -= 86400 * (1 + r.Int64N(120))
		}
	}
}

// ---- small helpers ----

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

func cmakeName(base string) string { return capitalize(strings.TrimSuffix(base, "++")) }

// pyDist is the normalized distribution name of a Python project.
func pyDist(base string) string { return strings.ToLower(base) }

// pyVersion and pkgVersion drop what Python and pkg-config versions
// cannot say.
func pyVersion(v string) string {
	v, _, _ = strings.Cut(v, "^")
	return strings.ReplaceAll(v, "~", "")
}

func pkgVersion(v string) string {
	v, _, _ = strings.Cut(v, "~")
	v, _, _ = strings.Cut(v, "^")
	return v
}
