package cli

import (
	"fmt"
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

// expectLine returns the line of conf marked "# <-"; exactly one must be.
func expectLine(t *testing.T, conf string) int {
	t.Helper()
	line := 0
	for i, l := range strings.Split(conf, "\n") {
		if strings.Contains(l, "# <-") {
			if line != 0 {
				t.Fatalf("two lines marked in\n%s", conf)
			}
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("no line marked in\n%s", conf)
	}
	return line
}

// Valid [[repo]] entries for the cases below to break: okRepo takes more
// keys, okRepoTables more [[repo.source]] and [repo.filter] tables.
const (
	okRepo = `
[[repo]]
name = "ok"
targets = ["/srv/ok"]
source = [{ type = "dir", path = "/x" }]
`
	okRepoTables = `
[[repo]]
name = "ok"
targets = ["/srv/ok"]
  [[repo.source]]
  type = "dir"
  path = "/x"
`
)

// Every bad value the decoder cannot see is reported at the line of its
// key, or of the table that lacks a required key.
func TestConfigValueErrors(t *testing.T) {
	for _, tc := range []struct{ name, conf, want string }{
		{"log format", "[log]\nformat = \"xml\" # <-\n", `[log]: format must be "text", "json" or "auto", not "xml"`},
		{"log level", "[log]\nformat = \"json\"\nlevel = \"loud\" # <-\n", `[log]: level must be "debug", "info", "warn" or "error", not "loud"`},

		{"createrepo workers", "[createrepo]\nworkers = 0 # <-\n", `[createrepo]: workers must be at least 1, not 0`},
		{"createrepo checksum", "[createrepo]\nchecksum = \"md5\" # <-\n", `[createrepo]: checksum: repodata: unsupported checksum type "md5" (want sha1, sha224, sha256, sha384 or sha512)`},
		{"createrepo compress-type", "[createrepo]\ncompress-type = \"lz4\" # <-\n", `[createrepo]: compress-type: compress: unknown compression type "lz4" (want gz, zstd, xz, bz2 or none)`},
		{"createrepo changelog-limit", "[createrepo]\nchangelog-limit = -2 # <-\n", `[createrepo]: changelog-limit must be -1 (keep all) or more, not -2`},
		{"createrepo duplicated-nevra", "[createrepo]\nduplicated-nevra = \"first\" # <-\n", `[createrepo]: unknown duplicated-nevra policy "first" (want keep or keep-last)`},

		{"publish parallel", "[publish]\nparallel = 0 # <-\n", `[publish]: parallel must be at least 1, not 0`},
		{"publish grace-period negative", "[publish]\ngrace-period = \"-1h\" # <-\n", `[publish]: grace-period must not be negative`},
		{"publish wait not a duration", "[publish]\nwait = \"forever\" # <-\n", `[publish]: wait: "forever" is not a duration (write it as a string such as "72h" or "90m")`},
		{"publish wait an integer", "[publish]\nwait = 5 # <-\n", `[publish]: wait: "5" is not a duration (write it as a string such as "72h" or "90m")`},
		{"publish lock-ttl", "[publish]\nlock-ttl = \"1s\" # <-\n", `[publish]: lock-ttl must be at least 4s, not 1s`},
		{"publish package-cache-control", "[publish]\npackage-cache-control = \"a\\nb\" # <-\n", `[publish]: package-cache-control "a\nb" is not a header value`},

		{"sync parallel", "[sync]\nparallel = -1 # <-\n", `[sync]: parallel must be at least 1, not -1`},
		{"sync every negative", "[sync]\nevery = \"-15m\" # <-\n", `[sync]: every must not be negative (leave it out to sync once)`},
		{"sync every not a duration", "[sync]\nevery = \"hourly\" # <-\n", `[sync]: every: "hourly" is not a duration (write it as a string such as "72h" or "90m")`},
		{"sync jitter", "[sync]\njitter = 1.0 # <-\n", `[sync]: jitter must be at least 0 and less than 1, not 1`},
		{"sync jitter nan", "[sync]\njitter = nan # <-\n", `[sync]: jitter must be at least 0 and less than 1, not NaN`},
		{"sync prune-after negative", "[sync]\nprune-after = \"-1h\" # <-\n", `[sync]: prune-after must not be negative (0 keeps every pooled package)`},
		{"sync prune-after unparsable", "[sync]\nparallel = 2\nprune-after = \"3 days\" # <-\n", `[sync]: prune-after: "3 days" is not a duration (write it as a string such as "72h" or "90m")`},
		{"sync metrics-address", "[sync]\nmetrics-address = \"9464\" # <-\n", `[sync]: metrics-address "9464" is not HOST:PORT (such as 127.0.0.1:9464)`},

		{"target without path", "[target.ok]\ntype = \"fs\"\npath = \"/srv\"\n\n[target.d] # <-\ntype = \"fs\"\n", `[target.d]: type "fs" needs path`},
		{"target relative path", "[target.d]\ntype = \"fs\"\npath = \"srv\" # <-\n", `[target.d]: path "srv" is not absolute`},
		{"target key of the other type", "[target.b]\ntype = \"s3\"\nbucket = \"bkt\"\npath = \"/x\" # <-\n", `[target.b]: key path does not apply to type "s3"`},
		{"target endpoint", "[target.b]\ntype = \"s3\"\nbucket = \"bkt\"\nendpoint = \"https://h\" # <-\n", `[target.b]: endpoint "https://h": give HOST[:PORT] without a scheme (tls chooses HTTPS or HTTP)`},
		{"target one credential", "[target.b]\ntype = \"s3\"\nbucket = \"bkt\"\nsecret-key = \"s\" # <-\n", `[target.b]: give both access-key and secret-key, or neither (to use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`},
		{"target type", "[target.b]\ntype = \"gcs\" # <-\n", `[target.b]: type "gcs": want "fs" or "s3"`},
		{"target name", "[target.\"my repo\"] # <-\ntype = \"fs\"\npath = \"/srv\"\n", `[target.my repo]: a target name is letters, digits, '-' and '_', starting with a letter or digit`},
		{"target in dotted keys", "target.d.type = \"fs\"\ntarget.d.path = \"srv\" # <-\n", `[target.d]: path "srv" is not absolute`},

		{"repo without name", okRepo + "\n[[repo]] # <-\ntargets = [\"/srv/b\"]\n", `repo #2: name is required`},
		{"repo mode", okRepo + "mode = \"mirror\" # <-\n", `repo "ok": mode must be "regenerate" or "verbatim", not "mirror"`},
		{"repo verbatim from a directory", "[[repo]]\nname = \"v\"\nmode = \"verbatim\"\ntargets = [\"/srv/v\"]\nsource = [{type = \"dir\", path = \"/x\"}] # <-\n", `repo "v": mode "verbatim" needs a source of type "repo" (an upstream repository whose metadata is copied), not "dir"`},
		{"repo verbatim with a filter", "[[repo]]\nname = \"v\"\nmode = \"verbatim\"\ntargets = [\"/srv/v\"]\nsource = [{type = \"repo\", baseurl = [\"http://x/\"]}]\n[repo.filter]\nexclude-source = true # <-\n", `repo "v": filter.exclude-source not allowed with mode "verbatim" (the upstream's metadata is copied as it is: it cannot leave packages out or be written differently)`},
		{"repo without source", okRepo + "\n[[repo]] # <-\nname = \"b\"\ntargets = [\"/srv/b\"]\n", `repo "b": at least one [[repo.source]] is required`},
		{"repo without targets", okRepo + "\n[[repo]] # <-\nname = \"b\"\nsource = [{type = \"dir\", path = \"/x\"}]\n", `repo "b": targets is required (names of [target.NAME] tables, or paths/URLs)`},
		{"repo bad target", "[[repo]]\nname = \"b\"\ntargets = [\n  \"/srv/b\",\n  \"s3:bkt\", # <-\n]\nsource = [{type = \"dir\", path = \"/x\"}]\n", `repo "b": targets: s3 target without '//': write s3://...`},
		{"repo http target", "[[repo]]\nname = \"b\"\ntargets = [\"https://example.org/b\"] # <-\nsource = [{type = \"dir\", path = \"/x\"}]\n", `repo "b": targets: an http(s) URL is read-only: publish to the directory or bucket behind it`},
		{"source type", okRepoTables + "  [[repo.source]]\n  type = \"ftp\" # <-\n", `repo "ok": source #2 (ftp): type must be repo, dir or koji`},
		{"source key of another type", "[[repo]]\nname = \"a\"\ntargets = [\"/srv/a\"]\n  [[repo.source]]\n  type = \"repo\"\n  baseurl = [\"http://x/\"]\n  tag = \"t\" # <-\n", `repo "a": source #1 (repo): tag not allowed for this type (allowed: baseurl, mirrorlist, metalink)`},
		{"source two locations", "[[repo]]\nname = \"a\"\ntargets = [\"/srv/a\"]\n  [[repo.source]] # <-\n  type = \"repo\"\n  baseurl = [\"http://x/\"]\n  metalink = \"http://y\"\n", `repo "a": source #1 (repo): exactly one of baseurl, mirrorlist, metalink is required`},
		{"dir source without path", okRepoTables + "  [[repo.source]] # <-\n  type = \"dir\"\n", `repo "ok": source #2 (dir): path is required`},
		{"koji source without hub", okRepoTables + "  [[repo.source]] # <-\n  type = \"koji\"\n  topurl = \"https://k/files\"\n  tag = \"t\"\n", `repo "ok": source #2 (koji): hub, topurl and tag are required`},
		{"filter min-build-time", okRepoTables + "  [repo.filter]\n  min-build-time = \"yesterday\" # <-\n", `repo "ok": filter.min-build-time: "yesterday" is not a date (2006-01-02) or an RFC 3339 time`},
		{"filter keep-newest", okRepoTables + "  [repo.filter]\n  exclude = [\"*-debuginfo\"]\n  keep-newest = -1 # <-\n", `repo "ok": filter.keep-newest must not be negative`},
		{"filter keep-newest dotted", okRepo + "filter.keep-newest = -1 # <-\n", `repo "ok": filter.keep-newest must not be negative`},
		{"filter keep-newest inline", okRepo + "filter = { arches = [\"x86_64\"], keep-newest = -1 } # <-\n", `repo "ok": filter.keep-newest must not be negative`},
		{"repo checksum", okRepo + "checksum = \"md5\" # <-\n", `repo "ok": checksum: repodata: unsupported checksum type "md5" (want sha1, sha224, sha256, sha384 or sha512)`},
		{"repo compress-type", okRepo + "compress-type = \"lz4\" # <-\n", `repo "ok": compress-type: compress: unknown compression type "lz4" (want gz, zstd, xz, bz2 or none)`},
		{"repo changelog-limit", okRepo + "changelog-limit = -3 # <-\n", `repo "ok": changelog-limit must be -1 (keep all) or more, not -3`},

		{"undefined variable", "[[repo]]\nname = \"a\"\ntargets = [\"/srv/a\"]\n  [[repo.source]]\n  type = \"repo\"\n  baseurl = [\n    \"http://x/\",\n    \"http://y/$basearch/\", # <-\n  ]\n", `repo "a": variable $basearch has no values (define it in vars)`},
		{"variable without values", "[[repo]]\nname = \"a-$basearch\"\ntargets = [\"/srv/a\"]\nsource = [{type = \"dir\", path = \"/x\"}]\n  [repo.vars]\n  basearch = [] # <-\n", `repo "a-$basearch": variable $basearch has no values (define it in vars)`},
		{"unused variable", "[[repo]]\nname = \"a-$basearch\"\ntargets = [\"/srv/a\"]\nsource = [{type = \"dir\", path = \"/x\"}]\nvars.basearch = [\"x86_64\"]\nvars.stream = [\"9\"] # <-\n", `repo "a-$basearch": vars.stream is not used anywhere`},
		{"same name from two entries", okRepo + "\n[[repo]]\nname = \"ok\" # <-\ntargets = [\"/srv/b\"]\nsource = [{type = \"dir\", path = \"/x\"}]\n", `repo "ok": repository name "ok" also made by repo #1; use the variables in the name`},
		{"same name from one entry", "[[repo]]\nname = \"a\" # <-\ntargets = [\"/srv/$basearch\"]\nsource = [{type = \"dir\", path = \"/x\"}]\nvars.basearch = [\"x86_64\", \"aarch64\", \"ppc64le\"]\n", `repo "a": repository name "a" also made by this entry for other values of vars; use all the variables in the name`},
		// Reported once, at the entry that expands to four repositories.
		{"expanded entry", okRepo + "\n[[repo]]\nname = \"b-$stream-$basearch\"\ntargets = [\"/srv/b/$stream/$basearch\"]\nsource = [{type = \"dir\", path = \"/x/$basearch\"}]\nvars = { stream = [\"9\", \"10\"], basearch = [\"x86_64\", \"aarch64\"] }\nfilter.keep-newest = -1 # <-\n", `repo "b-$stream-$basearch": filter.keep-newest must not be negative`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := fmt.Sprintf("cfg:%d: %s", expectLine(t, tc.conf), tc.want)
			_, err := parseConfig(strings.NewReader(tc.conf), "cfg")
			if err == nil || err.Error() != want {
				t.Errorf("err = %v\nwant    %s\nconfiguration:\n%s", err, want, tc.conf)
			}
		})
	}
}

// All the problems are reported, in the order of the file, each at its
// line.
func TestConfigValueErrorsAll(t *testing.T) {
	conf := `[publish]
parallel = 0                   # <- [publish]: parallel must be at least 1, not 0
[[repo]]
name = "a-$basearch"
targets = ["/srv/a"]
vars.basearch = ["x86_64", "aarch64"]
filter.keep-newest = -1        # <- repo "a-$basearch": filter.keep-newest must not be negative
  [[repo.source]]
  type = "dir"
  hub = "h"                    # <- repo "a-$basearch": source #1 (dir): hub not allowed for this type (allowed: path)
  tag = "t"                    # <- repo "a-$basearch": source #1 (dir): tag not allowed for this type (allowed: path)
  path = "/x"
[target.x]                     # <- [target.x]: no type (want "fs" or "s3")
[log]
level = "loud"                 # <- [log]: level must be "debug", "info", "warn" or "error", not "loud"
`
	var want []string
	for i, l := range strings.Split(conf, "\n") {
		if _, msg, ok := strings.Cut(l, "# <- "); ok {
			want = append(want, fmt.Sprintf("cfg:%d: %s", i+1, msg))
		}
	}
	_, err := parseConfig(strings.NewReader(conf), "cfg")
	wantErr := fmt.Sprintf("cfg: %d problems in the configuration:\n  %s", len(want), strings.Join(want, "\n  "))
	if err == nil || err.Error() != wantErr {
		t.Errorf("err = %v\nwant %s", err, wantErr)
	}
}
