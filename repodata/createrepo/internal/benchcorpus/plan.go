package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/rpmpack"
)

// kind is what a binary package contains; it decides the file list, the
// dependencies and the texts.
type kind uint8

const (
	kindLib    kind = iota // libfoo: a shared library
	kindDevel              // libfoo-devel: headers, pkg-config, unversioned .so
	kindTool               // foo, foo-tools: commands, configuration, a service
	kindPython             // python3-foo: a Python package
	kindPerl               // perl-Foo-Bar: Perl modules
	kindDoc                // foo-doc: noarch documentation
	kindData               // foo-data: noarch data files
)

// sizeScale is each kind's typical size relative to the others.
var sizeScale = [...]float64{
	kindLib: 1, kindDevel: 0.35, kindTool: 1.2, kindPython: 0.6,
	kindPerl: 0.3, kindDoc: 0.9, kindData: 2.5,
}

// flavor is what a source package builds.
type flavor uint8

const (
	flavorLib flavor = iota
	flavorTool
	flavorPython
	flavorPerl
)

// source is one source package, shared by its subpackages.
type source struct {
	flavor    flavor
	base      string // "zenkor"
	module    string // Perl module prefix, "Zen::Kor"
	srcName   string // name of the source package
	version   string
	release   string
	epoch     uint32 // rpmpack.NoEpoch for none
	soMajor   int
	buildTime int64
	license   string
	vendorURL string
}

func (s *source) evr() string {
	if s.epoch == rpmpack.NoEpoch {
		return s.version + "-" + s.release
	}
	return fmt.Sprintf("%d:%s-%s", s.epoch, s.version, s.release)
}

// pkg is one binary package of the corpus.
type pkg struct {
	src    int // index into plan.sources
	kind   kind
	name   string
	arch   string
	weight float64 // share of the corpus's payload bytes
}

// plan is the whole corpus before any package is built: names, versions
// and sizes. It is built sequentially from one generator, so it is the
// same whatever the number of workers; packages are then built from it
// and their index alone.
type plan struct {
	seed    uint64
	sources []source
	pkgs    []pkg
	first   []int // index of each source's first (main) package
	// Source indexes by flavor, for dependencies between packages.
	libs, pythons, perls []int
}

func newPlan(n int, seed uint64) *plan {
	r := rand.New(rand.NewPCG(seed, 0))
	p := &plan{seed: seed}
	used := map[string]bool{}
	epoch0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

	for len(p.pkgs) < n {
		var s source
		switch x := r.Float64(); {
		case x < 0.32:
			s.flavor = flavorLib
		case x < 0.65:
			s.flavor = flavorTool
		case x < 0.90:
			s.flavor = flavorPython
		default:
			s.flavor = flavorPerl
		}
		var pkgs []pkg
		for {
			s.base = baseName(r)
			if s.flavor != flavorLib {
				s.base = strings.TrimSuffix(s.base, "++")
			}
			s.module = perlModule(s.base)
			pkgs = subpackages(r, &s)
			if !anyUsed(used, s.srcName, pkgs) {
				break
			}
		}
		used[s.srcName] = true
		s.version = version(r)
		s.release = release(r)
		s.epoch = epoch(r)
		s.soMajor = soMajor(r)
		s.buildTime = epoch0 + r.Int64N(2*365*86400)
		s.license = pick(r, licenses)
		s.vendorURL = fmt.Sprintf("https://%s/%s", pick(r, forges), s.base)

		si := len(p.sources)
		switch s.flavor {
		case flavorLib:
			p.libs = append(p.libs, si)
		case flavorPython:
			p.pythons = append(p.pythons, si)
		case flavorPerl:
			p.perls = append(p.perls, si)
		}
		p.sources = append(p.sources, s)
		p.first = append(p.first, len(p.pkgs))
		for _, pk := range pkgs {
			used[pk.name] = true
			pk.src = si
			pk.weight = sizeScale[pk.kind] * math.Exp(1.5*r.NormFloat64())
			p.pkgs = append(p.pkgs, pk)
		}
	}
	p.pkgs = p.pkgs[:n]

	// Cap the tail so that a small corpus is not one huge package.
	var mean float64
	for _, pk := range p.pkgs {
		mean += pk.weight
	}
	mean /= float64(n)
	for i := range p.pkgs {
		p.pkgs[i].weight = min(p.pkgs[i].weight, 50*mean)
	}
	return p
}

func anyUsed(used map[string]bool, src string, pkgs []pkg) bool {
	if used[src] {
		return true
	}
	for _, pk := range pkgs {
		if used[pk.name] {
			return true
		}
	}
	return false
}

// subpackages sets s.srcName and returns the binary packages s builds.
func subpackages(r *rand.Rand, s *source) []pkg {
	b := s.base
	var ps []pkg
	add := func(k kind, name, arch string) { ps = append(ps, pkg{kind: k, name: name, arch: arch}) }
	switch s.flavor {
	case flavorLib:
		s.srcName = b
		add(kindLib, "lib"+b, "x86_64")
		if r.Float64() < 0.85 {
			add(kindDevel, "lib"+b+"-devel", "x86_64")
		}
		if r.Float64() < 0.30 {
			add(kindTool, b+"-tools", "x86_64")
		}
		if r.Float64() < 0.10 {
			add(kindPython, "python3-"+b, "x86_64")
		}
		if r.Float64() < 0.15 {
			add(kindDoc, "lib"+b+"-doc", "noarch")
		}
	case flavorTool:
		s.srcName = b
		add(kindTool, b, "x86_64")
		if r.Float64() < 0.20 {
			add(kindDoc, b+"-doc", "noarch")
		}
		if r.Float64() < 0.12 {
			add(kindData, b+"-data", "noarch")
		}
	case flavorPython:
		s.srcName = "python-" + b
		arch := "noarch"
		if r.Float64() < 0.3 {
			arch = "x86_64"
		}
		add(kindPython, "python3-"+b, arch)
		if r.Float64() < 0.10 {
			add(kindDoc, "python-"+b+"-doc", "noarch")
		}
	case flavorPerl:
		s.srcName = "perl-" + strings.ReplaceAll(s.module, "::", "-")
		arch := "noarch"
		if r.Float64() < 0.15 {
			arch = "x86_64"
		}
		add(kindPerl, s.srcName, arch)
	}
	return ps
}

var syllables = strings.Fields(`ab ak al am an ar as bel bor bri cal cor cy dal dex dor
	el en er fa fen fi gal gor ha hel in ir jan ka kel kor la lum ly mar mel mo nar nex
	no ob or pa pel pix qua ra rel ro sa sel syn ta tel tor ul um va vel vo wen xa xor
	yo za zen zu`)

var nameSuffixes = []string{"kit", "utils", "fs", "d", "ng", "2", "3", "x", "++"}

func baseName(r *rand.Rand) string {
	var b strings.Builder
	for range 2 + r.IntN(2) {
		b.WriteString(pick(r, syllables))
	}
	if r.Float64() < 0.12 {
		b.WriteString(pick(r, nameSuffixes))
	}
	return b.String()
}

// perlModule turns "zenkor2" into "Zenkor2", and longer names into two
// parts: "belcorxa" → "Belc::Orxa".
func perlModule(base string) string {
	if len(base) < 7 {
		return strings.ToUpper(base[:1]) + base[1:]
	}
	h := len(base) / 2
	return strings.ToUpper(base[:1]) + base[1:h] + "::" + strings.ToUpper(base[h:h+1]) + base[h+1:]
}

func version(r *rand.Rand) string {
	major := int(math.Abs(r.NormFloat64()) * 4)
	switch x := r.Float64(); {
	case x < 0.55:
		return fmt.Sprintf("%d.%d.%d", major, r.IntN(40), r.IntN(30))
	case x < 0.80:
		return fmt.Sprintf("%d.%d", major, r.IntN(100))
	case x < 0.88:
		return fmt.Sprintf("%d.%d.%d.%d", major, r.IntN(20), r.IntN(10), r.IntN(200))
	case x < 0.93:
		return fmt.Sprintf("%d%02d%02d", 2015+r.IntN(10), 1+r.IntN(12), 1+r.IntN(28))
	case x < 0.97:
		return fmt.Sprintf("%d.%d.0~rc%d", major, r.IntN(30), 1+r.IntN(4))
	default:
		return fmt.Sprintf("%d.%d^%dgit%07x", major, r.IntN(30), 20230101+r.IntN(1200), r.Uint32()>>4)
	}
}

func release(r *rand.Rand) string {
	switch x := r.Float64(); {
	case x < 0.70:
		return fmt.Sprintf("%d.el9", 1+r.IntN(8))
	case x < 0.90:
		return fmt.Sprintf("%d.el9_%d", 1+r.IntN(12), 1+r.IntN(5))
	default:
		return fmt.Sprintf("0.%d.beta%d.el9", 1+r.IntN(6), 1+r.IntN(3))
	}
}

func epoch(r *rand.Rand) uint32 {
	switch x := r.Float64(); {
	case x < 0.82:
		return rpmpack.NoEpoch
	case x < 0.85:
		return 0
	case x < 0.95:
		return 1
	default:
		return uint32(2 + r.IntN(4))
	}
}

func soMajor(r *rand.Rand) int {
	if r.Float64() < 0.4 {
		return 0
	}
	return 1 + int(math.Abs(r.NormFloat64())*6)
}

// sharePayload splits what is left of target after the packages'
// overheads among the packages by weight, each getting at least its
// minimum. short reports that the minimums alone exceed the target.
func (p *plan) sharePayload(target int64, overhead, minimum []int64) (payload []int64, short bool) {
	left := target - sum(overhead)
	short = left < sum(minimum)
	var total float64
	for _, pk := range p.pkgs {
		total += pk.weight
	}
	payload = make([]int64, len(p.pkgs))
	for i, pk := range p.pkgs {
		payload[i] = max(minimum[i], int64(float64(max(left, 0))/payloadOverhead*pk.weight/total))
	}
	return payload, short
}

func (p *plan) fileName(i int) string {
	pk := &p.pkgs[i]
	s := &p.sources[pk.src]
	return fmt.Sprintf("%s-%s-%s.%s.rpm", pk.name, s.version, s.release, pk.arch)
}

func (p *plan) dir(out, layout string, i int) string {
	if layout == "letter" {
		return filepath.Join(out, "Packages", strings.ToLower(p.pkgs[i].name[:1]))
	}
	return out
}

func (p *plan) path(out, layout string, i int) string {
	return filepath.Join(p.dir(out, layout, i), p.fileName(i))
}

func (p *plan) makeDirs(out, layout string) error {
	done := map[string]bool{}
	for i := range p.pkgs {
		d := p.dir(out, layout, i)
		if done[d] {
			continue
		}
		done[d] = true
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
