package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rpmirror/rpmirror/mirror/syncer"
)

// syncTable is the [sync] table of the configuration file.
type syncTable struct {
	CacheDir       string        `toml:"cache-dir"`
	Parallel       *int          `toml:"parallel"`
	MetricsAddress string        `toml:"metrics-address"`
	Every          *tomlDuration `toml:"every"`
	Jitter         *float64      `toml:"jitter"`
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

// expandedRepo is one [[repo]] entry with its variables substituted.
type expandedRepo struct {
	repoTable
	index int // of the [[repo]] entry, for errors
}

// expandRepos substitutes dnf-style variables ($basearch, $stream,
// $releasever, or any name listed in the entry's vars table): an entry
// expands to one repository per combination of the values of the
// variables it uses.
func expandRepos(repos []repoTable) ([]expandedRepo, error) {
	var out []expandedRepo
	names := map[string]int{}
	for i, r := range repos {
		where := fmt.Sprintf("repo #%d (%s)", i+1, r.Name)
		if r.Name == "" {
			return nil, fmt.Errorf("repo #%d: name is required", i+1)
		}
		strs := append([]string{r.Name}, r.Targets...)
		for _, s := range r.Source {
			strs = append(strs, s.BaseURL...)
			strs = append(strs, s.MirrorList, s.Metalink, s.Path, s.Hub, s.TopURL, s.Tag)
			strs = append(strs, s.Arches...)
		}
		strs = append(strs, r.Filter.Arches...)
		used := syncer.VarsUsed(strs...)
		combos, err := syncer.Combinations(used, r.Vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (define it in vars)", where, err)
		}
		for k := range r.Vars {
			if !contains(used, k) {
				return nil, fmt.Errorf("%s: vars.%s is not used anywhere", where, k)
			}
		}
		for _, vals := range combos {
			e := expandedRepo{repoTable: r, index: i + 1}
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
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if j, dup := names[e.Name]; dup {
				return nil, fmt.Errorf("%s: repository name %q also made by repo #%d; use the variables in the name", where, e.Name, j)
			}
			names[e.Name] = i + 1
			out = append(out, e)
		}
	}
	return out, nil
}

// check validates one expanded repository's keys against its mode and
// source types.
func (r *expandedRepo) check() error {
	where := fmt.Sprintf("repo %q", r.Name)
	switch r.Mode {
	case "", "regenerate", "verbatim":
	default:
		return fmt.Errorf("%s: mode must be \"regenerate\" or \"verbatim\", not %q", where, r.Mode)
	}
	if len(r.Source) == 0 {
		return fmt.Errorf("%s: at least one [[repo.source]] is required", where)
	}
	if len(r.Targets) == 0 {
		return fmt.Errorf("%s: targets is required (names of [target.NAME] tables, or paths/URLs)", where)
	}
	for i, s := range r.Source {
		sw := fmt.Sprintf("%s source #%d (%s)", where, i+1, s.Type)
		allowed := map[string][]string{
			"repo": {"baseurl", "mirrorlist", "metalink"},
			"dir":  {"path"},
			"koji": {"hub", "topurl", "tag", "sigkey", "arches", "inherit"},
		}[s.Type]
		if allowed == nil {
			return fmt.Errorf("%s: type must be repo, dir or koji", sw)
		}
		set := map[string]bool{
			"baseurl": len(s.BaseURL) > 0, "mirrorlist": s.MirrorList != "", "metalink": s.Metalink != "",
			"path": s.Path != "", "hub": s.Hub != "", "topurl": s.TopURL != "", "tag": s.Tag != "",
			"sigkey": s.SigKey != "", "arches": len(s.Arches) > 0, "inherit": s.Inherit,
		}
		var wrong []string
		for k, v := range set {
			if v && !contains(allowed, k) {
				wrong = append(wrong, k)
			}
		}
		sort.Strings(wrong)
		if len(wrong) > 0 {
			return fmt.Errorf("%s: %s not allowed for this type (allowed: %s)", sw, strings.Join(wrong, ", "), strings.Join(allowed, ", "))
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
				return fmt.Errorf("%s: exactly one of baseurl, mirrorlist, metalink is required", sw)
			}
		case "dir":
			if s.Path == "" {
				return fmt.Errorf("%s: path is required", sw)
			}
		case "koji":
			if s.Hub == "" || s.TopURL == "" || s.Tag == "" {
				return fmt.Errorf("%s: hub, topurl and tag are required", sw)
			}
		}
	}
	if r.Filter.MinBuildTime != "" {
		if _, err := parseTime(r.Filter.MinBuildTime); err != nil {
			return fmt.Errorf("%s: filter.min-build-time: %w", where, err)
		}
	}
	if r.Filter.KeepNewest < 0 {
		return fmt.Errorf("%s: filter.keep-newest must not be negative", where)
	}
	if r.Mode == "verbatim" {
		return r.checkVerbatim(where)
	}
	return nil
}

// checkVerbatim checks what mode "verbatim" needs: the upstream's
// metadata is published as it is, so there must be one upstream, nothing
// left out and nothing to regenerate.
func (r *expandedRepo) checkVerbatim(where string) error {
	if len(r.Source) != 1 {
		return fmt.Errorf("%s: mode \"verbatim\" needs exactly one [[repo.source]], not %d", where, len(r.Source))
	}
	if t := r.Source[0].Type; t != "repo" {
		return fmt.Errorf("%s: mode \"verbatim\" needs a source of type \"repo\" (an upstream repository whose metadata is copied), not %q", where, t)
	}
	f := r.Filter
	var set []string
	for k, v := range map[string]bool{
		"filter.arches": len(f.Arches) > 0, "filter.exclude-noarch": f.ExcludeNoarch,
		"filter.include": len(f.Include) > 0, "filter.exclude": len(f.Exclude) > 0,
		"filter.keep-newest": f.KeepNewest != 0, "filter.exclude-source": f.ExcludeSource,
		"filter.exclude-debuginfo": f.ExcludeDebuginfo, "filter.min-build-time": f.MinBuildTime != "",
		"checksum": r.Checksum != "", "compress-type": r.CompressType != "",
		"changelog-limit": r.ChangelogLimit != nil, "unique-md-filenames": r.UniqueMDFilenames != nil,
	} {
		if v {
			set = append(set, k)
		}
	}
	sort.Strings(set)
	if len(set) > 0 {
		return fmt.Errorf("%s: %s not allowed with mode \"verbatim\" (the upstream's metadata is copied as it is: it cannot leave packages out or be written differently)",
			where, strings.Join(set, ", "))
	}
	return nil
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
