package cli

import (
	"os"
	"strings"
	"testing"
)

// config.example.toml documents every key: it must parse strictly.
func TestExampleConfigParses(t *testing.T) {
	f, err := os.Open("../../../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := parseConfig(f, "config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Format != "auto" || c.Createrepo.ChangelogLimit == nil || *c.Createrepo.ChangelogLimit != 10 {
		t.Errorf("unexpected values: %+v", c)
	}
}

func TestConfigStrict(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[createrepo]\nworkers = 2\nworkerz = 3\n", `cfg:3: unknown key "createrepo.workerz"`},
		{"[log]\nformat = \"json\"\n[colour]\nx = 1\n", `cfg:3: unknown key "colour"`},
		{"[createrepo]\nworkers = \"many\"\n", `cfg:2`},
		{"[createrepo\n", `cfg:1`},
	} {
		_, err := parseConfig(strings.NewReader(tc.in), "cfg")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}
