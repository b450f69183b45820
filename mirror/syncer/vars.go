package syncer

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// dnf-style variables: $name or ${name}, names of letters, digits and
// underscores.
var varRef = regexp.MustCompile(`\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))`)

// VarsUsed returns the variables referenced in the strings, sorted.
func VarsUsed(strs ...string) []string {
	seen := map[string]bool{}
	for _, s := range strs {
		for _, m := range varRef.FindAllStringSubmatch(s, -1) {
			seen[m[1]+m[2]] = true
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// Expand replaces the variables of s with their values. A variable
// without a value is an error naming it.
func Expand(s string, vals map[string]string) (string, error) {
	var missing []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, ok := vals[name]
		if !ok {
			missing = append(missing, "$"+name)
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("undefined variable %s in %q", strings.Join(missing, ", "), s)
	}
	return out, nil
}

// Combinations returns every assignment of the listed variables to one of
// their values, in a deterministic order (the first variable varies
// slowest). Variables not in lists are an error; no variables give one
// empty assignment.
func Combinations(names []string, lists map[string][]string) ([]map[string]string, error) {
	out := []map[string]string{{}}
	for _, n := range names {
		vals, ok := lists[n]
		if !ok || len(vals) == 0 {
			return nil, fmt.Errorf("variable $%s has no values", n)
		}
		var next []map[string]string
		for _, base := range out {
			for _, v := range vals {
				m := make(map[string]string, len(base)+1)
				for k, x := range base {
					m[k] = x
				}
				m[n] = v
				next = append(next, m)
			}
		}
		out = next
	}
	return out, nil
}
