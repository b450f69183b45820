package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/createrepo"
)

// fileConfig is the TOML configuration file, documented key by key in
// config.example.toml. Flags given on the command line override it.
// Parsing is strict: an unknown key, a value of the wrong type or a bad
// value (validate) is an error naming the key and its line.
type fileConfig struct {
	Log struct {
		Format string `toml:"format"`
		Level  string `toml:"level"`
	} `toml:"log"`
	Createrepo struct {
		Workers           *int    `toml:"workers"`
		Checksum          *string `toml:"checksum"`
		CompressType      *string `toml:"compress-type"`
		ChangelogLimit    *int    `toml:"changelog-limit"`
		UniqueMDFilenames *bool   `toml:"unique-md-filenames"`
		KeepAllMetadata   *bool   `toml:"keep-all-metadata"`
		DuplicatedNEVRA   *string `toml:"duplicated-nevra"`
	} `toml:"createrepo"`
	Publish struct {
		Parallel            *int          `toml:"parallel"`
		GracePeriod         *tomlDuration `toml:"grace-period"`
		PackageCacheControl *string       `toml:"package-cache-control"`
		Wait                *tomlDuration `toml:"wait"`
		LockTTL             *tomlDuration `toml:"lock-ttl"`
	} `toml:"publish"`
	// Target holds the [target.NAME] tables: named places to publish to
	// and verify, given on the command line as NAME (see target.go).
	Target map[string]targetTable `toml:"target"`
	// Sync and Repo configure rpmirror sync (see syncconfig.go).
	Sync syncTable   `toml:"sync"`
	Repo []repoTable `toml:"repo"`

	// repos is Repo expanded over its variables, by validate.
	repos []expandedRepo
}

// parseConfig decodes a configuration from r; name is used in errors.
func parseConfig(r io.Reader, name string) (*fileConfig, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var c fileConfig
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			var msg string
			for _, e := range sm.Errors {
				row, _ := e.Position()
				msg += fmt.Sprintf("\n  %s:%d: unknown key %q", name, row, joinKey(e.Key()))
			}
			return nil, fmt.Errorf("%s: unknown configuration keys:%s", name, msg)
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("%s:%d:%d: %s (key %q)", name, row, col, de.Error(), joinKey(de.Key()))
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if probs := c.validate(); len(probs) > 0 {
		return nil, renderProblems(name, data, probs)
	}
	return &c, nil
}

// validate checks what the decoder cannot, the values, and returns every
// problem it finds. Like unknown keys, bad values are errors in any table,
// whether or not the command uses it. It sets c.repos.
func (c *fileConfig) validate() []configProblem {
	var probs []configProblem
	probs = append(probs, c.checkLog()...)
	probs = append(probs, c.checkCreaterepo()...)
	probs = append(probs, c.checkPublish()...)
	probs = append(probs, c.Sync.check()...)
	probs = append(probs, c.checkTargets()...)
	repos, rp := expandRepos(c.Repo)
	probs = append(probs, rp...)
	for i := range repos {
		probs = append(probs, repos[i].check(c.Target)...)
	}
	c.repos = repos
	return probs
}

func (c *fileConfig) checkLog() []configProblem {
	var probs []configProblem
	switch f := c.Log.Format; f {
	case "", "text", "json", "auto":
	default:
		probs = append(probs, problem("log.format", "[log]: format must be \"text\", \"json\" or \"auto\", not %q", f))
	}
	if l := c.Log.Level; l != "" {
		if _, err := logrus.ParseLevel(l); err != nil {
			probs = append(probs, problem("log.level", "[log]: level must be \"debug\", \"info\", \"warn\" or \"error\", not %q", l))
		}
	}
	return probs
}

func (c *fileConfig) checkCreaterepo() []configProblem {
	var probs []configProblem
	cr := c.Createrepo
	if cr.Workers != nil && *cr.Workers < 1 {
		probs = append(probs, problem("createrepo.workers", "[createrepo]: workers must be at least 1, not %d", *cr.Workers))
	}
	probs = append(probs, checkMetadata("createrepo", "[createrepo]", cr.Checksum, cr.CompressType, cr.ChangelogLimit)...)
	if cr.DuplicatedNEVRA != nil {
		if _, err := createrepo.ParseDuplicatePolicy(*cr.DuplicatedNEVRA); err != nil {
			probs = append(probs, problem("createrepo.duplicated-nevra", "[createrepo]: %v", err))
		}
	}
	return probs
}

// checkMetadata checks the metadata settings that [createrepo] and every
// [[repo]] have (nil: not set). table is the key path of the table, where
// the name messages give it.
func checkMetadata(table, where string, checksum, compressType *string, changelogLimit *int) []configProblem {
	var probs []configProblem
	if checksum != nil {
		if _, err := repodata.NewHash(*checksum); err != nil {
			probs = append(probs, problem(table+".checksum", "%s: checksum: %v", where, err))
		}
	}
	if compressType != nil {
		if _, err := compress.ParseType(*compressType); err != nil {
			probs = append(probs, problem(table+".compress-type", "%s: compress-type: %v", where, err))
		}
	}
	if changelogLimit != nil && *changelogLimit < -1 {
		probs = append(probs, problem(table+".changelog-limit", "%s: changelog-limit must be -1 (keep all) or more, not %d", where, *changelogLimit))
	}
	return probs
}

func (c *fileConfig) checkPublish() []configProblem {
	var probs []configProblem
	p := c.Publish
	if p.Parallel != nil && *p.Parallel < 1 {
		probs = append(probs, problem("publish.parallel", "[publish]: parallel must be at least 1, not %d", *p.Parallel))
	}
	for _, d := range []struct {
		key string
		v   *tomlDuration
		min time.Duration
	}{{"grace-period", p.GracePeriod, 0}, {"wait", p.Wait, 0}, {"lock-ttl", p.LockTTL, 4 * time.Second}} {
		switch {
		case d.v == nil:
		case d.v.err != nil:
			probs = append(probs, problem("publish."+d.key, "[publish]: %s: %v", d.key, d.v.err))
		case d.v.d < d.min && d.min == 0:
			probs = append(probs, problem("publish."+d.key, "[publish]: %s must not be negative", d.key))
		case d.v.d < d.min:
			probs = append(probs, problem("publish."+d.key, "[publish]: %s must be at least %v, not %v", d.key, d.min, d.v.d))
		}
	}
	if cc := p.PackageCacheControl; cc != nil && !headerValue(*cc) {
		probs = append(probs, problem("publish.package-cache-control", "[publish]: package-cache-control %q is not a header value", *cc))
	}
	return probs
}

// headerValue reports whether s can be sent as an HTTP header's value.
func headerValue(s string) bool {
	return strings.TrimSpace(s) != "" && !strings.ContainsAny(s, "\r\n")
}

// tomlDuration is a duration written as a string in the configuration
// file: "72h", "90m", "1h30m". The decoder only records the text and
// validate reports a bad one: go-toml gives no position to the error of a
// TextUnmarshaler given a value that is not a string (wait = 5).
type tomlDuration struct {
	d   time.Duration
	err error
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *tomlDuration) UnmarshalText(b []byte) error {
	t.d, t.err = time.ParseDuration(string(b))
	if t.err != nil {
		t.err = fmt.Errorf("%q is not a duration (write it as a string such as \"72h\" or \"90m\")", b)
	}
	return nil
}

func joinKey(k toml.Key) string {
	s := ""
	for i, p := range k {
		if i > 0 {
			s += "."
		}
		s += p
	}
	return s
}

func loadConfig(path string) (*fileConfig, error) {
	if path == "" {
		return &fileConfig{}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	defer f.Close()
	return parseConfig(f, path)
}
