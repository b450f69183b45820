package main

import (
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/google/rpmpack"
)

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
