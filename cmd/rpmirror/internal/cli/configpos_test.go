package cli

import (
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// markedLines returns, for a document whose lines end in "# <- PATH, ...",
// the line of each PATH listed.
func markedLines(t *testing.T, doc string) map[string]int {
	t.Helper()
	want := map[string]int{}
	for i, l := range strings.Split(doc, "\n") {
		_, paths, ok := strings.Cut(l, "# <- ")
		if !ok {
			continue
		}
		for _, p := range strings.Split(paths, ", ") {
			if _, dup := want[p]; dup {
				t.Fatalf("path %s marked twice", p)
			}
			want[p] = i + 1
		}
	}
	return want
}

// Every way TOML has of writing a key: headers, [[arrays]] nested in
// arrays, dotted keys, inline tables, arrays of values and of inline
// tables, quoted keys.
const posDoc = `# rpmirror
[log]                                   # <- log
level = "info"                          # <- log.level

[target."my.target"]                    # <- target, target."my.target"
type = "fs"                             # <- target."my.target".type
[target.s3]                             # <- target.s3
  "end point" = "h"                     # <- target.s3."end point"
target2.x.path = "/p"                   # <- target.s3.target2, target.s3.target2.x, target.s3.target2.x.path

[[repo]]                                # <- repo, repo[0]
name = "a"                              # <- repo[0].name
targets = [                             # <- repo[0].targets
  "one",                                # <- repo[0].targets[0]
  # a comment in an array
  "two",                                # <- repo[0].targets[1]
]
filter.keep-newest = 2                  # <- repo[0].filter, repo[0].filter.keep-newest
filter.arches = ["x", "y"]              # <- repo[0].filter.arches, repo[0].filter.arches[0], repo[0].filter.arches[1]
  [[repo.source]]                       # <- repo[0].source, repo[0].source[0]
  type = "repo"                         # <- repo[0].source[0].type
  [[repo.source]]                       # <- repo[0].source[1]
  baseurl = [                           # <- repo[0].source[1].baseurl
    "u1", "u2",                         # <- repo[0].source[1].baseurl[0], repo[0].source[1].baseurl[1]
  ]

[[repo]]                                # <- repo[1]
name = "b"                              # <- repo[1].name
vars = { basearch = ["x86_64"] }        # <- repo[1].vars, repo[1].vars.basearch, repo[1].vars.basearch[0]
source = [                              # <- repo[1].source
  { type = "dir", path = "/x" },        # <- repo[1].source[0], repo[1].source[0].type, repo[1].source[0].path
  { type = "koji", hub = "h" },         # <- repo[1].source[1], repo[1].source[1].type, repo[1].source[1].hub
]
  [repo.filter]                         # <- repo[1].filter
  keep-newest = 1                       # <- repo[1].filter.keep-newest

[[repo]]                                # <- repo[2]
  [[repo.source]]                       # <- repo[2].source, repo[2].source[0]
  [repo.source.inner]                   # <- repo[2].source[0].inner
  k = 1                                 # <- repo[2].source[0].inner.k
`

func TestIndexPositions(t *testing.T) {
	var v map[string]any
	if err := toml.Unmarshal([]byte(posDoc), &v); err != nil {
		t.Fatalf("the test document is not TOML: %v", err)
	}
	want := markedLines(t, posDoc)
	got := indexPositions([]byte(posDoc))
	for path, line := range want {
		if got[path] != line {
			t.Errorf("%s: line %d, want %d", path, got[path], line)
		}
	}
	for path, line := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("%s at line %d is not marked in the test document", path, line)
		}
	}

	// A path the file does not write is at its nearest written parent.
	for _, tc := range []struct{ path, at string }{
		{"repo[0].filter.exclude", "repo[0].filter"},
		{"repo[0].filter.arches[7]", "repo[0].filter.arches"},
		{"repo[1].source[1].tag", "repo[1].source[1]"},
		{"repo[2].mode", "repo[2]"},
		{"repo[9].name", "repo"},
		{`target."my.target".path`, `target."my.target"`},
		{`target."my".path`, "target"},
	} {
		if l := got.line(tc.path); l != want[tc.at] {
			t.Errorf("line(%s) = %d, want %d (the line of %s)", tc.path, l, want[tc.at], tc.at)
		}
	}
	if l := got.line("sync.parallel"); l != 0 {
		t.Errorf("line of a table the file does not have = %d, want 0", l)
	}
}

func TestIndexPositionsSyntaxError(t *testing.T) {
	ix := indexPositions([]byte("a = 1\n[b\nc = 2\n"))
	if ix["a"] != 1 || len(ix) != 1 {
		t.Errorf("index = %v, want a at line 1 and nothing after the error", ix)
	}
}

func TestKeyPaths(t *testing.T) {
	for _, tc := range []struct{ key, quoted string }{
		{"keep-newest", "keep-newest"},
		{"a_B9", "a_B9"},
		{"my.target", `"my.target"`},
		{"a[0]", `"a[0]"`},
		{"", `""`},
		{"é", `"é"`},
	} {
		if q := tomlKey(tc.key); q != tc.quoted {
			t.Errorf("tomlKey(%q) = %s, want %s", tc.key, q, tc.quoted)
		}
	}
	for _, tc := range []struct{ path, parent string }{
		{"repo[1].source[0].baseurl", "repo[1].source[0]"},
		{"repo[1].source[0]", "repo[1].source"},
		{"repo[1]", "repo"},
		{"repo", ""},
		{`target."a.b[0]".path`, `target."a.b[0]"`},
		{`target."a.b[0]"`, "target"},
		{`target."q\".x"`, "target"},
	} {
		if p := parentKey(tc.path); p != tc.parent {
			t.Errorf("parentKey(%s) = %s, want %s", tc.path, p, tc.parent)
		}
	}
}
