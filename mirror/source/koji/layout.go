package koji

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

type layoutPart struct {
	lit   string
	field string // "" for a literal
}

var layoutFields = []string{"name", "version", "release", "arch", "nvra", "first", "build"}

func parseLayout(l string) ([]layoutPart, error) {
	var parts []layoutPart
	hasNVRA := false
	for l != "" {
		i := strings.IndexByte(l, '{')
		if i < 0 {
			i = len(l)
		}
		if lit := l[:i]; lit != "" {
			if strings.Contains(lit, "}") {
				return nil, fmt.Errorf("koji: layout %q: unmatched }", l)
			}
			parts = append(parts, layoutPart{lit: lit})
		}
		if i == len(l) {
			break
		}
		j := strings.IndexByte(l[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("koji: layout %q: unclosed {", l)
		}
		f := l[i+1 : i+j]
		if !contains(layoutFields, f) {
			return nil, fmt.Errorf("koji: layout: unknown placeholder {%s} (have {%s})", f, strings.Join(layoutFields, "}, {"))
		}
		hasNVRA = hasNVRA || f == "nvra"
		parts = append(parts, layoutPart{field: f})
		l = l[i+j+1:]
	}
	if !hasNVRA {
		// Not required (List rejects collisions), but worth a clear
		// message when the layout cannot work for any real tag.
		has := map[string]bool{}
		for _, p := range parts {
			has[p.field] = true
		}
		if !(has["name"] && has["version"] && has["release"] && has["arch"]) {
			return nil, errors.New("koji: layout must contain {nvra}, or {name}, {version}, {release} and {arch}")
		}
	}
	return parts, nil
}

func expandLayout(parts []layoutPart, r *rpmInfo) string {
	var b strings.Builder
	for _, p := range parts {
		switch p.field {
		case "":
			b.WriteString(p.lit)
		case "name":
			b.WriteString(r.name)
		case "version":
			b.WriteString(r.version)
		case "release":
			b.WriteString(r.release)
		case "arch":
			b.WriteString(r.arch)
		case "nvra":
			b.WriteString(r.name + "-" + r.version + "-" + r.release + "." + r.arch)
		case "first":
			first, _ := utf8.DecodeRuneInString(r.name)
			b.WriteString(strings.ToLower(string(first)))
		case "build":
			b.WriteString(r.build.name)
		}
	}
	return b.String()
}
