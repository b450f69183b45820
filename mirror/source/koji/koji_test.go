package koji

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/mirror/source/koji/internal/xmlrpc"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
)

func newSource(t *testing.T, cfg Config) (*Source, *logtest.Hook) {
	t.Helper()
	log, hook := logtest.NewNullLogger()
	log.SetLevel(logrus.DebugLevel)
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	return s, hook
}

func hrefs(cs []source.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Href)
	}
	return out
}

func byName(t *testing.T, cs []source.Candidate, name, arch string) source.Candidate {
	t.Helper()
	for _, c := range cs {
		if c.Name == name && c.Arch == arch {
			return c
		}
	}
	t.Fatalf("no candidate %s.%s in %v", name, arch, hrefs(cs))
	return source.Candidate{}
}

func fetchAll(t *testing.T, s *Source, c *source.Candidate) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	err := s.Fetch(context.Background(), c, 0, &buf)
	return buf.Bytes(), err
}

func TestListUnsigned(t *testing.T) {
	f := newFakeKoji(t)
	cfg := f.config()
	cfg.Arches = []string{"x86_64"}
	s, _ := newSource(t, cfg)
	cs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Packages/r/rpmirror-demo-clock-0.9-3.noarch.rpm",
		"Packages/r/rpmirror-demo-config-1.0-1.noarch.rpm",
		"Packages/r/rpmirror-demo-docs-1.0-1.noarch.rpm",
		"Packages/r/rpmirror-demo-extras-1.0-1.noarch.rpm",
		"Packages/r/rpmirror-demo-hello-1.0-1.noarch.rpm",
		"Packages/r/rpmirror-demo-libgreet-1.2.0-1.x86_64.rpm",
		"Packages/r/rpmirror-demo-libgreet-devel-1.2.0-1.x86_64.rpm",
		"Packages/r/rpmirror-demo-suite-1.0-1.noarch.rpm",
	}
	if got := hrefs(cs); !reflect.DeepEqual(got, want) {
		t.Fatalf("hrefs:\n got %q\nwant %q", got, want)
	}
	if s.Incomplete() {
		t.Error("Incomplete after a List without SigKey")
	}

	calls := f.hubCalls()
	if len(calls) != 1 || calls[0].method != "listTaggedRPMS" {
		t.Fatalf("calls = %v", calls)
	}
	wantOpts := map[string]any{"__starstar": true, "latest": true, "inherit": false, "arch": []any{"noarch", "x86_64"}}
	if !reflect.DeepEqual(calls[0].params, []any{testTag, wantOpts}) {
		t.Errorf("listTaggedRPMS params = %#v", calls[0].params)
	}

	clock := byName(t, cs, "rpmirror-demo-clock", "noarch")
	r := f.rpm("rpmirror-demo-clock", "noarch")
	if clock.Epoch != "2" || clock.Version != "0.9" || clock.Release != "3" || clock.Size != int64(len(r.unsigned)) ||
		clock.BuildTime != r.spec.BuildTime.Unix() || clock.Checksum != (repodata.Checksum{}) || clock.Package != nil {
		t.Errorf("clock = %+v", clock)
	}
	if want := f.srv.URL + filesPath + "/vol/archive/packages/rpmirror-demo-clock/0.9/3/noarch/rpmirror-demo-clock-0.9-3.noarch.rpm"; clock.Origin != want {
		t.Errorf("clock.Origin = %s, want %s", clock.Origin, want)
	}
	if hello := byName(t, cs, "rpmirror-demo-hello", "noarch"); hello.Epoch != "0" {
		t.Errorf("hello epoch %q, want 0 for Koji's nil", hello.Epoch)
	}
	// A subpackage lives under its build's directory.
	devel := byName(t, cs, "rpmirror-demo-libgreet-devel", "x86_64")
	if !strings.Contains(devel.Origin, "/packages/rpmirror-demo-libgreet/1.2.0/1/x86_64/rpmirror-demo-libgreet-devel-1.2.0-1.x86_64.rpm") {
		t.Errorf("devel.Origin = %s", devel.Origin)
	}

	for _, c := range cs {
		b, err := fetchAll(t, s, &c)
		if err != nil {
			t.Fatalf("fetch %s: %v", c.Href, err)
		}
		r := f.rpm(c.Name, c.Arch)
		if !bytes.Equal(b, r.unsigned) {
			t.Errorf("%s: fetched %d bytes, not the unsigned file", c.Href, len(b))
		}
		p, err := rpmfile.Read(bytes.NewReader(b), rpmfile.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.Href, err)
		}
		if got := p.NEVRA(); got != c.NEVRA() {
			t.Errorf("candidate %s, file %s", c.NEVRA(), got)
		}
	}
}

func TestListSigned(t *testing.T) {
	f := newFakeKoji(t)
	cfg := f.config()
	cfg.Arches = []string{"x86_64", "src"}
	cfg.SigKey = strings.ToUpper(f.key)
	s, hook := newSource(t, cfg)
	cs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Packages/r/rpmirror-demo-clock-0.9-3.noarch.rpm",
		"Packages/r/rpmirror-demo-hello-1.0-1.noarch.rpm",
		"Packages/r/rpmirror-demo-hello-1.0-1.src.rpm",
		"Packages/r/rpmirror-demo-libgreet-1.2.0-1.x86_64.rpm",
		"Packages/r/rpmirror-demo-libgreet-devel-1.2.0-1.x86_64.rpm",
		"Packages/r/rpmirror-demo-suite-1.0-1.noarch.rpm",
	}
	if got := hrefs(cs); !reflect.DeepEqual(got, want) {
		t.Fatalf("hrefs:\n got %q\nwant %q", got, want)
	}
	if opts := f.hubCalls()[0].params[1].(map[string]any); opts["rpmsigs"] != true {
		t.Errorf("rpmsigs not asked for: %#v", opts)
	}
	// config is unsigned, docs signed by another key only, extras has no
	// signature record at all.
	if !s.Incomplete() {
		t.Error("Incomplete() = false after leaving packages out")
	}
	var left []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel && e.Data["pkg"] != nil {
			left = append(left, e.Data["pkg"].(string))
		}
	}
	sort.Strings(left)
	if want := []string{"rpmirror-demo-config-1.0-1.noarch", "rpmirror-demo-docs-1.0-1.noarch", "rpmirror-demo-extras-1.0-1.noarch"}; !reflect.DeepEqual(left, want) {
		t.Errorf("warned about %q, want %q", left, want)
	}

	for _, c := range cs {
		if c.Size != -1 {
			t.Errorf("%s: Size %d, want -1 (Koji's size is the unsigned file's)", c.Href, c.Size)
		}
		if !strings.Contains(c.Origin, "/data/signed/"+f.key+"/") {
			t.Errorf("%s: origin %s is not the signed copy", c.Href, c.Origin)
		}
		b, err := fetchAll(t, s, &c)
		if c.Name == "rpmirror-demo-suite" {
			if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "not written back") ||
				!strings.Contains(err.Error(), "koji write-signed-rpm "+f.key+" rpmirror-demo-suite-1.0-1") {
				t.Errorf("missing signed copy: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("fetch %s: %v", c.Href, err)
		}
		if r := f.rpm(c.Name, c.Arch); !bytes.Equal(b, r.signed) || bytes.Equal(b, r.unsigned) {
			t.Errorf("%s: not the signed copy", c.Href)
		}
	}
	// A 404 is not retried.
	n := 0
	for _, g := range f.fileGets() {
		if strings.Contains(g.path, "rpmirror-demo-suite") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the missing signed copy was requested %d times", n)
	}

	// Once everything is signed, the next List is complete.
	f.mu.Lock()
	for _, r := range f.rpms {
		r.sigkeys = append(r.sigkeys, f.key)
	}
	f.mu.Unlock()
	if _, err := s.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.Incomplete() {
		t.Error("still Incomplete after everything was signed")
	}
}

func TestListAllArchesAllBuilds(t *testing.T) {
	f := newFakeKoji(t)
	cfg := f.config()
	cfg.Latest = false
	cfg.Inherit = true
	s, _ := newSource(t, cfg)
	cs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 11 {
		t.Errorf("%d candidates, want 11 (all but the metadata-only one): %q", len(cs), hrefs(cs))
	}
	for _, want := range []string{"rpmirror-demo-libgreet-1.2.0-1.i686", "rpmirror-demo-hello-1.0-1.src", "rpmirror-demo-hello-0.9-1.noarch"} {
		found := false
		for _, c := range cs {
			found = found || c.NEVRA() == want
		}
		if !found {
			t.Errorf("%s not listed", want)
		}
	}
	opts := f.hubCalls()[0].params[1].(map[string]any)
	if _, ok := opts["arch"]; ok || opts["latest"] != false || opts["inherit"] != true {
		t.Errorf("opts = %#v", opts)
	}
}

// The hub's answer as Python's marshaller writes it (the golden file of
// internal/xmlrpc), read end to end.
func TestListGoldenResponse(t *testing.T) {
	golden, err := os.ReadFile("internal/xmlrpc/testdata/listTaggedRPMS.xml")
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeKoji(t)
	f.hubHook = func(w http.ResponseWriter, c hubCall) bool { w.Write(golden); return true }
	for _, tt := range []struct {
		key  string
		want map[string]string // href → origin below topurl
	}{
		{"", map[string]string{
			"Packages/a/acme-1.0-1.el9s.x86_64.rpm":      "packages/acme/1.0/1.el9s/x86_64/acme-1.0-1.el9s.x86_64.rpm",
			"Packages/a/acme-1.0-1.el9s.src.rpm":         "packages/acme/1.0/1.el9s/src/acme-1.0-1.el9s.src.rpm",
			"Packages/a/acme-data-1.0-1.el9s.noarch.rpm": "packages/acme/1.0/1.el9s/noarch/acme-data-1.0-1.el9s.noarch.rpm",
			"Packages/c/clock-2.1-3.el9s.aarch64.rpm":    "vol/archive/packages/clock/2.1/3.el9s/aarch64/clock-2.1-3.el9s.aarch64.rpm",
		}},
		{"8483C65D", map[string]string{
			"Packages/a/acme-1.0-1.el9s.x86_64.rpm":   "packages/acme/1.0/1.el9s/data/signed/8483c65d/x86_64/acme-1.0-1.el9s.x86_64.rpm",
			"Packages/a/acme-1.0-1.el9s.src.rpm":      "packages/acme/1.0/1.el9s/data/signed/8483c65d/src/acme-1.0-1.el9s.src.rpm",
			"Packages/c/clock-2.1-3.el9s.aarch64.rpm": "vol/archive/packages/clock/2.1/3.el9s/data/signed/8483c65d/aarch64/clock-2.1-3.el9s.aarch64.rpm",
		}},
	} {
		cfg := f.config()
		cfg.SigKey = tt.key
		s, _ := newSource(t, cfg)
		cs, err := s.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range cs {
			got[c.Href] = strings.TrimPrefix(c.Origin, f.srv.URL+filesPath+"/")
			if c.Name == "acme-data" && c.Size != 3<<30 {
				t.Errorf("i8 size read as %d", c.Size)
			}
			if c.Name == "clock" && c.Epoch != "2" {
				t.Errorf("clock epoch %q", c.Epoch)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("sigkey %q:\n got %v\nwant %v", tt.key, got, tt.want)
		}
		if s.Incomplete() != (tt.key != "") { // acme-data has no signature
			t.Errorf("sigkey %q: Incomplete() = %v", tt.key, s.Incomplete())
		}
	}
}

func TestFingerprint(t *testing.T) {
	f := newFakeKoji(t)
	ctx := context.Background()
	fp := func(mod func(*Config)) string {
		t.Helper()
		cfg := f.config()
		if mod != nil {
			mod(&cfg)
		}
		s, _ := newSource(t, cfg)
		p, err := s.Fingerprint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := fp(nil), fp(nil)
	if a != b {
		t.Errorf("fingerprint not stable: %q, %q", a, b)
	}
	if !strings.Contains(a, "event=3412345") || !strings.Contains(a, testTag) {
		t.Errorf("fingerprint %q lacks the event or tag", a)
	}
	if calls := f.hubCalls(); len(calls) != 2 || calls[0].method != "getLastEvent" || len(calls[0].params) != 0 {
		t.Errorf("calls = %v", calls)
	}
	// Same configuration written differently: same fingerprint.
	if c := fp(func(c *Config) { c.Arches = []string{"x86_64", "noarch", "x86_64"} }); c != fp(func(c *Config) { c.Arches = []string{"x86_64"} }) {
		t.Error("equivalent arch lists give different fingerprints")
	}
	seen := map[string]string{a: "base"}
	for name, mod := range map[string]func(*Config){
		"arches":  func(c *Config) { c.Arches = []string{"aarch64"} },
		"sigkey":  func(c *Config) { c.SigKey = f.key },
		"latest":  func(c *Config) { c.Latest = false },
		"inherit": func(c *Config) { c.Inherit = true },
		"layout":  func(c *Config) { c.Layout = "{nvra}.rpm" },
		"tag":     func(c *Config) { c.Tag = "other" },
	} {
		p := fp(mod)
		if other, dup := seen[p]; dup {
			t.Errorf("%s and %s give the same fingerprint %q", name, other, p)
		}
		seen[p] = name
	}
	f.mu.Lock()
	f.event++
	f.mu.Unlock()
	if c := fp(nil); c == a {
		t.Error("a new event did not change the fingerprint")
	}
}

func TestHubFaults(t *testing.T) {
	f := newFakeKoji(t)
	cfg := f.config()
	cfg.Tag = "nope"
	s, _ := newSource(t, cfg)
	_, err := s.List(context.Background())
	var fault *Fault
	if !errors.As(err, &fault) || fault.Code != 1000 || !strings.Contains(err.Error(), "No such tagInfo: 'nope'") {
		t.Fatalf("List of a missing tag: %v", err)
	}
	if n := len(f.hubCalls()); n != 1 {
		t.Errorf("a GenericError fault was tried %d times", n)
	}

	// ServerOffline is worth retrying.
	f2 := newFakeKoji(t)
	offline := 2
	f2.hubHook = func(w http.ResponseWriter, c hubCall) bool {
		if offline > 0 {
			offline--
			writeFault(w, &Fault{Code: faultServerOffline, String: "server is offline"})
			return true
		}
		return false
	}
	s2, _ := newSource(t, f2.config())
	if _, err := s2.Fingerprint(context.Background()); err != nil {
		t.Fatalf("after two ServerOffline faults: %v", err)
	}
	if n := len(f2.hubCalls()); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

func TestHubMalformed(t *testing.T) {
	resp := func(v string) string {
		return "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n" + v + "</param>\n</params>\n</methodResponse>\n"
	}
	rpm := func(fields string) string {
		return resp("<value><array><data><value><array><data><value><struct>" + fields +
			"</struct></value></data></array></value><value><array><data><value><struct>" +
			"<member><name>build_id</name><value><int>1</int></value></member>" +
			"<member><name>name</name><value>b</value></member><member><name>version</name><value>1</value></member>" +
			"<member><name>release</name><value>1</value></member>" +
			"</struct></value></data></array></value></data></array></value>")
	}
	member := func(k, v string) string { return "<member><name>" + k + "</name><value>" + v + "</value></member>" }
	good := member("id", "<int>1</int>") + member("name", "a") + member("version", "1") + member("release", "1") +
		member("arch", "noarch") + member("build_id", "<int>1</int>") + member("size", "<int>10</int>") + member("epoch", "<nil/>")
	tests := []struct {
		name   string
		body   string
		status int
		want   error
	}{
		{"HTML error page", "<html><body><h1>Internal Server Error</h1></body></html>", 200, ErrMalformed},
		{"empty body", "", 200, ErrMalformed},
		{"cut short", resp("<value><array><data><value>")[:70], 200, ErrMalformed},
		{"struct instead of a pair", resp("<value><struct></struct></value>"), 200, ErrResponse},
		{"one-element array", resp("<value><array><data><value><array><data/></array></value></data></array></value>"), 200, ErrResponse},
		{"rpm without name", rpm(strings.Replace(good, member("name", "a"), "", 1)), 200, ErrResponse},
		{"size as string", rpm(strings.Replace(good, "<int>10</int>", "10", 1)), 200, ErrResponse},
		{"negative size", rpm(strings.Replace(good, "<int>10</int>", "<int>-1</int>", 1)), 200, ErrResponse},
		{"epoch as string", rpm(strings.Replace(good, "<nil/>", "<string>1</string>", 1)), 200, ErrResponse},
		{"unknown build", rpm(strings.Replace(good, member("build_id", "<int>1</int>"), member("build_id", "<int>2</int>"), 1)), 200, ErrResponse},
		{"HTTP 403", "forbidden", 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKoji(t)
			f.hubHook = func(w http.ResponseWriter, c hubCall) bool {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
				return true
			}
			s, _ := newSource(t, f.config())
			cs, err := s.List(context.Background())
			if err == nil {
				t.Fatalf("accepted: %v", hrefs(cs))
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
			if n := len(f.hubCalls()); n != 1 {
				t.Errorf("called %d times: a malformed answer is not retried", n)
			}
		})
	}
	// The control: the good row is accepted.
	f := newFakeKoji(t)
	f.hubHook = func(w http.ResponseWriter, c hubCall) bool { io.WriteString(w, rpm(good)); return true }
	s, _ := newSource(t, f.config())
	cs, err := s.List(context.Background())
	if err != nil || len(cs) != 1 || cs[0].Href != "Packages/a/a-1-1.noarch.rpm" || cs[0].Epoch != "0" {
		t.Fatalf("control: %v %+v", err, cs)
	}
}

func TestHubRetries(t *testing.T) {
	f := newFakeKoji(t)
	n := 0
	f.hubHook = func(w http.ResponseWriter, c hubCall) bool {
		n++
		switch n {
		case 1:
			http.Error(w, "proxy error", http.StatusBadGateway)
		case 2:
			hijackWrite(t, w, []byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<?xml version='1.0'?>\n<methodResponse>"))
		default:
			return false
		}
		return true
	}
	s, _ := newSource(t, f.config())
	cs, err := s.List(context.Background())
	if err != nil || len(cs) == 0 {
		t.Fatalf("after a 502 and a cut connection: %v", err)
	}

	f2 := newFakeKoji(t)
	f2.hubHook = func(w http.ResponseWriter, c hubCall) bool {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return true
	}
	cfg := f2.config()
	cfg.Retries = 2
	s2, _ := newSource(t, cfg)
	_, err = s2.Fingerprint(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("err = %v", err)
	}
	if n := len(f2.hubCalls()); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}

	// A hub that stalls after the headers is given up on after Timeout.
	f3 := newFakeKoji(t)
	release := make(chan struct{})
	defer close(release)
	f3.hubHook = func(w http.ResponseWriter, c hubCall) bool {
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, "<?xml version='1.0'?>\n<methodResponse>")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		return true
	}
	cfg = f3.config()
	cfg.Timeout = 100 * time.Millisecond
	cfg.Retries = -1
	s3, _ := newSource(t, cfg)
	start := time.Now()
	_, err = s3.Fingerprint(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no progress for 100ms") {
		t.Errorf("stalled hub: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stall detected after %v", d)
	}
}

func TestFetchResume(t *testing.T) {
	f := newFakeKoji(t)
	s, _ := newSource(t, f.config())
	cs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := byName(t, cs, "rpmirror-demo-libgreet", "x86_64")
	want := f.rpm(c.Name, c.Arch).unsigned
	half := len(want) / 2

	// The first response dies half way; the retry asks for the rest.
	cut := true
	f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
		if !cut {
			return false
		}
		cut = false
		hijackWrite(t, w, append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(want))), want[:half]...))
		return true
	}
	got, err := fetchAll(t, s, &c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("resumed download differs (%d bytes, want %d)", len(got), len(want))
	}
	gets := f.fileGets()
	if len(gets) != 2 || gets[0].rng != "" || gets[1].rng != fmt.Sprintf("bytes=%d-", half) {
		t.Errorf("requests = %+v", gets)
	}

	// Fetch from an offset, from a server that honours Range and from
	// one that ignores it.
	for _, ignore := range []bool{false, true} {
		f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
			if ignore {
				r.Header.Del("Range")
			}
			return false
		}
		var buf bytes.Buffer
		if err := s.Fetch(context.Background(), &c, 100, &buf); err != nil {
			t.Fatalf("ignore Range %v: %v", ignore, err)
		}
		if !bytes.Equal(buf.Bytes(), want[100:]) {
			t.Errorf("ignore Range %v: got %d bytes, want %d", ignore, buf.Len(), len(want)-100)
		}
	}
	// At the end already: nothing to do, no request.
	n := len(f.fileGets())
	var buf bytes.Buffer
	if err := s.Fetch(context.Background(), &c, c.Size, &buf); err != nil || buf.Len() != 0 || len(f.fileGets()) != n {
		t.Errorf("fetch at offset Size: %v, %d bytes, %d requests", err, buf.Len(), len(f.fileGets())-n)
	}
	if err := s.Fetch(context.Background(), &c, c.Size+1, &buf); !errors.Is(err, source.ErrVerify) {
		t.Errorf("fetch past Size: %v", err)
	}

	// A server that stalls mid-body: the stall is noticed, the download
	// resumes.
	cfg := f.config()
	cfg.Timeout = 200 * time.Millisecond
	s2, _ := newSource(t, cfg)
	stalled := true
	f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
		if !stalled {
			return false
		}
		stalled = false
		w.Header().Set("Content-Length", fmt.Sprint(len(want)))
		w.Write(want[:half])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	}
	got, err = fetchAll(t, s2, &c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after a stall: %v (%d bytes)", err, len(got))
	}
}

func TestFetchVerify(t *testing.T) {
	f := newFakeKoji(t)
	s, _ := newSource(t, f.config())
	cs, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := byName(t, cs, "rpmirror-demo-hello", "noarch")
	want := f.rpm(c.Name, c.Arch).unsigned

	short := c
	short.Size = int64(len(want) - 1)
	if _, err := fetchAll(t, s, &short); !errors.Is(err, source.ErrVerify) {
		t.Errorf("Content-Length longer than Size: %v", err)
	}

	// No Content-Length (chunked), more bytes than Koji says.
	f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
		w.Write(want)
		w.(http.Flusher).Flush()
		w.Write([]byte("trailing junk"))
		return true
	}
	if _, err := fetchAll(t, s, &c); !errors.Is(err, source.ErrVerify) || !strings.Contains(err.Error(), "longer") {
		t.Errorf("body longer than Size: %v", err)
	}

	// A body that always ends early fails with ErrVerify once retries
	// are used up.
	f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
		w.Write(want[:10])
		w.(http.Flusher).Flush() // chunked: no Content-Length to check first
		return true
	}
	if _, err := fetchAll(t, s, &c); !errors.Is(err, source.ErrVerify) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short body: %v", err)
	}

	// Compressed bytes are not the file's.
	f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(want)
		return true
	}
	if _, err := fetchAll(t, s, &c); !errors.Is(err, source.ErrVerify) {
		t.Errorf("Content-Encoding gzip: %v", err)
	}

	// Server errors are retried, client errors are not.
	for _, tt := range []struct {
		status int
		tries  int
	}{{http.StatusForbidden, 1}, {http.StatusInternalServerError, 5}} {
		n := len(f.fileGets())
		f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "no", tt.status)
			return true
		}
		if _, err := fetchAll(t, s, &c); err == nil || !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
			t.Errorf("HTTP %d: %v", tt.status, err)
		}
		if got := len(f.fileGets()) - n; got != tt.tries {
			t.Errorf("HTTP %d: %d requests, want %d", tt.status, got, tt.tries)
		}
	}
	f.fileHook = nil

	// A candidate from elsewhere is refused without a request.
	n := len(f.fileGets())
	foreign := c
	foreign.Origin = "http://example.invalid/x.rpm"
	if _, err := fetchAll(t, s, &foreign); err == nil || len(f.fileGets()) != n {
		t.Errorf("foreign origin: %v", err)
	}

	// A writer error stops the download and is not retried.
	boom := errors.New("disk full")
	err = s.Fetch(context.Background(), &c, 0, failWriter{boom})
	if !errors.Is(err, boom) || errors.Is(err, source.ErrVerify) || len(f.fileGets()) != n+1 {
		t.Errorf("writer error: %v", err)
	}

	// Cancelling stops retries.
	ctx, cancel := context.WithCancel(context.Background())
	f.fileHook = func(w http.ResponseWriter, r *http.Request) bool {
		cancel()
		http.Error(w, "no", http.StatusServiceUnavailable)
		return true
	}
	if err := s.Fetch(ctx, &c, 0, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestLayout(t *testing.T) {
	f := newFakeKoji(t)
	for layout, want := range map[string]string{
		"{arch}/{nvra}.rpm": "x86_64/rpmirror-demo-libgreet-devel-1.2.0-1.x86_64.rpm",
		"pool/{build}/{name}-{version}-{release}.{arch}.rpm": "pool/rpmirror-demo-libgreet/rpmirror-demo-libgreet-devel-1.2.0-1.x86_64.rpm",
	} {
		cfg := f.config()
		cfg.Layout = layout
		s, _ := newSource(t, cfg)
		cs, err := s.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c := byName(t, cs, "rpmirror-demo-libgreet-devel", "x86_64"); c.Href != want {
			t.Errorf("layout %q: %s, want %s", layout, c.Href, want)
		}
	}
	// A layout that maps two packages to one path is refused at List.
	row := func(id int64, name, version string) map[string]any {
		return map[string]any{"id": id, "name": name, "version": version, "release": "1", "arch": "noarch",
			"epoch": nil, "build_id": int64(1), "size": int64(10), "buildtime": int64(1)}
	}
	answer, err := xmlrpc.EncodeResponse([]any{
		[]any{row(1, "a1", "2"), row(2, "a", "12")},
		[]any{map[string]any{"build_id": int64(1), "name": "a", "version": "1", "release": "1", "volume_name": "DEFAULT"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.hubHook = func(w http.ResponseWriter, c hubCall) bool { w.Write(answer); return true }
	cfg := f.config()
	cfg.Layout = "{name}{version}-{release}.{arch}.rpm"
	s, _ := newSource(t, cfg)
	if cs, err := s.List(context.Background()); err == nil || !strings.Contains(err.Error(), "same path a12-1.noarch.rpm") {
		t.Errorf("colliding layout: %v %q", err, hrefs(cs))
	}
	cfg.Layout = DefaultLayout
	s, _ = newSource(t, cfg)
	if cs, err := s.List(context.Background()); err != nil || len(cs) != 2 {
		t.Errorf("default layout: %v %q", err, hrefs(cs))
	}
}

func TestNewErrors(t *testing.T) {
	good := DefaultConfig()
	good.Hub, good.TopURL, good.Tag = "https://cbs.centos.org/kojihub", "https://cbs.centos.org/kojifiles", "t"
	if _, err := New(good, nil); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"no tag":              func(c *Config) { c.Tag = "" },
		"no hub":              func(c *Config) { c.Hub = "" },
		"ftp topurl":          func(c *Config) { c.TopURL = "ftp://x/y" },
		"credentials":         func(c *Config) { c.Hub = "https://user:pw@cbs.centos.org/kojihub" },
		"query":               func(c *Config) { c.TopURL = "https://x/?a=b" },
		"short sigkey":        func(c *Config) { c.SigKey = "abc" },
		"non-hex sigkey":      func(c *Config) { c.SigKey = "zzzzzzzz" },
		"bad arch":            func(c *Config) { c.Arches = []string{"x86_64/../x"} },
		"unknown placeholder": func(c *Config) { c.Layout = "{nevra}.rpm" },
		"unclosed":            func(c *Config) { c.Layout = "{nvra.rpm" },
		"unmatched":           func(c *Config) { c.Layout = "{nvra}}.rpm" },
		"ambiguous":           func(c *Config) { c.Layout = "Packages/{name}.rpm" },
	} {
		cfg := good
		mod(&cfg)
		if _, err := New(cfg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := good
	cfg.SigKey = "0x199E2F91FD431D51"
	s, err := New(cfg, nil)
	if err != nil || s.cfg.SigKey != "fd431d51" {
		t.Errorf("long key ID: %v %q", err, s.cfg.SigKey)
	}
	cfg.Arches = []string{"src"}
	if s, err := New(cfg, nil); err != nil || !reflect.DeepEqual(s.arches, []string{"src"}) {
		t.Errorf("src only: arches %v (noarch must not be added)", s.arches)
	}
}
