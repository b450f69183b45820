package createrepo

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"unicode/utf8"
)

// task is one RPM file to index.
type task struct {
	base string // file name
	dir  string // directory relative to the input dir, "" or ending in '/'
	size int64  // bytes, as the walk saw them; 0 if not known
}

func (t task) rel() string { return t.dir + t.base }

// sortTasks orders packages as createrepo_c does: by file name, then by
// directory. This order is the package order of the metadata.
func sortTasks(ts []task) {
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].base != ts[j].base {
			return ts[i].base < ts[j].base
		}
		return ts[i].dir < ts[j].dir
	})
}

// listPackages finds the RPM files to index: the pkglist if given, else
// every *.rpm under the input dir. Symbolic links to directories are
// followed (createrepo_c does), but each directory is visited once, so a
// link loop cannot hang the walk. Temporary .repodata* directories at the
// top (ours and createrepo_c's) are skipped.
func listPackages(ctx context.Context, o *Options) ([]task, error) {
	var ts []task
	if o.PkgList != nil {
		for _, p := range o.PkgList {
			p = strings.TrimPrefix(path.Clean(strings.TrimSpace(p)), "./")
			if p == "" || p == "." {
				continue
			}
			if excluded(p, o.Excludes) {
				continue
			}
			dir, base := path.Split(p)
			ts = append(ts, task{base: base, dir: dir})
		}
		sortTasks(ts)
		return ts, nil
	}

	seen := map[[2]uint64]bool{}
	var walk func(abs, rel string) error
	walk = func(abs, rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if fi, err := os.Stat(abs); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				key := [2]uint64{uint64(st.Dev), st.Ino}
				if seen[key] {
					return nil
				}
				seen[key] = true
			}
		}
		entries, err := os.ReadDir(abs)
		if err != nil {
			return fmt.Errorf("read directory %s: %w", abs, err)
		}
		for _, e := range entries {
			name := e.Name()
			if excluded(name, o.Excludes) {
				continue
			}
			full := filepath.Join(abs, name)
			mode := e.Type()
			var fi os.FileInfo
			if mode&os.ModeSymlink != 0 {
				if fi, err = os.Stat(full); err != nil {
					continue // dangling link: createrepo_c ignores it too
				}
				mode = fi.Mode().Type()
			}
			switch {
			case mode.IsDir():
				if rel == "" && strings.HasPrefix(name, ".repodata") {
					continue
				}
				if err := walk(full, rel+name+"/"); err != nil {
					return err
				}
			case mode.IsRegular():
				if !strings.HasSuffix(name, ".rpm") || excluded(rel+name, o.Excludes) {
					continue
				}
				if fi == nil {
					// The size lets the pipeline start large packages
					// early; a file gone already fails when opened.
					fi, _ = e.Info()
				}
				var size int64
				if fi != nil {
					size = fi.Size()
				}
				ts = append(ts, task{base: name, dir: rel, size: size})
			}
		}
		return nil
	}
	if err := walk(o.InputDir, ""); err != nil {
		return nil, err
	}
	sortTasks(ts)
	return ts, nil
}

func excluded(name string, patterns []string) bool {
	for _, p := range patterns {
		if globMatch(p, name) {
			return true
		}
	}
	return false
}

// globMatch implements GLib's GPatternSpec, which createrepo_c uses for
// --excludes: '*' matches any sequence of characters, '/' included, and
// '?' exactly one character. There are no character classes or escapes.
func globMatch(pattern, s string) bool {
	// Iterative matching with single-star backtracking: linear in
	// practice, never exponential.
	px, sx := 0, 0
	starP, starS := -1, 0
	for sx < len(s) {
		if px < len(pattern) {
			switch pattern[px] {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				_, n := utf8.DecodeRuneInString(s[sx:])
				px++
				sx += n
				continue
			default:
				if pattern[px] == s[sx] {
					px++
					sx++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starS++
		_, n := utf8.DecodeRuneInString(s[starS-1:])
		starS += n - 1
		px, sx = starP+1, starS
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
