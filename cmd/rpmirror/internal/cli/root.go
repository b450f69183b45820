// Package cli wires rpmirror's commands: flags and configuration in,
// library calls out. It holds no repository logic of its own.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, stable for scripts and systemd units.
const (
	ExitOK      = 0  // everything done
	ExitFailure = 1  // nothing was changed, see the log
	ExitPartial = 2  // done, but some packages were left out (listed in the log)
	ExitUsage   = 64 // bad flags or arguments (EX_USAGE)
	ExitLocked  = 75 // another run holds the target; try later (EX_TEMPFAIL)
)

// Env is what the process gives the CLI; tests pass their own.
type Env struct {
	Version string
	Args    []string
	Stdout  io.Writer
	Stderr  io.Writer
}

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

type globals struct {
	logFormat  string
	logLevel   string
	configPath string
	env        Env
}

// config loads the configuration file and lets it fill in the global
// flags the command line did not set.
func (g *globals) config(cmd *cobra.Command) (*fileConfig, error) {
	c, err := loadConfig(g.configPath)
	if err != nil {
		return nil, withCode(ExitUsage, err)
	}
	if c.Log.Format != "" && !cmd.Flags().Changed("log-format") {
		g.logFormat = c.Log.Format
	}
	if c.Log.Level != "" && !cmd.Flags().Changed("log-level") {
		g.logLevel = c.Log.Level
	}
	return c, nil
}

// Execute runs the command line and returns the process exit code.
func Execute(ctx context.Context, env Env) int {
	g := &globals{env: env}
	root := &cobra.Command{
		Use:   "rpmirror",
		Short: "Mirror, index and publish DNF repositories",
		Long: `rpmirror mirrors DNF (rpm-md) repositories for large fleets.

  sync         mirror the configured repositories: fetch, verify, regenerate, publish
  createrepo   build repodata/ for a directory of RPMs (a faster createrepo_c)
  publish      publish a local repository to a directory or S3, repomd.xml last
  verify       check a published repository (directory, s3://, http(s)://)

Configuration: one TOML file (--config or $RPMIRROR_CONFIG), every key
documented in config.example.toml; flags override it.

Exit codes: 0 success; 1 failure, nothing changed; 2 finished but some
packages were left out; 64 usage error; 75 target locked by another run.`,
		Version:       versionString(env.Version),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(env.Args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.configPath, "config", os.Getenv("RPMIRROR_CONFIG"), "TOML configuration file (see config.example.toml; default $RPMIRROR_CONFIG); flags override it")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(ExitUsage, fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath()))
	})
	root.AddCommand(newSyncCmd(g))
	root.AddCommand(newCreaterepoCmd(g))
	root.AddCommand(newVerifyCmd(g))
	root.AddCommand(newPublishCmd(g))

	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "rpmirror: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isUsageError(err) {
		return ExitUsage
	}
	return ExitFailure
}

// isUsageError recognises cobra's own argument errors, which it does not
// type.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// logTimeFormat is RFC 3339 with milliseconds: the phases of a sync or a
// publish are often shorter than a second.
const logTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// logger builds the logrus logger every command passes down. quiet and
// verbose are createrepo_c's -q and -v, which override --log-level.
func (g *globals) logger(quiet, verbose bool) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(g.env.Stderr)
	lvl, err := logrus.ParseLevel(g.logLevel)
	if err != nil {
		return nil, withCode(ExitUsage, fmt.Errorf("--log-level: %w", err))
	}
	switch {
	case verbose:
		lvl = logrus.DebugLevel
	case quiet:
		lvl = logrus.ErrorLevel
	}
	log.SetLevel(lvl)
	switch g.logFormat {
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: logTimeFormat})
	case "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: logTimeFormat})
	case "auto":
		if g.stderrIsTerminal() {
			log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: logTimeFormat})
		} else {
			log.SetFormatter(&logrus.JSONFormatter{TimestampFormat: logTimeFormat})
		}
	default:
		return nil, withCode(ExitUsage, fmt.Errorf("--log-format must be text, json or auto, not %q", g.logFormat))
	}
	return log, nil
}

func (g *globals) stderrIsTerminal() bool {
	f, ok := g.env.Stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func versionString(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
