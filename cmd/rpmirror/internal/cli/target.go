package cli

import (
	"context"
	"errors"
	"maps"
	"slices"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/target"
)

// targetTable is one [target.NAME] table of the configuration file,
// documented in config.example.toml; target.Check validates it.
type targetTable struct {
	Type      string    `toml:"type"`
	Path      string    `toml:"path"`
	Endpoint  string    `toml:"endpoint"`
	Region    string    `toml:"region"`
	Bucket    string    `toml:"bucket"`
	Prefix    string    `toml:"prefix"`
	PathStyle *bool     `toml:"path-style"`
	TLS       *bool     `toml:"tls"`
	AccessKey string    `toml:"access-key"`
	SecretKey s3.Secret `toml:"secret-key"`
}

// targetConfig returns the storage/target configuration with the named
// targets of the file and the library defaults for the rest; log gets
// the retry warnings.
func (c *fileConfig) targetConfig(log logrus.FieldLogger) target.Config {
	tc := target.DefaultConfig()
	tc.Log = log
	tc.Targets = make(map[string]target.Target, len(c.Target))
	for name, t := range c.Target {
		tc.Targets[name] = target.Target{
			Type: t.Type, Path: t.Path, Endpoint: t.Endpoint, Region: t.Region, Bucket: t.Bucket, Prefix: t.Prefix,
			PathStyle: t.PathStyle, TLS: t.TLS, AccessKey: t.AccessKey, SecretKey: t.SecretKey,
		}
	}
	return tc
}

// checkTargets checks every [target.NAME] table, used or not.
func (c *fileConfig) checkTargets() []configProblem {
	var probs []configProblem
	targets := c.targetConfig(nil).Targets
	for _, name := range slices.Sorted(maps.Keys(targets)) {
		err := target.Check(name, targets[name])
		if err == nil {
			continue
		}
		key, msg := "target."+tomlKey(name), err.Error()
		var ke *target.KeyError
		if errors.As(err, &ke) {
			// Without target.ErrInvalidSpec's words: the line says
			// where the problem is.
			msg = ke.Error()
			if ke.Key != "" {
				key += "." + tomlKey(ke.Key)
			}
		}
		probs = append(probs, configProblem{key: key, msg: msg})
	}
	return probs
}

// openTarget opens the TARGET argument of a command. A spec that cannot
// mean anything, and (with tc.MustExist) a directory that does not exist,
// are usage errors; a target that cannot be reached is a failure.
func openTarget(ctx context.Context, spec string, tc target.Config) (storage.Backend, error) {
	b, err := target.Open(ctx, spec, tc)
	switch {
	case errors.Is(err, target.ErrInvalidSpec), tc.MustExist && errors.Is(err, storage.ErrNotExist):
		return nil, withCode(ExitUsage, err)
	case err != nil:
		return nil, err
	}
	return b, nil
}
