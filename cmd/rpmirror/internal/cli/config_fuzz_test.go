package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzParseConfig: any bytes given as a configuration file give a
// configuration or an error naming the file, never a panic (the
// position index walks go-toml's syntax tree, the checks walk every
// table and expand variables).
func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"../../../../config.example.toml", "../../../../testdata/demo.toml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[[repo]]\nname = \"a-$basearch\"\ntargets = [\"/srv/$basearch\"]\nvars.basearch = [\"x86_64\", \"aarch64\"]\nsource = [{type = \"repo\", baseurl = [\"http://x/$basearch/\"]}]\n[repo.filter]\nkeep-newest = -1\n"))
	f.Add([]byte("[target.s3]\nurl = \"s3://b/p?endpoint=127.0.0.1:9000\"\n[publish]\nwait = 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(bytes.NewReader(data), "fuzz.toml")
		if err == nil && c == nil {
			t.Fatal("no configuration and no error")
		}
		if err != nil && !strings.Contains(err.Error(), "fuzz.toml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
