package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pelletier/go-toml/v2"
)

// fileConfig is the TOML configuration file, documented key by key in
// config.example.toml. Flags given on the command line override it.
// Parsing is strict: an unknown key or a value of the wrong type is an
// error naming the key and its line.
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
	if err := c.checkTargets(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &c, nil
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
