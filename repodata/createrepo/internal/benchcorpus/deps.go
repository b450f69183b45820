package main

import (
	"fmt"
	"math"
	"strings"
)

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
			g.add(requires, g.p.pkgs[g.p.first[pk.src]].name, evr, senseEQ)
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
