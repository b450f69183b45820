package createrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmfile"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// The output must not depend on the number of workers or on scheduling.
func TestDeterministicAcrossWorkers(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Cases())
	var first map[string][]byte
	for _, workers := range []int{1, 2, 7} {
		for _, ct := range []compress.Type{compress.Gzip, compress.Zstd} {
			out := t.TempDir()
			o := fixedOptions(in, out)
			o.Workers = workers
			o.Compression = ct
			res, err := run(t, o)
			if !errors.Is(err, ErrPackagesFailed) { // the catalogue has a package createrepo_c rejects
				t.Fatalf("workers=%d: %v", workers, err)
			}
			got := readTree(t, out)
			if ct != compress.Gzip {
				continue
			}
			if first == nil {
				first = got
				if res.Packages == 0 {
					t.Fatal("no packages")
				}
				continue
			}
			if len(got) != len(first) {
				t.Fatalf("workers=%d: %d files, want %d", workers, len(got), len(first))
			}
			for name, b := range first {
				if !bytes.Equal(got[name], b) {
					t.Errorf("workers=%d: %s differs", workers, name)
				}
			}
		}
	}
}

// A second run over unchanged packages must leave repomd.xml
// byte-identical (dnf5 compares its bytes to decide it is in sync), even
// though the clock moved and no --revision was given.
func TestUnchangedRunLeavesRepomd(t *testing.T) {
	for _, unique := range []bool{true, false} {
		t.Run(fmt.Sprintf("unique=%v", unique), func(t *testing.T) {
			in := writeSpecs(t, t.TempDir(), rpmtest.Demo())
			o := DefaultOptions(in)
			o.UniqueMDFilenames = unique
			o.Now = func() time.Time { return time.Unix(1700000000, 0) }
			res := mustRun(t, o)
			if res.Unchanged {
				t.Fatal("first run reported unchanged")
			}
			before := readTree(t, in)
			st1, _ := os.Stat(filepath.Join(in, "repodata", "repomd.xml"))

			o.Now = func() time.Time { return time.Unix(1800000000, 0) }
			res = mustRun(t, o)
			if !res.Unchanged {
				t.Error("second run did not report unchanged")
			}
			after := readTree(t, in)
			if !bytes.Equal(before["repomd.xml"], after["repomd.xml"]) {
				t.Errorf("repomd.xml changed:\n%s\n---\n%s", before["repomd.xml"], after["repomd.xml"])
			}
			if len(before) != len(after) {
				t.Errorf("files: %d before, %d after", len(before), len(after))
			}
			st2, _ := os.Stat(filepath.Join(in, "repodata", "repomd.xml"))
			if !st1.ModTime().Equal(st2.ModTime()) {
				t.Error("repomd.xml was rewritten")
			}

			// A real change bumps the revision and switches files.
			demo := rpmtest.Demo()
			writeSpecs(t, filepath.Join(in, "sub"), demo[:1])
			res = mustRun(t, o)
			if res.Unchanged || res.Repomd.Revision != "1800000000" {
				t.Errorf("after a change: unchanged=%v revision=%s", res.Unchanged, res.Repomd.Revision)
			}
			checkConsistent(t, in)
		})
	}
}

// checkConsistent asserts that every file repomd.xml names exists with
// the checksum it states, and that repodata/ holds nothing stale.
func checkConsistent(t testing.TB, dir string) {
	t.Helper()
	r := loadRepo(t, dir)
	names := map[string]bool{"repomd.xml": true}
	for _, rec := range r.md.Records {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rec.Href)))
		if err != nil {
			t.Errorf("%s: %v", rec.Href, err)
			continue
		}
		h, _ := repodata.NewHash(rec.Checksum.Type)
		h.Write(b)
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != rec.Checksum.Value {
			t.Errorf("%s: checksum %s, repomd says %s", rec.Href, got, rec.Checksum.Value)
		}
		if int64(len(b)) != rec.Size {
			t.Errorf("%s: size %d, repomd says %d", rec.Href, len(b), rec.Size)
		}
		names[filepath.Base(rec.Href)] = true
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "repodata"))
	for _, e := range entries {
		if !names[e.Name()] {
			t.Errorf("stale file in repodata/: %s", e.Name())
		}
	}
}

// Bad input: each bad file is reported with its path and reason, the
// others are indexed, the package counts are right, and the run says so.
func TestBadPackages(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo())
	good, err := rpmtest.Build(rpmtest.Demo()[0])
	if err != nil {
		t.Fatal(err)
	}
	incons, err := rpmtest.InconsistentDeps()
	if err != nil {
		t.Fatal(err)
	}
	dirIdx, err := rpmtest.DirIndexOutOfRange()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]struct {
		data []byte
		want error
	}{
		"aa-truncated-header.rpm":  {rpmtest.Truncated(good, 200), rpmfile.ErrMalformed},
		"ab-truncated-payload.rpm": {rpmtest.Truncated(good, len(good)-10), rpmfile.ErrMalformed},
		"ac-not-an-rpm.rpm":        {rpmtest.NotRPM(), rpmfile.ErrNotRPM},
		"ad-empty.rpm":             {nil, rpmfile.ErrNotRPM},
		"ae-inconsistent-deps.rpm": {incons, rpmfile.ErrMalformed},
		"af-dir-index.rpm":         {dirIdx, rpmfile.ErrMalformed},
	}
	for name, b := range bad {
		if err := os.WriteFile(filepath.Join(in, name), b.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, unique := range []bool{true, false} {
		o := DefaultOptions(in)
		o.UniqueMDFilenames = unique
		res, err := run(t, o)
		if !errors.Is(err, ErrPackagesFailed) {
			t.Fatalf("err = %v, want ErrPackagesFailed", err)
		}
		if len(res.Failed) != len(bad) {
			t.Fatalf("failed: %v, want %d", res.Failed, len(bad))
		}
		for _, f := range res.Failed {
			b, ok := bad[f.Path]
			if !ok {
				t.Errorf("unexpected failure %v", f)
				continue
			}
			if !errors.Is(f.Err, b.want) {
				t.Errorf("%s: %v, want %v", f.Path, f.Err, b.want)
			}
		}
		if res.Packages != len(rpmtest.Demo()) {
			t.Errorf("packages = %d, want %d", res.Packages, len(rpmtest.Demo()))
		}
		// The readers check the root element's count against the entries.
		r := loadRepo(t, in)
		for typ, n := range r.counts {
			if n != res.Packages {
				t.Errorf("%s has %d entries, want %d", typ, n, res.Packages)
			}
		}
		checkConsistent(t, in)
	}
}

// --duplicated-nevra keep-last keeps the newest build of each NEVRA.
func TestKeepLast(t *testing.T) {
	in := t.TempDir()
	base := rpmtest.Demo()[0]
	older, newer := base, base
	older.FileName = "z-older.rpm" // sorts last but is older: build time decides
	older.BuildTime = base.BuildTime.Add(-time.Hour)
	older.Summary = "older"
	newer.FileName = "a-newer.rpm"
	newer.BuildTime = base.BuildTime.Add(time.Hour)
	newer.Summary = "newer"
	other := rpmtest.Demo()[1]
	writeSpecs(t, in, []rpmtest.Spec{older, newer, other})

	o := DefaultOptions(in)
	res := mustRun(t, o)
	if res.Packages != 3 || res.Duplicates != 1 {
		t.Errorf("keep: packages=%d duplicates=%d, want 3 and 1", res.Packages, res.Duplicates)
	}
	o.Duplicates = KeepLast
	res = mustRun(t, o)
	if res.Packages != 2 || res.Dropped != 1 {
		t.Errorf("keep-last: packages=%d dropped=%d, want 2 and 1", res.Packages, res.Dropped)
	}
	r := loadRepo(t, in)
	for _, p := range r.primary {
		if p.Name == base.Name && p.Summary != "newer" {
			t.Errorf("kept %s (%s), want the newer build", p.LocationHref, p.Summary)
		}
	}
	for typ, n := range r.counts {
		if n != 2 {
			t.Errorf("%s: %d entries", typ, n)
		}
	}
}

// A second run on the same output directory refuses with a clear message,
// and so does a run where createrepo_c's .repodata is present.
func TestLocked(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo()[:1])
	l, err := lockOutput(in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(t, DefaultOptions(in))
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("err = %v, want ErrLocked naming the holder", err)
	}
	l.release()
	mustRun(t, DefaultOptions(in))

	if err := os.Mkdir(filepath.Join(in, ".repodata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, DefaultOptions(in)); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "createrepo_c") {
		t.Errorf("err = %v, want ErrLocked mentioning createrepo_c", err)
	}
}

// While runs replace the metadata, a reader that loops the way dnf does
// always finds repomd.xml and, unless repomd.xml changed under it, every
// file it names with the right checksum.
func TestReaderNeverSeesInconsistentRepo(t *testing.T) {
	for _, unique := range []bool{true, false} {
		t.Run(fmt.Sprintf("unique=%v", unique), func(t *testing.T) {
			in := t.TempDir()
			demo := rpmtest.Demo()
			writeSpecs(t, in, demo[:2])
			o := DefaultOptions(in)
			o.UniqueMDFilenames = unique
			mustRun(t, o)

			var stop atomic.Bool
			var reads, retries atomic.Int64
			var wg sync.WaitGroup
			var mu sync.Mutex
			var problems []string
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					if msg := readOnce(in); msg == "retry" {
						retries.Add(1)
					} else if msg != "" {
						mu.Lock()
						problems = append(problems, msg)
						mu.Unlock()
					}
					reads.Add(1)
				}
			}()
			for i := 0; i < 15; i++ {
				// add, then remove, packages so every run changes the metadata
				if i%2 == 0 {
					writeSpecs(t, filepath.Join(in, fmt.Sprintf("r%d", i)), demo[2:3])
				} else {
					os.RemoveAll(filepath.Join(in, fmt.Sprintf("r%d", i-1)))
				}
				mustRun(t, o)
			}
			stop.Store(true)
			wg.Wait()
			for _, p := range problems {
				t.Error(p)
			}
			t.Logf("%d reads, %d saw repomd.xml change mid-read", reads.Load(), retries.Load())
			checkConsistent(t, in)
		})
	}
}

// readOnce reads repomd.xml and every file it names. It returns "" when
// all is well, "retry" when a file was missing or different but
// repomd.xml had changed meanwhile (the reader raced a switch, as a dnf
// client would see a new repomd.xml on its next refresh), and a
// description of the problem otherwise.
func readOnce(dir string) string {
	path := filepath.Join(dir, "repodata", "repomd.xml")
	b, err := os.ReadFile(path)
	if err != nil {
		return "repomd.xml unreadable: " + err.Error()
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err != nil {
		return "repomd.xml malformed: " + err.Error()
	}
	for _, rec := range md.Records {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rec.Href)))
		ok := err == nil
		if ok {
			h, _ := repodata.NewHash(rec.Checksum.Type)
			h.Write(data)
			ok = fmt.Sprintf("%x", h.Sum(nil)) == rec.Checksum.Value
		}
		if !ok {
			if now, _ := os.ReadFile(path); !bytes.Equal(now, b) {
				return "retry"
			}
			return fmt.Sprintf("%s missing or wrong while repomd.xml still names it (%v)", rec.Href, err)
		}
	}
	return ""
}

// Additional metadata (comps etc.) of the existing repomd.xml is kept.
func TestKeepsAdditionalMetadata(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo())
	mustRun(t, DefaultOptions(in))
	comps := []byte(`<?xml version="1.0" encoding="UTF-8"?><comps></comps>`)
	name := "0123-comps.xml"
	if err := os.WriteFile(filepath.Join(in, "repodata", name), comps, 0o644); err != nil {
		t.Fatal(err)
	}
	r := loadRepo(t, in)
	h, _ := repodata.NewHash("sha256")
	h.Write(comps)
	r.md.Records = append(r.md.Records, repodata.Record{Type: "group", Href: "repodata/" + name,
		Checksum: repodata.Checksum{Type: "sha256", Value: fmt.Sprintf("%x", h.Sum(nil))}, Size: int64(len(comps)), Timestamp: 1, OpenSize: -1})
	var buf bytes.Buffer
	if err := repodata.WriteRepomd(&buf, r.md); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "repodata", "repomd.xml"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, unique := range []bool{true, false} {
		o := DefaultOptions(in)
		o.UniqueMDFilenames = unique
		o.Revision = fmt.Sprint(unique) // force a change
		res := mustRun(t, o)
		if res.Repomd.Record("group") == nil {
			t.Fatalf("unique=%v: group record dropped", unique)
		}
		checkConsistent(t, in)
	}
	o := DefaultOptions(in)
	o.KeepAllMetadata = false
	res := mustRun(t, o)
	if res.Repomd.Record("group") != nil {
		t.Error("group record kept with KeepAllMetadata off")
	}
}

func TestPkgListAndExcludes(t *testing.T) {
	in := t.TempDir()
	demo := rpmtest.Demo()
	writeSpecs(t, in, demo[:2])
	writeSpecs(t, filepath.Join(in, "sub", "deeper"), demo[2:4])
	names := func(res *Result) []string {
		r := loadRepo(t, in)
		return r.order
	}
	o := DefaultOptions(in)
	all := names(mustRun(t, o))
	if len(all) != 4 {
		t.Fatalf("walk found %v", all)
	}
	o.Excludes = []string{"sub/*"}
	if got := names(mustRun(t, o)); len(got) != 2 {
		t.Errorf("excludes sub/*: %v", got)
	}
	o.Excludes = []string{"deeper"} // a directory name matched on its own
	if got := names(mustRun(t, o)); len(got) != 2 {
		t.Errorf("excludes deeper: %v", got)
	}
	o.Excludes = nil
	o.PkgList = []string{all[3], "./" + all[0]}
	if got := names(mustRun(t, o)); len(got) != 2 {
		t.Errorf("pkglist: %v", got)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tt := range []struct {
		p, s string
		want bool
	}{
		{"*", "anything/at/all", true},
		{"*.rpm", "a/b.rpm", true},
		{"*-devel-*", "foo-devel-1.0-1.x86_64.rpm", true},
		{"foo?.rpm", "foo1.rpm", true},
		{"foo?.rpm", "foo.rpm", false},
		{"?", "é", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"", "", true},
		{"", "x", false},
		{"**", "", true},
		{"sub/*", "sub/x/y.rpm", true},
		{"sub/*", "other/sub/y.rpm", false},
	} {
		if got := globMatch(tt.p, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

// A run cancelled before it starts, or half-way through the packages
// (workers with lanes in flight, packages started early), returns
// context.Canceled promptly, leaves nothing behind and no goroutine
// running.
func TestCancel(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), append(rpmtest.Cases(), rpmtest.Demo()...))
	for _, at := range []int{0, 1, 5} {
		t.Run(fmt.Sprint("after ", at), func(t *testing.T) {
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if at == 0 {
				cancel()
			}
			o := DefaultOptions(in)
			o.Workers = 2
			o.largePackage = 1 // some packages start early, too
			_, err := Run(ctx, o, testLogger(t), func(done, total int) {
				if done == at {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if _, err := os.Stat(filepath.Join(in, "repodata", "repomd.xml")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a cancelled first run left repomd.xml: %v", err)
			}
			entries, _ := os.ReadDir(filepath.Join(in, "repodata"))
			if len(entries) != 0 {
				t.Errorf("a cancelled run left files: %v", entries)
			}
			// Record writers and workers end; give them a moment.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				t.Errorf("%d goroutines left running", n-before)
			}
		})
	}
}

// Additional files (comps, updateinfo) are added under checksum names,
// with open checksums for compressed ones, replace records of the same
// type, and leave repomd.xml unchanged on an unchanged second run.
func TestAdditionalFiles(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo()[:2])
	extra := t.TempDir()
	comps := filepath.Join(extra, "0123456789012345678901234567890123456789-comps.xml")
	os.WriteFile(comps, []byte(`<?xml version="1.0"?><comps></comps>`), 0o644)
	var gz bytes.Buffer
	zw, _ := compress.NewWriter(&gz, compress.Gzip, compress.WriterOptions{})
	zw.Write([]byte(`<?xml version="1.0"?><updates></updates>`))
	zw.Close()
	updateinfo := filepath.Join(extra, "updateinfo.xml.gz")
	os.WriteFile(updateinfo, gz.Bytes(), 0o644)

	o := DefaultOptions(in)
	o.Additional = []AdditionalFile{{Type: "group", Path: comps}, {Type: "updateinfo", Path: updateinfo}}
	res := mustRun(t, o)
	g, u := res.Repomd.Record("group"), res.Repomd.Record("updateinfo")
	if g == nil || u == nil {
		t.Fatalf("records: %+v", res.Repomd.Records)
	}
	if !strings.HasSuffix(g.Href, "-comps.xml") || strings.Contains(g.Href, "0123456789012345678901234567890123456789") {
		t.Errorf("group href %s: want the new checksum in place of the old one", g.Href)
	}
	if g.OpenSize != -1 || g.OpenChecksum.Value != "" {
		t.Errorf("uncompressed group has open data: %+v", g)
	}
	if u.OpenChecksum.Value == "" || u.OpenSize != int64(len(`<?xml version="1.0"?><updates></updates>`)) {
		t.Errorf("updateinfo open data: %+v", u)
	}
	checkConsistent(t, in)
	before, _ := os.ReadFile(filepath.Join(in, "repodata", "repomd.xml"))
	o.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if res := mustRun(t, o); !res.Unchanged {
		t.Error("second run with the same files changed repomd.xml")
	}
	after, _ := os.ReadFile(filepath.Join(in, "repodata", "repomd.xml"))
	if !bytes.Equal(before, after) {
		t.Error("repomd.xml changed")
	}
}

// A compressed additional file that decompresses beyond MaxOpenSize (a
// bomb, or a lie in the upstream's open-size) fails the run and leaves
// the previous metadata in place.
func TestAdditionalFileTooLarge(t *testing.T) {
	in := writeSpecs(t, t.TempDir(), rpmtest.Demo()[:2])
	mustRun(t, DefaultOptions(in))
	before, _ := os.ReadFile(filepath.Join(in, "repodata", "repomd.xml"))
	var gz bytes.Buffer
	zw, _ := compress.NewWriter(&gz, compress.Gzip, compress.WriterOptions{})
	zw.Write(bytes.Repeat([]byte(" "), 4<<20))
	zw.Close()
	bomb := filepath.Join(t.TempDir(), "updateinfo.xml.gz")
	os.WriteFile(bomb, gz.Bytes(), 0o644)

	o := DefaultOptions(in)
	o.Additional = []AdditionalFile{{Type: "updateinfo", Path: bomb, MaxOpenSize: 1 << 20}}
	_, err := Run(context.Background(), o, testLogger(t), nil)
	if !errors.Is(err, compress.ErrTooLarge) || !strings.Contains(err.Error(), "updateinfo") {
		t.Fatalf("err = %v, want ErrTooLarge naming updateinfo", err)
	}
	after, _ := os.ReadFile(filepath.Join(in, "repodata", "repomd.xml"))
	if !bytes.Equal(before, after) {
		t.Error("repomd.xml changed by a failed run")
	}
	checkConsistent(t, in)

	o.Additional[0].MaxOpenSize = 4 << 20 // exactly its size: fine
	mustRun(t, o)
}
