package repo

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// TestCorpusAzureLinux lists a real upstream repository (zstd metadata)
// served over HTTP, fetches a package, and fetches one that its primary
// lists but the mirror lacks.
func TestCorpusAzureLinux(t *testing.T) {
	corpus := testenv.RequireCorpus(t)
	dir := filepath.Join(corpus, "azurelinux-repo")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no %s", dir)
	}
	var missing []string
	f, err := os.Open(filepath.Join(corpus, "azurelinux-repo.missing"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if href, ok := strings.CutPrefix(sc.Text(), "MISSING "); ok {
			missing = append(missing, href)
		}
	}
	f.Close()

	s := newServer(t, dir)
	r := baseRepo(t, s.URL+"/")
	cands, err := r.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 113 {
		t.Errorf("%d candidates, want 113", len(cands))
	}
	byHref := map[string]int{}
	for i, c := range cands {
		byHref[c.Href] = i
	}
	for _, href := range missing {
		if _, ok := byHref[href]; !ok {
			t.Errorf("%s not listed", href)
		}
	}

	// A present package, fetched and verified.
	var fetched bool
	for i := range cands {
		c := &cands[i]
		if _, err := os.Stat(filepath.Join(dir, c.Href)); err != nil {
			continue
		}
		b, err := fetchVerify(t.Context(), r, c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, readFile(t, filepath.Join(dir, c.Href))) {
			t.Fatal("wrong bytes")
		}
		fetched = true
		break
	}
	if !fetched {
		t.Fatal("no package present")
	}

	// A package the primary lists but the mirror lacks.
	if len(missing) == 0 {
		t.Fatal("azurelinux-repo.missing lists nothing")
	}
	c := &cands[byHref[missing[0]]]
	err = r.Fetch(t.Context(), c, 0, &counter{})
	wantErr(t, err, ErrNotFound, missing[0], "404")
	t.Log(err)
}
