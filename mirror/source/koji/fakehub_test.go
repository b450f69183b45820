package koji

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/mirror/source/koji/internal/xmlrpc"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// The fake Koji: a hub answering getLastEvent and listTaggedRPMS as
// kojihub.readTaggedRPMS does (field names and order, nil epochs, one
// row per signature with rpmsigs=True, arch as a string or a list,
// latest), and a topurl file tree laid out as koji.PathInfo does.

const (
	testTag   = "hyperscale9s-packages-main-release"
	otherKey  = "deadbeef"
	hubPath   = "/kojihub"
	filesPath = "/kojifiles"
)

type fakeRPM struct {
	id           int64
	spec         rpmtest.Spec // name, version, release, arch, epoch
	buildID      int64
	sigkeys      []any // values of the sigkey column; nil slice: no rpmsigs row at all
	metadataOnly bool
	size         int64 // overrides len(unsigned) when set
	noSigned     bool  // the signed copy was not written back

	unsigned, signed []byte
}

type fakeBuild struct {
	id                     int64
	name, version, release string
	epoch                  any
	volume                 string
	old                    bool // not the latest build of its package
}

type fakeKoji struct {
	t      *testing.T
	srv    *httptest.Server
	key    string // TestKey's Koji key ID
	rpms   []*fakeRPM
	builds []*fakeBuild

	mu       sync.Mutex
	event    int64
	files    map[string][]byte // path under filesPath
	calls    []hubCall
	gets     []fileGet
	hubHook  func(w http.ResponseWriter, c hubCall) bool       // true: handled
	fileHook func(w http.ResponseWriter, r *http.Request) bool // true: handled
}

type hubCall struct {
	method string
	params []any
}

type fileGet struct {
	path, rng string
}

var (
	fixtureOnce sync.Once
	fixtureErr  error
	fixtureRPMs map[string][2][]byte // spec.NEVRA() → unsigned, signed
	fixtureKey  string
)

// testSpecs are the demo packages plus an i686 library, a source package
// and an older hello build.
func testSpecs() map[string]rpmtest.Spec {
	m := map[string]rpmtest.Spec{}
	for _, s := range rpmtest.Demo() {
		m[s.Name] = s
	}
	lib := m["rpmirror-demo-libgreet"]
	lib.Arch = "i686"
	lib.Files = nil
	lib.Provides = nil
	m["libgreet.i686"] = lib
	src := m["rpmirror-demo-hello"]
	src.Source = true
	src.Files = []rpmtest.File{{Path: "hello.spec", Content: []byte("Name: rpmirror-demo-hello\n")}}
	src.Requires = nil
	src.Recommends = nil
	m["hello.src"] = src
	old := m["rpmirror-demo-hello"]
	old.Version = "0.9"
	m["hello-0.9"] = old
	return m
}

func fixtures(t testing.TB) (map[string][2][]byte, string) {
	fixtureOnce.Do(func() {
		id, err := rpmtest.TestKey().KeyID()
		if err != nil {
			fixtureErr = err
			return
		}
		fixtureKey = fmt.Sprintf("%08x", uint32(id))
		fixtureRPMs = map[string][2][]byte{}
		for k, s := range testSpecs() {
			signed, err := rpmtest.Build(s)
			if err != nil {
				fixtureErr = fmt.Errorf("%s: %w", k, err)
				return
			}
			s.Signer = nil
			unsigned, err := rpmtest.Build(s)
			if err != nil {
				fixtureErr = fmt.Errorf("%s: %w", k, err)
				return
			}
			fixtureRPMs[k] = [2][]byte{unsigned, signed}
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureRPMs, fixtureKey
}

func newFakeKoji(t *testing.T) *fakeKoji {
	t.Helper()
	bins, key := fixtures(t)
	specs := testSpecs()
	f := &fakeKoji{t: t, key: key, event: 3412345, files: map[string][]byte{}}
	f.builds = []*fakeBuild{
		{id: 11, name: "rpmirror-demo-hello", version: "1.0", release: "1", volume: "DEFAULT"},
		{id: 12, name: "rpmirror-demo-libgreet", version: "1.2.0", release: "1", volume: "DEFAULT"},
		{id: 13, name: "rpmirror-demo-clock", version: "0.9", release: "3", epoch: int64(2), volume: "archive"},
		{id: 14, name: "rpmirror-demo-config", version: "1.0", release: "1", volume: "DEFAULT"},
		{id: 15, name: "rpmirror-demo-docs", version: "1.0", release: "1", volume: "DEFAULT"},
		{id: 16, name: "rpmirror-demo-suite", version: "1.0", release: "1", volume: "DEFAULT"},
		{id: 17, name: "rpmirror-demo-extras", version: "1.0", release: "1", volume: "DEFAULT"},
		{id: 10, name: "rpmirror-demo-hello", version: "0.9", release: "1", volume: "DEFAULT", old: true},
	}
	add := func(id int64, k string, build int64, sigkeys []any) *fakeRPM {
		r := &fakeRPM{id: id, spec: specs[k], buildID: build, sigkeys: sigkeys, unsigned: bins[k][0], signed: bins[k][1]}
		f.rpms = append(f.rpms, r)
		return r
	}
	add(101, "rpmirror-demo-hello", 11, []any{key, ""})
	add(102, "hello.src", 11, []any{key})
	add(103, "rpmirror-demo-libgreet", 12, []any{otherKey, key})
	add(104, "rpmirror-demo-libgreet-devel", 12, []any{key})
	add(105, "libgreet.i686", 12, []any{key})
	add(106, "rpmirror-demo-clock", 13, []any{key})
	meta := add(107, "rpmirror-demo-clock", 13, []any{key})
	meta.spec.Name = "rpmirror-demo-clock-meta"
	meta.metadataOnly = true
	add(108, "rpmirror-demo-config", 14, []any{""})
	add(109, "rpmirror-demo-docs", 15, []any{otherKey})
	add(110, "rpmirror-demo-suite", 16, []any{key}).noSigned = true
	add(111, "rpmirror-demo-extras", 17, nil)
	add(100, "hello-0.9", 10, []any{key})
	for _, r := range f.rpms {
		if r.metadataOnly {
			continue
		}
		b := f.build(r.buildID)
		f.files[f.path(r, b, "")] = r.unsigned
		if !r.noSigned {
			for _, k := range r.sigkeys {
				if k == key {
					f.files[f.path(r, b, key)] = r.signed
				}
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(hubPath, f.serveHub)
	mux.HandleFunc(filesPath+"/", f.serveFile)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeKoji) build(id int64) *fakeBuild {
	for _, b := range f.builds {
		if b.id == id {
			return b
		}
	}
	f.t.Fatalf("no build %d", id)
	return nil
}

func (f *fakeKoji) rpm(name, arch string) *fakeRPM {
	for _, r := range f.rpms {
		if r.spec.Name == name && rpmArch(r) == arch && !f.build(r.buildID).old {
			return r
		}
	}
	f.t.Fatalf("no rpm %s.%s", name, arch)
	return nil
}

func rpmArch(r *fakeRPM) string {
	switch {
	case r.spec.Source:
		return "src"
	case r.spec.Arch == "":
		return "noarch"
	}
	return r.spec.Arch
}

// path is koji.PathInfo's: [vol/<volume>/]packages/<build>/<v>/<r>/[data/signed/<key>/]<arch>/<nvra>.rpm
func (f *fakeKoji) path(r *fakeRPM, b *fakeBuild, key string) string {
	p := ""
	if b.volume != "DEFAULT" {
		p = "vol/" + b.volume + "/"
	}
	p += fmt.Sprintf("packages/%s/%s/%s/", b.name, b.version, b.release)
	if key != "" {
		p += "data/signed/" + key + "/"
	}
	arch := rpmArch(r)
	return p + fmt.Sprintf("%s/%s-%s-%s.%s.rpm", arch, r.spec.Name, r.spec.Version, r.spec.Release, arch)
}

func (f *fakeKoji) config() Config {
	cfg := DefaultConfig()
	cfg.Hub = f.srv.URL + hubPath
	cfg.TopURL = f.srv.URL + filesPath
	cfg.Tag = testTag
	cfg.RetryWait = time.Millisecond
	cfg.Timeout = 5 * time.Second
	return cfg
}

func (f *fakeKoji) hubCalls() []hubCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hubCall(nil), f.calls...)
}

func (f *fakeKoji) fileGets() []fileGet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fileGet(nil), f.gets...)
}

func (f *fakeKoji) serveHub(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	method, params, err := xmlrpc.DecodeCall(r.Body)
	if err != nil {
		f.t.Errorf("hub got a bad call: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := hubCall{method: method, params: params}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	hook := f.hubHook
	event := f.event
	f.mu.Unlock()
	if hook != nil && hook(w, c) {
		return
	}
	var v any
	switch method {
	case "getLastEvent":
		v = map[string]any{"id": event, "ts": 1717171717.123456}
	case "listTaggedRPMS":
		var fault *xmlrpc.Fault
		v, fault = f.listTaggedRPMS(params)
		if fault != nil {
			writeFault(w, fault)
			return
		}
	default:
		writeFault(w, &xmlrpc.Fault{Code: 1000, String: "Invalid method: " + method})
		return
	}
	b, err := xmlrpc.EncodeResponse(v)
	if err != nil {
		f.t.Errorf("encoding the hub's answer: %v", err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(b)
}

func writeFault(w http.ResponseWriter, fault *xmlrpc.Fault) {
	b, _ := xmlrpc.EncodeFault(fault)
	w.Header().Set("Content-Type", "text/xml")
	w.Write(b) // Koji answers faults with HTTP 200
}

func (f *fakeKoji) listTaggedRPMS(params []any) (any, *xmlrpc.Fault) {
	if len(params) < 1 {
		return nil, &xmlrpc.Fault{Code: 1000, String: "listTaggedRPMS() missing 1 required positional argument: 'tag'"}
	}
	opts := map[string]any{}
	if len(params) == 2 {
		m, ok := params[1].(map[string]any)
		if !ok || m["__starstar"] != true {
			return nil, &xmlrpc.Fault{Code: 1000, String: "positional options are not supported by the fake hub"}
		}
		opts = m
	}
	if params[0] != testTag {
		return nil, &xmlrpc.Fault{Code: 1000, String: fmt.Sprintf("No such tagInfo: '%v'", params[0])}
	}
	var arches map[string]bool
	switch a := opts["arch"].(type) {
	case nil:
	case string:
		arches = map[string]bool{a: true}
	case []any:
		arches = map[string]bool{}
		for _, e := range a {
			arches[e.(string)] = true
		}
	default:
		return nil, &xmlrpc.Fault{Code: 1000, String: fmt.Sprintf("Invalid type for arch option: %T", a)}
	}
	latest := opts["latest"] == true
	rpmsigs := opts["rpmsigs"] == true

	var builds []any
	included := map[int64]bool{}
	for _, b := range f.builds {
		if latest && b.old {
			continue
		}
		included[b.id] = true
		builds = append(builds, map[string]any{
			"tag_id": int64(2001), "tag_name": testTag, "id": b.id, "build_id": b.id,
			"version": b.version, "release": b.release, "epoch": b.epoch, "state": int64(1),
			"completion_time": "2024-05-29 10:11:12.345678+00:00", "promotion_time": nil,
			"start_time": "2024-05-29 10:01:02.123456+00:00", "task_id": 4000000 + b.id, "draft": false,
			"owner_id": int64(17), "owner_name": "sig-builder", "promoter_id": nil, "promoter_name": nil,
			"creation_event_id": 3000000 + b.id, "creation_time": "2024-05-29 10:11:12.345678+00:00",
			"volume_id": int64(0), "volume_name": b.volume, "package_id": 500 + b.id,
			"package_name": b.name, "name": b.name, "nvr": b.name + "-" + b.version + "-" + b.release,
			"create_event": 3100000 + b.id, "extra": nil,
		})
	}
	var rpms []any
	for _, r := range f.rpms {
		arch := rpmArch(r)
		if !included[r.buildID] || (arches != nil && !arches[arch]) {
			continue
		}
		var epoch any
		if r.spec.Epoch != nil {
			epoch = int64(*r.spec.Epoch)
		}
		size := r.size
		if size == 0 {
			size = int64(len(r.unsigned))
		}
		row := func() map[string]any {
			return map[string]any{
				"name": r.spec.Name, "version": r.spec.Version, "release": r.spec.Release, "arch": arch,
				"id": r.id, "epoch": epoch, "draft": false, "payloadhash": fmt.Sprintf("%032x", r.id*7919),
				"size": size, "buildtime": r.spec.BuildTime.Unix(), "buildroot_id": 9000 + r.buildID,
				"build_id": r.buildID, "metadata_only": r.metadataOnly, "extra": nil,
			}
		}
		if !rpmsigs {
			rpms = append(rpms, row())
			continue
		}
		if r.sigkeys == nil { // LEFT OUTER JOIN rpmsigs: one row, NULL sigkey
			m := row()
			m["sigkey"] = nil
			rpms = append(rpms, m)
		}
		for _, k := range r.sigkeys {
			m := row()
			m["sigkey"] = k
			rpms = append(rpms, m)
		}
	}
	if rpms == nil {
		rpms = []any{}
	}
	if builds == nil {
		builds = []any{}
	}
	return []any{rpms, builds}, nil
}

func (f *fakeKoji) serveFile(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets = append(f.gets, fileGet{path: r.URL.Path, rng: r.Header.Get("Range")})
	hook := f.fileHook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	p := strings.TrimPrefix(r.URL.Path, filesPath+"/")
	f.mu.Lock()
	b, ok := f.files[p]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-rpm")
	http.ServeContent(w, r, p, time.Unix(1717000000, 0), bytes.NewReader(b))
}

// hijackWrite sends raw bytes as the whole response and drops the
// connection, as a server or proxy that dies mid-body does.
func hijackWrite(t *testing.T, w http.ResponseWriter, raw []byte) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	buf.Write(raw)
	buf.Flush()
	conn.Close()
}

func mustRead(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
