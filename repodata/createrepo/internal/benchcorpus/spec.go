package main

import (
	"fmt"
	"math"
	"math/rand/v2"
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
