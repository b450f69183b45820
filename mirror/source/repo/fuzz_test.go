package repo

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseMetalink(f *testing.F) {
	f.Add([]byte(mmMetalink))
	f.Add([]byte(metalinkDoc(`<file name="repomd.xml">` + zeroHash + goodURL + `</file>`)))
	f.Add(metalinkFor([][]byte{curRepomd, oldRepomd}, map[string]int{"http://a.example/x/": 3, "https://b.example/": 100}))
	f.Add([]byte(`<metalink xmlns="urn:ietf:params:xml:ns:metalink"/>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetalink(bytes.NewReader(b))
		if err != nil {
			if m != nil {
				t.Fatal("result with an error")
			}
			return
		}
		if len(m.Versions) == 0 || len(m.Mirrors) == 0 {
			t.Fatalf("accepted without versions or mirrors: %+v", m)
		}
		verifiable := false
		for _, v := range m.Versions {
			verifiable = verifiable || v.verifiable()
			for _, h := range v.Hashes {
				if len(h.Value) != metalinkHexLen[h.Type] || strings.ToLower(h.Value) != h.Value {
					t.Fatalf("bad hash %+v", h)
				}
			}
		}
		if !verifiable {
			t.Fatal("accepted without a SHA-2 hash")
		}
		for i, mm := range m.Mirrors {
			checkBase(t, mm.Base)
			if i > 0 && mm.Preference > m.Mirrors[i-1].Preference {
				t.Fatal("mirrors not sorted by preference")
			}
			if mm.Preference < 0 || mm.Preference > 100 {
				t.Fatalf("preference %d", mm.Preference)
			}
		}
		// Verify never panics and never accepts what no version lists.
		if v, err := m.Verify(b); err == nil && (v < 0 || v >= len(m.Versions)) {
			t.Fatalf("Verify returned version %d", v)
		}
	})
}

func FuzzParseMirrorList(f *testing.F) {
	f.Add([]byte("# comment\nhttps://a.example/r/\n\nhttp://b.example:81/x\nftp://c/\n"), false)
	f.Add([]byte("https://e.example/$releasever/$basearch/\n"), true)
	f.Add([]byte("<html>\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, expand bool) {
		var fn func(string) string
		if expand {
			fn = func(s string) string { return strings.ReplaceAll(s, "$basearch", "x86_64") }
		}
		ml, err := ParseMirrorList(bytes.NewReader(b), fn)
		if err != nil {
			return
		}
		if len(ml.Bases) == 0 {
			t.Fatal("accepted without a mirror")
		}
		seen := map[string]bool{}
		for _, s := range ml.Bases {
			checkBase(t, s)
			if seen[s] {
				t.Fatalf("duplicate %q", s)
			}
			seen[s] = true
		}
	})
}

// checkBase checks what the fetching code relies on: an absolute http(s)
// URL with a host and no fragment, ending in "/", that parses back to
// itself.
func checkBase(t *testing.T, s string) {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("base %q does not parse: %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || !strings.HasSuffix(u.Path, "/") {
		t.Fatalf("bad base %q", s)
	}
	if u2, reason := parseMirrorURL(s); reason != "" || u2.String() != s {
		t.Fatalf("base %q is not stable: %v %q", s, u2, reason)
	}
	if j := joinURL(u, "Packages/a.rpm"); !strings.HasPrefix(j.String(), strings.TrimSuffix(s, "?"+u.RawQuery)) {
		t.Fatalf("join %q escapes the base: %s", s, j)
	}
}
