package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// The decoder reports a line only for the errors it finds itself (unknown
// keys, values of the wrong type). The checks that run on the decoded
// configuration know which key they reject but not where it is written,
// so they name it by a key path, and the file is parsed a second time,
// with go-toml's unstable parser, into an index from key paths to lines.
//
// A key path spells a key the way the decoded configuration reaches it:
// keys joined by dots, the elements of an array (of tables, of inline
// tables or of values) by their index in brackets, and keys that are not
// bare quoted (see tomlKey):
//
//	log.level
//	repo[1].source[0].baseurl[2]
//	target."my target".endpoint
//
// It does not matter how the file writes the key: with a [table] header,
// a dotted key or an inline table, repo[0].filter.keep-newest is the same
// path.

// configProblem is a bad value found after decoding: the message, and the
// key path of the value it is about. The path need not exist in the file
// (a required key that is missing): the problem is then shown at the
// nearest enclosing table that does.
type configProblem struct {
	key string
	msg string
}

func problem(key, format string, args ...any) configProblem {
	return configProblem{key: key, msg: fmt.Sprintf(format, args...)}
}

// tomlKey writes one key of a key path: bare if TOML allows it bare,
// quoted otherwise, so that a dot or bracket inside a key cannot be taken
// for a separator.
func tomlKey(k string) string {
	if k != "" && strings.IndexFunc(k, func(r rune) bool { return r > 0x7f || !isBareKeyChar(byte(r)) }) < 0 {
		return k
	}
	return strconv.Quote(k)
}

func isBareKeyChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// parentKey returns the path of the table or array that holds the key at
// path; "" for a top-level key.
func parentKey(path string) string {
	last, quoted := 0, false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == '.' || c == '['):
			last = i
		}
	}
	return path[:last]
}

// posIndex maps the key paths of a document to the line (from 1) where
// each is first written: a key, a [table] or [[array]] header, an element
// of an array. A table that only dotted keys create is at the line of the
// first of them.
type posIndex map[string]int

// line returns the line of path, or else of the nearest table or array
// holding it that the document writes; 0 when there is none.
func (ix posIndex) line(path string) int {
	for path != "" {
		if n, ok := ix[path]; ok {
			return n
		}
		path = parentKey(path)
	}
	return 0
}

// indexPositions indexes data, a document the decoder has accepted. It
// stops quietly at a syntax error: the decoder reports those.
func indexPositions(data []byte) posIndex {
	x := &indexer{ix: posIndex{}, arrays: map[string]int{}}
	for i, c := range data {
		if c == '\n' {
			x.lineStarts = append(x.lineStarts, i+1)
		}
	}
	var p unstable.Parser
	p.Reset(data)
	table := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = x.header(e)
		case unstable.KeyValue:
			x.keyValue(table, e)
		}
	}
	return x.ix
}

type indexer struct {
	ix         posIndex
	lineStarts []int          // offsets of the lines after the first
	arrays     map[string]int // [[array]] path -> entries seen so far
}

// header indexes a [table] or [[array]] header and returns the path of
// the table it opens.
func (x *indexer) header(e *unstable.Node) string {
	path := ""
	line := 0
	it := e.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = x.lineOf(k)
		}
		path = subKey(path, tomlKey(string(k.Data)))
		if it.IsLast() && e.Kind == unstable.ArrayTable {
			n := x.arrays[path]
			x.arrays[path] = n + 1
			x.record(path, line)
			path = fmt.Sprintf("%s[%d]", path, n)
		} else if n, ok := x.arrays[path]; ok {
			// [[repo.source]] adds to the source array of the
			// latest [[repo]].
			path = fmt.Sprintf("%s[%d]", path, n-1)
		}
		x.record(path, line)
	}
	return path
}

// keyValue indexes a key = value in the table at path table: each part of
// a dotted key, and what the value holds.
func (x *indexer) keyValue(table string, kv *unstable.Node) {
	path := table
	it := kv.Key()
	for it.Next() {
		k := it.Node()
		path = subKey(path, tomlKey(string(k.Data)))
		x.record(path, x.lineOf(k))
	}
	x.value(path, kv.Value())
}

func (x *indexer) value(path string, v *unstable.Node) {
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if kv := it.Node(); kv.Kind == unstable.KeyValue {
				x.keyValue(path, kv)
			}
		}
	case unstable.Array:
		i := 0
		it := v.Children()
		for it.Next() {
			el := it.Node()
			if el.Kind == unstable.Comment {
				continue
			}
			ep := fmt.Sprintf("%s[%d]", path, i)
			x.record(ep, x.lineOf(el))
			x.value(ep, el)
			i++
		}
	}
}

// record keeps the first line seen for path; line 0 (unknown) is not
// kept.
func (x *indexer) record(path string, line int) {
	if _, ok := x.ix[path]; !ok && line > 0 {
		x.ix[path] = line
	}
}

// lineOf returns the line where n starts, or 0 for a node without a
// position (the parser gives none to arrays: their elements have one).
func (x *indexer) lineOf(n *unstable.Node) int {
	if n.Raw.Length == 0 {
		return 0
	}
	i, found := slices.BinarySearch(x.lineStarts, int(n.Raw.Offset))
	if found {
		i++
	}
	return i + 1
}

func subKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// renderProblems writes the problems found in the file name, whose
// content is data, as "NAME:LINE: MESSAGE", in the order of the file.
func renderProblems(name string, data []byte, probs []configProblem) error {
	ix := indexPositions(data)
	type located struct {
		line int
		msg  string
	}
	var ls []located
	for _, p := range probs {
		l := located{ix.line(p.key), p.msg}
		// A repository entry expanded over variables can make the
		// same mistake once per combination.
		if !slices.Contains(ls, l) {
			ls = append(ls, l)
		}
	}
	slices.SortStableFunc(ls, func(a, b located) int { return a.line - b.line })
	lines := make([]string, len(ls))
	for i, l := range ls {
		if l.line > 0 {
			lines[i] = fmt.Sprintf("%s:%d: %s", name, l.line, l.msg)
		} else {
			lines[i] = fmt.Sprintf("%s: %s", name, l.msg)
		}
	}
	if len(lines) == 1 {
		return fmt.Errorf("%s", lines[0])
	}
	return fmt.Errorf("%s: %d problems in the configuration:\n  %s", name, len(lines), strings.Join(lines, "\n  "))
}
