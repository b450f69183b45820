package koji

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/mirror/source/koji/internal/xmlrpc"
	"github.com/rpmirror/rpmirror/repodata"
)

// FuzzCandidates feeds arbitrary hub answers to List's interpretation of
// listTaggedRPMS: it must never panic, and every candidate it returns
// must have a publishable href and an origin under topurl.
func FuzzCandidates(f *testing.F) {
	golden, err := os.ReadFile("internal/xmlrpc/testdata/listTaggedRPMS.xml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden, false)
	f.Add(golden, true)
	f.Add([]byte("<methodResponse><params><param><value><array><data><value><array><data/></array></value><value><array><data/></array></value></data></array></value></param></params></methodResponse>"), false)
	var sources [2]*Source
	for i, key := range []string{"", "8483c65d"} {
		cfg := DefaultConfig()
		cfg.Hub, cfg.TopURL, cfg.Tag, cfg.SigKey = "https://koji.invalid/kojihub", "https://koji.invalid/kojifiles", "t", key
		if sources[i], err = New(cfg, nil); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, signed bool) {
		v, err := xmlrpc.DecodeResponse(bytes.NewReader(data))
		if err != nil {
			return
		}
		s := sources[0]
		if signed {
			s = sources[1]
		}
		cs, _, err := s.candidates(v)
		if err != nil {
			return
		}
		for _, c := range cs {
			if err := repodata.CheckHref(c.Href); err != nil {
				t.Fatalf("candidate with href %q: %v", c.Href, err)
			}
			if !strings.HasPrefix(c.Origin, "https://koji.invalid/kojifiles/") || strings.Contains(c.Origin[len("https://koji.invalid/kojifiles/"):], "/../") {
				t.Fatalf("origin %q", c.Origin)
			}
		}
	})
}
