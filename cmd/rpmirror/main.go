// Command rpmirror mirrors, indexes and publishes DNF repositories.
// See `rpmirror --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rpmirror/rpmirror/cmd/rpmirror/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, cli.Env{
		Version: version,
		Args:    os.Args[1:],
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
	})
	stop()
	os.Exit(code)
}
