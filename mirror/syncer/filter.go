package syncer

import (
	"path"
	"sort"
	"strings"
	"time"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata/rpmver"
)

// Filter selects the candidates of a repository. The zero Filter keeps
// everything.
type Filter struct {
	// Arches keeps only these architectures; empty keeps all. noarch is
	// kept with any selection unless ExcludeNoarch.
	Arches        []string
	ExcludeNoarch bool
	// Include keeps only names matching one of these globs (path.Match
	// syntax); Exclude drops names matching any. Exclude wins.
	Include []string
	Exclude []string
	// KeepNewest keeps the newest N versions of each name.arch; 0 keeps
	// all.
	KeepNewest       int
	ExcludeSource    bool
	ExcludeDebuginfo bool
	// MinBuildTime drops packages built before it; zero keeps all.
	MinBuildTime time.Time
}

// IsZero reports whether the filter keeps everything (verbatim mode
// requires it).
func (f *Filter) IsZero() bool {
	return len(f.Arches) == 0 && !f.ExcludeNoarch && len(f.Include) == 0 && len(f.Exclude) == 0 &&
		f.KeepNewest == 0 && !f.ExcludeSource && !f.ExcludeDebuginfo && f.MinBuildTime.IsZero()
}

// Apply returns the candidates the filter keeps, in their original order.
func (f *Filter) Apply(cands []source.Candidate) []source.Candidate {
	return apply(f, cands, func(c *source.Candidate) *source.Candidate { return c })
}

// apply filters any list whose items carry a candidate.
func apply[T any](f *Filter, items []T, cand func(*T) *source.Candidate) []T {
	var out []T
	for i := range items {
		if f.keep(cand(&items[i])) {
			out = append(out, items[i])
		}
	}
	if f.KeepNewest > 0 {
		out = keepNewest(out, f.KeepNewest, cand)
	}
	return out
}

func (f *Filter) keep(c *source.Candidate) bool {
	switch {
	case c.Arch == "src" && f.ExcludeSource:
		return false
	case c.Arch == "noarch" && f.ExcludeNoarch:
		return false
	case f.ExcludeDebuginfo && isDebug(c.Name):
		return false
	case !f.MinBuildTime.IsZero() && c.BuildTime < f.MinBuildTime.Unix():
		return false
	}
	if len(f.Arches) > 0 && c.Arch != "noarch" && !contains(f.Arches, c.Arch) {
		return false
	}
	if len(f.Include) > 0 && !matchAny(f.Include, c.Name) {
		return false
	}
	return !matchAny(f.Exclude, c.Name)
}

func isDebug(name string) bool {
	return strings.HasSuffix(name, "-debuginfo") || strings.HasSuffix(name, "-debugsource") ||
		strings.Contains(name, "-debuginfo-")
}

func matchAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// keepNewest keeps the n newest EVRs of each name.arch (all builds of
// an EVR count as one version), preserving the input order.
func keepNewest[T any](items []T, n int, cand func(*T) *source.Candidate) []T {
	type evr struct{ e, v, r string }
	groups := map[string][]evr{}
	for i := range items {
		c := cand(&items[i])
		k := c.Name + "." + c.Arch
		e := evr{c.Epoch, c.Version, c.Release}
		seen := false
		for _, x := range groups[k] {
			if x == e {
				seen = true
				break
			}
		}
		if !seen {
			groups[k] = append(groups[k], e)
		}
	}
	allowed := map[string]map[evr]bool{}
	for k, list := range groups {
		sort.Slice(list, func(i, j int) bool {
			return rpmver.CompareEVR(list[i].e, list[i].v, list[i].r, list[j].e, list[j].v, list[j].r) > 0
		})
		if len(list) > n {
			list = list[:n]
		}
		allowed[k] = map[evr]bool{}
		for _, e := range list {
			allowed[k][e] = true
		}
	}
	var out []T
	for i := range items {
		c := cand(&items[i])
		if allowed[c.Name+"."+c.Arch][evr{c.Epoch, c.Version, c.Release}] {
			out = append(out, items[i])
		}
	}
	return out
}
