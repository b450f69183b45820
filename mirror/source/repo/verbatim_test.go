package repo

import (
	"bytes"
	"net/http"
	"path/filepath"
	"testing"
)

// TestUpstream: what verbatim mirroring gets is repomd.xml and
// repomd.xml.asc byte for byte, with every record fetchable. Without
// Config.Signature, Fingerprint asks for repomd.xml only, and Upstream
// fetches the signature, then repomd.xml again to see that the pair
// belongs together.
func TestUpstream(t *testing.T) {
	dir := demoRepo(t, "gz")
	repomd := readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))
	asc := readFile(t, filepath.Join(dir, "repodata", "repomd.xml.asc"))

	for _, tc := range []struct {
		name      string
		signature bool
		asc       http.HandlerFunc // nil serves the file
		changed   bool             // repomd.xml replaced after Fingerprint
		wantAsc   []byte
		wantErr   string // "" for success
		// requests for repomd.xml and repomd.xml.asc by Upstream
		repomdReqs, ascReqs int
	}{
		{name: "signed", wantAsc: asc, repomdReqs: 1, ascReqs: 1},
		{name: "no signature (404)", asc: status(404), repomdReqs: 1, ascReqs: 1},
		{name: "no signature (410)", asc: status(410), repomdReqs: 1, ascReqs: 1},
		{name: "no signature (403, S3)", asc: status(403), repomdReqs: 1, ascReqs: 1},
		{name: "signature unreadable", asc: status(500), wantErr: "repomd.xml.asc", ascReqs: 3},
		{name: "repomd.xml replaced meanwhile", changed: true, wantErr: "replaced while its signature was fetched", repomdReqs: 1, ascReqs: 1},
		{name: "fetched at Fingerprint", signature: true, wantAsc: asc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, dir)
			if tc.asc != nil {
				s.handle(repomdPath+".asc", tc.asc)
			}
			cfg := testConfig()
			cfg.BaseURLs = []string{s.URL + "/"}
			cfg.Signature = tc.signature
			r := newRepo(t, cfg)
			if _, err := r.Fingerprint(t.Context()); err != nil {
				t.Fatal(err)
			}
			if !tc.signature && (len(s.requests(repomdPath+".asc")) != 0 || s.count() != 1) {
				t.Fatalf("Fingerprint without Signature made %d requests", s.count())
			}
			if tc.changed {
				s.serve(repomdPath, append(bytes.Clone(repomd), '\n'))
			}
			md0, asc0 := len(s.requests(repomdPath)), len(s.requests(repomdPath+".asc"))
			up, err := r.Upstream(t.Context())
			if n := len(s.requests(repomdPath)) - md0; n != tc.repomdReqs {
				t.Errorf("Upstream fetched repomd.xml %d times, want %d", n, tc.repomdReqs)
			}
			if n := len(s.requests(repomdPath+".asc")) - asc0; n != tc.ascReqs {
				t.Errorf("Upstream fetched repomd.xml.asc %d times, want %d", n, tc.ascReqs)
			}
			if tc.wantErr != "" {
				if tc.changed {
					wantErr(t, err, ErrChanged, tc.wantErr)
				} else {
					wantErr(t, err, nil, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(up.RepomdXML, repomd) {
				t.Error("repomd.xml differs from the upstream's")
			}
			if !bytes.Equal(up.RepomdAsc, tc.wantAsc) || (tc.wantAsc == nil) != (up.RepomdAsc == nil) {
				t.Errorf("repomd.xml.asc: %d bytes, want %d", len(up.RepomdAsc), len(tc.wantAsc))
			}
			if len(up.Repomd.Records) < 8 {
				t.Errorf("%d records, want primary, filelists, other, their databases, group, group_gz, updateinfo", len(up.Repomd.Records))
			}
			for i := range up.Repomd.Records {
				rec := &up.Repomd.Records[i]
				var buf bytes.Buffer
				if err := up.FetchRecord(t.Context(), rec, &buf); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), readFile(t, filepath.Join(dir, rec.Href))) {
					t.Errorf("record %s: bytes differ", rec.Type)
				}
			}
		})
	}
}

// TestUpstreamKey: repomd.xml.key comes byte for byte from the mirror
// that served repomd.xml when it has one, is absent when the mirror says
// so, and an unreadable one is an error rather than taken as absent.
func TestUpstreamKey(t *testing.T) {
	dir := demoRepo(t, "gz")
	key := []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot really a key\n-----END PGP PUBLIC KEY BLOCK-----\n")
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc // nil: served
		want    []byte
		wantErr string
	}{
		{name: "published", want: key},
		{name: "none (404)", handler: status(404)},
		{name: "none (403, S3)", handler: status(403)},
		{name: "unreadable", handler: status(500), wantErr: "repomd.xml.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, dir)
			if tc.handler != nil {
				s.handle(repomdPath+".key", tc.handler)
			} else {
				s.serve(repomdPath+".key", key)
			}
			cfg := testConfig()
			cfg.BaseURLs = []string{s.URL + "/"}
			r := newRepo(t, cfg)
			if _, err := r.Fingerprint(t.Context()); err != nil {
				t.Fatal(err)
			}
			up, err := r.Upstream(t.Context())
			if tc.wantErr != "" {
				wantErr(t, err, nil, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(up.RepomdKey, tc.want) || (tc.want == nil) != (up.RepomdKey == nil) {
				t.Errorf("repomd.xml.key: %q, want %q", up.RepomdKey, tc.want)
			}
		})
	}
}
