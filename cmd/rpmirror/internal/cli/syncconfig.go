package cli

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/rpmirror/rpmirror/mirror/syncer"
	"github.com/rpmirror/rpmirror/storage/target"
)

// syncTable is the [sync] table of the configuration file.
type syncTable struct {
	CacheDir       string        `toml:"cache-dir"`
	Parallel       *int          `toml:"parallel"`
	MetricsAddress string        `toml:"metrics-address"`
	Every          *tomlDuration `toml:"every"`
	Jitter         *float64      `toml:"jitter"`
	PruneAfter     *tomlDuration `toml:"prune-after"`
}

// defaultPruneAfter is how long a pooled package no repository uses
// any more is kept: publish's default grace period, so that a package
// withdrawn and restored upstream within it is not fetched again.
const defaultPruneAfter = 72 * time.Hour

// pruneAfter is [sync] prune-after, or its default; 0 keeps everything.
func (s *syncTable) pruneAfter() time.Duration {
	if s.PruneAfter == nil {
		return defaultPruneAfter
	}
	return s.PruneAfter.d
}

// repoTable is one [[repo]] entry.
type repoTable struct {
	Name    string              `toml:"name"`
	Mode    string              `toml:"mode"`
	Targets []string            `toml:"targets"`
	Vars    map[string][]string `toml:"vars"`
	Source  []sourceTable       `toml:"source"`
	Filter  filterTable         `toml:"filter"`
	// Metadata settings of regenerate mode, as in [createrepo].
	Checksum          string `toml:"checksum"`
	CompressType      string `toml:"compress-type"`
	ChangelogLimit    *int   `toml:"changelog-limit"`
	UniqueMDFilenames *bool  `toml:"unique-md-filenames"`
}

// sourceTable is one [[repo.source]] entry; which keys are allowed
// depends on its type.
type sourceTable struct {
	Type       string   `toml:"type"`
	Name       string   `toml:"name"`
	BaseURL    []string `toml:"baseurl"`
	MirrorList string   `toml:"mirrorlist"`
	Metalink   string   `toml:"metalink"`
	Path       string   `toml:"path"`
	Hub        string   `toml:"hub"`
	TopURL     string   `toml:"topurl"`
	Tag        string   `toml:"tag"`
	SigKey     string   `toml:"sigkey"`
	Arches     []string `toml:"arches"`
	Inherit    bool     `toml:"inherit"`
}

type filterTable struct {
	Arches           []string `toml:"arches"`
	ExcludeNoarch    bool     `toml:"exclude-noarch"`
	Include          []string `toml:"include"`
	Exclude          []string `toml:"exclude"`
	KeepNewest       int      `toml:"keep-newest"`
	ExcludeSource    bool     `toml:"exclude-source"`
	ExcludeDebuginfo bool     `toml:"exclude-debuginfo"`
	MinBuildTime     string   `toml:"min-build-time"`
}

// check checks the values of [sync].
func (s *syncTable) check() []configProblem {
	var probs []configProblem
	if s.Parallel != nil && *s.Parallel < 1 {
		probs = append(probs, problem("sync.parallel", "[sync]: parallel must be at least 1, not %d", *s.Parallel))
	}
	if e := s.Every; e != nil {
		if e.err != nil {
			probs = append(probs, problem("sync.every", "[sync]: every: %v", e.err))
		} else if e.d < 0 {
			probs = append(probs, problem("sync.every", "[sync]: every must not be negative (leave it out to sync once)"))
		}
	}
	if e := s.PruneAfter; e != nil {
		if e.err != nil {
			probs = append(probs, problem("sync.prune-after", "[sync]: prune-after: %v", e.err))
		} else if e.d < 0 {
			probs = append(probs, problem("sync.prune-after", "[sync]: prune-after must not be negative (0 keeps every pooled package)"))
		}
	}
	// Written so that NaN, which TOML allows, fails too.
	if j := s.Jitter; j != nil && !(*j >= 0 && *j < 1) {
		probs = append(probs, problem("sync.jitter", "[sync]: jitter must be at least 0 and less than 1, not %v", *j))
	}
	if a := s.MetricsAddress; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			probs = append(probs, problem("sync.metrics-address", "[sync]: metrics-address %q is not HOST:PORT (such as 127.0.0.1:9464)", a))
		}
	}
	return probs
}

// expandedRepo is one [[repo]] entry with its variables substituted.
type expandedRepo struct {
	repoTable
	index int    // of the [[repo]] entry, from 0, for the key paths of problems
	where string // the entry in messages, by its name as written
}

// varString is a string of a [[repo]] entry that may use variables, and
// its key path in the entry.
type varString struct{ key, s string }

// varStrings lists the strings of r that expandRepos substitutes
// variables in, in the order of the file's usual layout.
func (r *repoTable) varStrings() []varString {
	out := []varString{{"name", r.Name}}
	list := func(key string, l []string) {
		for i, s := range l {
			out = append(out, varString{fmt.Sprintf("%s[%d]", key, i), s})
		}
	}
	list("targets", r.Targets)
	for j, s := range r.Source {
		src := fmt.Sprintf("source[%d].", j)
		list(src+"baseurl", s.BaseURL)
		for _, v := range []varString{{"mirrorlist", s.MirrorList}, {"metalink", s.Metalink}, {"path", s.Path},
			{"hub", s.Hub}, {"topurl", s.TopURL}, {"tag", s.Tag}} {
			out = append(out, varString{src + v.key, v.s})
		}
		list(src+"arches", s.Arches)
	}
	list("filter.arches", r.Filter.Arches)
	return out
}

// expandRepos substitutes dnf-style variables ($basearch, $stream,
// $releasever, or any name listed in the entry's vars table): an entry
// expands to one repository per combination of the values of the
// variables it uses. An entry with a problem is left out of the result.
func expandRepos(repos []repoTable) ([]expandedRepo, []configProblem) {
	var out []expandedRepo
	var probs []configProblem
	names := map[string]int{}
	for i, r := range repos {
		entry := fmt.Sprintf("repo[%d]", i)
		if r.Name == "" {
			probs = append(probs, problem(entry+".name", "repo #%d: name is required", i+1))
			continue
		}
		where := fmt.Sprintf("repo %q", r.Name)
		strs := r.varStrings()
		all := make([]string, len(strs))
		for k, v := range strs {
			all[k] = v.s
		}
		used := syncer.VarsUsed(all...)
		undefined := false
		for _, v := range used {
			if len(r.Vars[v]) > 0 {
				continue
			}
			undefined = true
			key := entry + ".vars." + tomlKey(v)
			if _, listed := r.Vars[v]; !listed {
				for _, vs := range strs {
					if slices.Contains(syncer.VarsUsed(vs.s), v) {
						key = entry + "." + vs.key
						break
					}
				}
			}
			probs = append(probs, problem(key, "%s: variable $%s has no values (define it in vars)", where, v))
		}
		for _, k := range slices.Sorted(maps.Keys(r.Vars)) {
			if !slices.Contains(used, k) {
				probs = append(probs, problem(entry+".vars."+tomlKey(k), "%s: vars.%s is not used anywhere", where, k))
			}
		}
		if undefined {
			continue
		}
		combos, err := syncer.Combinations(used, r.Vars)
		if err != nil {
			probs = append(probs, problem(entry+".vars", "%s: %v", where, err))
			continue
		}
		for _, vals := range combos {
			e := expandedRepo{repoTable: r, index: i, where: where}
			x := func(s string) string {
				if err != nil {
					return s
				}
				var v string
				v, err = syncer.Expand(s, vals)
				return v
			}
			xs := func(list []string) []string {
				out := make([]string, len(list))
				for i, s := range list {
					out[i] = x(s)
				}
				return out
			}
			e.Name = x(r.Name)
			e.Targets = xs(r.Targets)
			e.Filter.Arches = xs(r.Filter.Arches)
			e.Source = make([]sourceTable, len(r.Source))
			for j, s := range r.Source {
				s.BaseURL = xs(s.BaseURL)
				s.MirrorList, s.Metalink, s.Path = x(s.MirrorList), x(s.Metalink), x(s.Path)
				s.Hub, s.TopURL, s.Tag = x(s.Hub), x(s.TopURL), x(s.Tag)
				s.Arches = xs(s.Arches)
				e.Source[j] = s
			}
			if err != nil {
				probs = append(probs, problem(entry, "%s: %v", where, err))
				break
			}
			switch j, dup := names[e.Name]; {
			case dup && j == i:
				probs = append(probs, problem(entry+".name", "%s: repository name %q also made by this entry for other values of vars; use all the variables in the name", where, e.Name))
				continue
			case dup:
				probs = append(probs, problem(entry+".name", "%s: repository name %q also made by repo #%d; use the variables in the name", where, e.Name, j+1))
				continue
			}
			names[e.Name] = i
			out = append(out, e)
		}
	}
	return out, probs
}

// check checks one expanded repository's keys against its mode and
// source types. named are the [target.NAME] tables, which checkTargets
// checks.
func (r *expandedRepo) check(named map[string]targetTable) []configProblem {
	var probs []configProblem
	entry := fmt.Sprintf("repo[%d]", r.index)
	add := func(key, format string, args ...any) {
		probs = append(probs, problem(entry+"."+key, "%s: %s", r.where, fmt.Sprintf(format, args...)))
	}
	switch r.Mode {
	case "", "regenerate", "verbatim":
	default:
		add("mode", "mode must be \"regenerate\" or \"verbatim\", not %q", r.Mode)
	}
	if len(r.Source) == 0 {
		add("source", "at least one [[repo.source]] is required")
	}
	if len(r.Targets) == 0 {
		add("targets", "targets is required (names of [target.NAME] tables, or paths/URLs)")
	}
	for k, t := range r.Targets {
		if _, ok := named[t]; ok {
			continue
		}
		// The spec is not repeated: a mangled URL may hold credentials.
		// Nor are the words of ErrInvalidSpec: "targets:" says as much.
		switch loc, err := target.Parse(t, target.Config{}); {
		case err != nil:
			add(fmt.Sprintf("targets[%d]", k), "targets: %s", strings.TrimPrefix(err.Error(), target.ErrInvalidSpec.Error()+": "))
		case loc.Kind == target.HTTP:
			add(fmt.Sprintf("targets[%d]", k), "targets: an http(s) URL is read-only: publish to the directory or bucket behind it")
		}
	}
	for i, s := range r.Source {
		src := fmt.Sprintf("source[%d]", i)
		sw := fmt.Sprintf("source #%d (%s)", i+1, s.Type)
		allowed := map[string][]string{
			"repo": {"baseurl", "mirrorlist", "metalink"},
			"dir":  {"path"},
			"koji": {"hub", "topurl", "tag", "sigkey", "arches", "inherit"},
		}[s.Type]
		if allowed == nil {
			add(src+".type", "%s: type must be repo, dir or koji", sw)
			continue
		}
		set := map[string]bool{
			"baseurl": len(s.BaseURL) > 0, "mirrorlist": s.MirrorList != "", "metalink": s.Metalink != "",
			"path": s.Path != "", "hub": s.Hub != "", "topurl": s.TopURL != "", "tag": s.Tag != "",
			"sigkey": s.SigKey != "", "arches": len(s.Arches) > 0, "inherit": s.Inherit,
		}
		for _, k := range slices.Sorted(maps.Keys(set)) {
			if set[k] && !slices.Contains(allowed, k) {
				add(src+"."+k, "%s: %s not allowed for this type (allowed: %s)", sw, k, strings.Join(allowed, ", "))
			}
		}
		switch s.Type {
		case "repo":
			n := 0
			for _, k := range []string{"baseurl", "mirrorlist", "metalink"} {
				if set[k] {
					n++
				}
			}
			if n != 1 {
				add(src, "%s: exactly one of baseurl, mirrorlist, metalink is required", sw)
			}
		case "dir":
			if s.Path == "" {
				add(src+".path", "%s: path is required", sw)
			}
		case "koji":
			if s.Hub == "" || s.TopURL == "" || s.Tag == "" {
				add(src, "%s: hub, topurl and tag are required", sw)
			}
		}
	}
	if r.Filter.MinBuildTime != "" {
		if _, err := parseTime(r.Filter.MinBuildTime); err != nil {
			add("filter.min-build-time", "filter.min-build-time: %v", err)
		}
	}
	if r.Filter.KeepNewest < 0 {
		add("filter.keep-newest", "filter.keep-newest must not be negative")
	}
	if r.Mode == "verbatim" {
		probs = append(probs, r.checkVerbatim(entry)...)
	}
	var checksum, compressType *string
	if r.Checksum != "" {
		checksum = &r.Checksum
	}
	if r.CompressType != "" {
		compressType = &r.CompressType
	}
	return append(probs, checkMetadata(entry, r.where, checksum, compressType, r.ChangelogLimit)...)
}

// checkVerbatim checks what mode "verbatim" needs: the upstream's
// metadata is published as it is, so there must be one upstream, nothing
// left out and nothing to regenerate.
func (r *expandedRepo) checkVerbatim(entry string) []configProblem {
	var probs []configProblem
	add := func(key, format string, args ...any) {
		probs = append(probs, problem(entry+"."+key, "%s: %s", r.where, fmt.Sprintf(format, args...)))
	}
	if len(r.Source) != 1 {
		add("mode", "mode \"verbatim\" needs exactly one [[repo.source]], not %d", len(r.Source))
	} else if t := r.Source[0].Type; t != "repo" {
		add("source[0].type", "mode \"verbatim\" needs a source of type \"repo\" (an upstream repository whose metadata is copied), not %q", t)
	}
	f := r.Filter
	set := map[string]bool{
		"filter.arches": len(f.Arches) > 0, "filter.exclude-noarch": f.ExcludeNoarch,
		"filter.include": len(f.Include) > 0, "filter.exclude": len(f.Exclude) > 0,
		"filter.keep-newest": f.KeepNewest != 0, "filter.exclude-source": f.ExcludeSource,
		"filter.exclude-debuginfo": f.ExcludeDebuginfo, "filter.min-build-time": f.MinBuildTime != "",
		"checksum": r.Checksum != "", "compress-type": r.CompressType != "",
		"changelog-limit": r.ChangelogLimit != nil, "unique-md-filenames": r.UniqueMDFilenames != nil,
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] {
			add(k, "%s not allowed with mode \"verbatim\" (the upstream's metadata is copied as it is: it cannot leave packages out or be written differently)", k)
		}
	}
	return probs
}

func (r *expandedRepo) filter() syncer.Filter {
	f := syncer.Filter{
		Arches: r.Filter.Arches, ExcludeNoarch: r.Filter.ExcludeNoarch,
		Include: r.Filter.Include, Exclude: r.Filter.Exclude, KeepNewest: r.Filter.KeepNewest,
		ExcludeSource: r.Filter.ExcludeSource, ExcludeDebuginfo: r.Filter.ExcludeDebuginfo,
	}
	if r.Filter.MinBuildTime != "" {
		f.MinBuildTime, _ = parseTime(r.Filter.MinBuildTime)
	}
	return f
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02) or an RFC 3339 time", s)
}
