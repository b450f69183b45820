package rpmfile

import (
	"unsafe"

	"github.com/rpmirror/rpmirror/repodata"
)

// arena is the memory a Writer reuses from one package to the next
// (Writer.Reset). Building a package otherwise allocates its decoded tag
// arrays, file paths, dependency and file lists and the maps of the
// requires filter, about 40 KB per package on a typical repository and
// most of createrepo's garbage: with two cores busy hashing, collecting
// it cost a tenth of the CPU.
//
// Every method works on a nil *arena by allocating afresh, which is what
// Read does. Slices handed out stay valid until reset; memory is never
// written again before that, so growing a backing array abandons the old
// one to whatever still refers to it instead of copying it.
type arena struct {
	strs  []string
	ints  []int64
	paths []byte

	sig, hdr rawHeader
	pkg      repodata.Package

	owned    map[string]struct{}
	provided map[depKey]struct{}
	seen     map[string]seenReq
}

// depKey identifies a dependency for the requires filter without
// concatenating its parts.
type depKey struct{ name, flags, version string }

type seenReq struct {
	flags, version string
	pre            bool
}

// arenaKeep bounds what an arena keeps across a reset, in bytes of each
// backing array, and arenaKeepEntries the entries of each map: what a
// typical package needs is reused, and one with a huge file list does
// not pin its memory for the rest of a run (its arrays are garbage
// after it, like Read's).
const (
	arenaKeep        = 16 << 10
	arenaKeepEntries = 512
)

// reset makes everything handed out before reusable.
func (a *arena) reset() {
	a.strs = keep(a.strs)
	a.ints = keep(a.ints)
	a.paths = keep(a.paths)
	a.sig.entries = keep(a.sig.entries)
	a.hdr.entries = keep(a.hdr.entries)
	p := &a.pkg
	*p = repodata.Package{
		Files:       keep(p.Files),
		Provides:    keep(p.Provides),
		Requires:    keep(p.Requires),
		Conflicts:   keep(p.Conflicts),
		Obsoletes:   keep(p.Obsoletes),
		Suggests:    keep(p.Suggests),
		Enhances:    keep(p.Enhances),
		Recommends:  keep(p.Recommends),
		Supplements: keep(p.Supplements),
		Changelogs:  keep(p.Changelogs),
	}
	a.owned = keepMap(a.owned)
	a.provided = keepMap(a.provided)
	a.seen = keepMap(a.seen)
}

// keepMap clears m, or drops it if it grew large: a cleared map keeps
// its buckets.
func keepMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) > arenaKeepEntries {
		return nil
	}
	clear(m)
	return m
}

func keep[T any](s []T) []T {
	if uintptr(cap(s))*unsafe.Sizeof(*new(T)) > arenaKeep {
		return nil
	}
	return s[:0]
}

// grow returns s[len:len+n] and s extended over it, in a new backing
// array when s has no room (the old one is left to its users).
func grow[T any](s []T, n int) (out, next []T) {
	if len(s)+n > cap(s) {
		s = make([]T, 0, max(n, 2*cap(s), 64))
	}
	m := len(s)
	return s[m : m+n : m+n], s[:m+n]
}

func (a *arena) strings(n int) []string {
	if a == nil {
		return make([]string, n)
	}
	var out []string
	out, a.strs = grow(a.strs, n)
	return out
}

func (a *arena) int64s(n int) []int64 {
	if a == nil {
		return make([]int64, n)
	}
	var out []int64
	out, a.ints = grow(a.ints, n)
	return out
}

// concat returns x+y.
func (a *arena) concat(x, y string) string {
	if a == nil || len(x)+len(y) == 0 {
		return x + y
	}
	var b []byte
	b, a.paths = grow(a.paths, len(x)+len(y))
	copy(b[copy(b, x):], y)
	return unsafe.String(&b[0], len(b))
}

// header returns a rawHeader to fill: the arena's slot for the signature
// or main header, or a new one.
func (a *arena) header(sig bool) *rawHeader {
	if a == nil {
		return new(rawHeader)
	}
	if sig {
		return &a.sig
	}
	return &a.hdr
}

func (a *arena) entries(h *rawHeader, n int) []hdrEntry {
	if a == nil || cap(h.entries) < n {
		return make([]hdrEntry, n)
	}
	return h.entries[:n]
}

// packageValue returns the Package to fill, empty but for the capacity
// of its lists.
func (a *arena) packageValue() *repodata.Package {
	if a == nil {
		return new(repodata.Package)
	}
	return &a.pkg
}

func (a *arena) ownedSet(n int) map[string]struct{} {
	if a == nil {
		return make(map[string]struct{}, n)
	}
	if a.owned == nil {
		a.owned = make(map[string]struct{}, n)
	}
	return a.owned
}

func (a *arena) providedSet() map[depKey]struct{} {
	if a == nil {
		return make(map[depKey]struct{})
	}
	if a.provided == nil {
		a.provided = make(map[depKey]struct{})
	}
	return a.provided
}

func (a *arena) seenSet() map[string]seenReq {
	if a == nil {
		return make(map[string]seenReq)
	}
	if a.seen == nil {
		a.seen = make(map[string]seenReq)
	}
	return a.seen
}

// compact copies every string of p that may point into a header's store
// into one allocation of their total size, so that a Package built
// without an arena (Read, a Writer never reset) keeps only what it says,
// not the header it was read from: a header is mostly what metadata
// never shows (file digests, modes, owners, signatures, old changelog
// entries), 14 KB against 4 KB of strings on average for the real
// packages of the test corpus, and a syncer keeps the packages of a whole
// repository in memory.
func compact(p *repodata.Package) {
	n := 0
	eachPtr(p, func(s *string) { n += len(*s) })
	// Exactly n bytes: appending never moves what the strings point to.
	buf := make([]byte, 0, n)
	eachPtr(p, func(s *string) {
		if len(*s) == 0 {
			return
		}
		off := len(buf)
		buf = append(buf, *s...)
		*s = unsafe.String(&buf[off], len(*s))
	})
}

// eachPtr calls fn with a pointer to every string of p that may share a
// header's memory: the tag strings and what was cut from them, and the
// file paths (a path whose directory is "" is its base name, unjoined).
// The checksum is encoded afresh already.
func eachPtr(p *repodata.Package, fn func(*string)) {
	for _, s := range []*string{&p.Name, &p.Arch, &p.Version, &p.Release, &p.Summary, &p.Description,
		&p.URL, &p.License, &p.Vendor, &p.Group, &p.BuildHost, &p.SourceRPM, &p.Packager} {
		fn(s)
	}
	for _, deps := range [...][]repodata.Dependency{p.Provides, p.Requires, p.Conflicts, p.Obsoletes,
		p.Suggests, p.Enhances, p.Recommends, p.Supplements} {
		for i := range deps {
			d := &deps[i]
			fn(&d.Name)
			fn(&d.Epoch)
			fn(&d.Version)
			fn(&d.Release)
		}
	}
	for i := range p.Files {
		fn(&p.Files[i].Path)
	}
	for i := range p.Changelogs {
		fn(&p.Changelogs[i].Author)
		fn(&p.Changelogs[i].Text)
	}
}
