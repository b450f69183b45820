package compress

import (
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// requireTool returns the path of a command-line compressor, skipping
// (or failing under RPMIRROR_REQUIRE_ALL=1) when it is not installed.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	return testenv.RequireTool(t, name)
}
