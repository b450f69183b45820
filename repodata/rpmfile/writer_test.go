package rpmfile

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// writerInputs are the files Writer and Read are compared on: every
// catalogue and demo package whole and cut at offsets around the
// header boundaries, the broken ones, and the corpus's RPMs.
func writerInputs(t testing.TB) map[string][]byte {
	in := map[string][]byte{}
	for _, s := range append(rpmtest.Cases(), rpmtest.Demo()...) {
		b, err := rpmtest.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		name := s.RelPath()
		in[name] = b
		p, err := Read(bytes.NewReader(b), Options{})
		cuts := []int{0, 1, 3, 4, 50, leadSize, leadSize + 8, leadSize + introSize, len(b) / 2, len(b) - 1}
		if err == nil {
			hs, he := int(p.HeaderStart), int(p.HeaderEnd)
			cuts = append(cuts, hs-1, hs, hs+1, hs+introSize-1, hs+introSize, he-1, he, he+1)
		}
		for _, c := range cuts {
			if c >= 0 && c < len(b) {
				in[name+"@"+itoa(c)] = rpmtest.Truncated(b, c)
			}
		}
	}
	for name, fn := range map[string]func() ([]byte, error){"inconsistent-deps": rpmtest.InconsistentDeps, "dir-index": rpmtest.DirIndexOutOfRange} {
		if b, err := fn(); err == nil {
			in[name] = b
		}
	}
	in["not-rpm"] = rpmtest.NotRPM()
	if dir := testenv.CorpusDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*/*.rpm"))
		more, _ := filepath.Glob(filepath.Join(dir, "createrepo_c-testdata/tests/testdata/packages/*.rpm"))
		for _, fn := range append(files, more...) {
			if b, err := os.ReadFile(fn); err == nil {
				in[filepath.Base(fn)] = b
			}
		}
	}
	return in
}

func itoa(i int) string { return strconv.Itoa(i) }

// writeChunks writes data to a Writer in chunks of the given sizes
// (cycled), stopping at the first error, and returns its result.
func writeChunks(data []byte, sizes []int, opt Options) (any, error) {
	w, err := NewWriter(opt)
	if err != nil {
		return nil, err
	}
	return writeTo(w, data, sizes)
}

func writeTo(w *Writer, data []byte, sizes []int) (*repodata.Package, error) {
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		if _, err := w.Write(data[:n]); err != nil {
			break
		}
		data = data[n:]
	}
	return w.Package()
}

// The Writer returns what Read returns, value for value and error for
// error, however the file is cut into writes.
func TestWriterMatchesRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	chunkings := [][]int{{1 << 30}, {1}, {7, 13, 4096}, {16 << 10}, {96, 16, 1}}
	for i := 0; i < 3; i++ {
		chunkings = append(chunkings, []int{1 + rng.IntN(70000), 1 + rng.IntN(300), 1 + rng.IntN(5000)})
	}
	n := 0
	for name, data := range writerInputs(t) {
		for _, opt := range []Options{{}, {ChecksumType: "sha1", ChangelogLimit: -1}} {
			want, werr := Read(bytes.NewReader(data), opt)
			for _, ch := range chunkings {
				if len(data) > 2<<20 && len(ch) > 0 && ch[0] == 1 {
					continue // byte by byte through a large file: slow, and proves nothing more
				}
				got, gerr := writeChunks(data, ch, opt)
				n++
				if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
					t.Errorf("%s, chunks %v: error %v, Read says %v", name, ch, gerr, werr)
					continue
				}
				if werr == nil && !reflect.DeepEqual(got, any(want)) {
					t.Errorf("%s, chunks %v: package differs from Read's", name, ch)
				}
			}
		}
	}
	t.Logf("%d comparisons", n)
}

// A file that is no RPM is refused at its first bytes, so that its
// transfer can stop there.
func TestWriterStopsEarly(t *testing.T) {
	w, _ := NewWriter(Options{})
	if _, err := w.Write([]byte("<html>")); err == nil {
		t.Fatal("no error for an HTML page")
	}
	if _, err := w.Write([]byte("more")); err == nil {
		t.Fatal("error not sticky")
	}
}

// FuzzWriter: for any bytes and any cutting into writes, the Writer
// agrees with Read and never panics.
func FuzzWriter(f *testing.F) {
	for _, s := range rpmtest.Demo() {
		b, err := rpmtest.Build(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(4096), uint16(13))
		f.Add(rpmtest.Truncated(b, len(b)/3), uint16(100), uint16(1))
	}
	f.Add(rpmtest.NotRPM(), uint16(1), uint16(1))
	prime, err := rpmtest.Build(rpmtest.Demo()[0])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		want, werr := Read(bytes.NewReader(data), Options{ChangelogLimit: -1})
		// Two cuts where the fuzzer says, then large writes: cutting a
		// 100 KB input into 1-byte writes made a run of 15 ms.
		got, gerr := writeChunks(data, []int{int(a) + 1, int(b) + 1, 1 << 20}, Options{ChangelogLimit: -1})
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Fatalf("error %v, Read says %v", gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, any(want)) {
			t.Fatal("package differs from Read's")
		}
		// The same through a Writer reused after another package.
		w, _ := NewWriter(Options{ChangelogLimit: -1})
		writeTo(w, prime, []int{int(b) + 1, 1 << 20})
		w.Package()
		w.Reset(nil)
		rp, rerr := writeTo(w, data, []int{int(b) + 1, int(a) + 1, 1 << 20})
		if (werr == nil) != (rerr == nil) || (werr != nil && werr.Error() != rerr.Error()) {
			t.Fatalf("reused: error %v, Read says %v", rerr, werr)
		}
		if werr == nil && !samePackage(rp, want) {
			t.Fatal("reused: package differs from Read's")
		}
	})
}

// A Writer whose caller does the hashing gives what Read gives when the
// caller hashes every byte, and another checksum when it does not.
func TestWriterHashed(t *testing.T) {
	b, err := rpmtest.Build(rpmtest.Demo()[0])
	if err != nil {
		t.Fatal(err)
	}
	want, err := Read(bytes.NewReader(b), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := NewWriterHashed(Options{}, h)
	for c := b; len(c) > 0; c = c[min(1000, len(c)):] {
		h.Write(c[:min(1000, len(c))])
		if _, err := w.Write(c[:min(1000, len(c))]); err != nil {
			t.Fatal(err)
		}
	}
	got, err := w.Package()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("hashed by the caller: %v, package equal %v", err, reflect.DeepEqual(got, want))
	}
	lazy := NewWriterHashed(Options{}, sha256.New())
	lazy.Write(b)
	if p, err := lazy.Package(); err != nil || p.Checksum == want.Checksum {
		t.Errorf("a caller that hashes nothing still gets the file's checksum: %v", err)
	}
}

// A Writer reset between files gives for each what Read gives, whatever
// came before it: files in both orders (large lists before small ones
// leave capacity to reuse), self-hashed and hashed by the caller, and
// Reset after a failed file.
func TestWriterReset(t *testing.T) {
	in := writerInputs(t)
	names := make([]string, 0, len(in))
	for name := range in {
		names = append(names, name)
	}
	sort.Strings(names)
	order := append(slices.Clone(names), names...)
	slices.Reverse(order[len(names):])

	opt := Options{ChangelogLimit: 3}
	self, err := NewWriter(opt)
	if err != nil {
		t.Fatal(err)
	}
	hashed := NewWriterHashed(opt, sha256.New())
	n := 0
	for i, name := range order {
		data := in[name]
		want, werr := Read(bytes.NewReader(data), opt)
		for _, w := range []*Writer{self, hashed} {
			var h hash.Hash
			if w == hashed {
				h = sha256.New()
				h.Write(data)
			}
			w.Reset(h)
			got, gerr := writeTo(w, data, []int{1 + i%7000, 4096})
			n++
			if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
				t.Errorf("%s after %d files: error %v, Read says %v", name, i, gerr, werr)
				continue
			}
			if werr == nil && !samePackage(got, want) {
				t.Errorf("%s after %d files: package differs from Read's", name, i)
			}
		}
	}
	t.Logf("%d comparisons", n)
}

// samePackage compares packages by value, an empty list equal to none
// (a reused Writer's lists are empty, not nil).
func samePackage(a, b *repodata.Package) bool {
	return reflect.DeepEqual(nilEmpty(*a), nilEmpty(*b))
}

func nilEmpty(p repodata.Package) repodata.Package {
	for _, l := range []*[]repodata.Dependency{&p.Provides, &p.Requires, &p.Conflicts, &p.Obsoletes,
		&p.Suggests, &p.Enhances, &p.Recommends, &p.Supplements} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(p.Files) == 0 {
		p.Files = nil
	}
	if len(p.Changelogs) == 0 {
		p.Changelogs = nil
	}
	return p
}

// A Package from a Writer that was never reset does not keep the Writer
// alive (its buffer, arena and maps): the syncer keeps thousands of them
// in its catalog. Measured when it did: peak RSS of a 2,000-package sync
// 97 MB -> 170 MB.
func TestWriterPackageOutlivesWriter(t *testing.T) {
	b, err := rpmtest.Build(rpmtest.Demo()[0])
	if err != nil {
		t.Fatal(err)
	}
	collected := make(chan struct{})
	pkg := func() *repodata.Package {
		w, err := NewWriter(Options{ChangelogLimit: -1})
		if err != nil {
			t.Fatal(err)
		}
		runtime.AddCleanup(w, func(ch chan struct{}) { close(ch) }, collected)
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
		p, err := w.Package()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}()
	for i := 0; i < 50; i++ {
		runtime.GC()
		select {
		case <-collected:
			if pkg.Name == "" {
				t.Error("the package lost its name")
			}
			runtime.KeepAlive(pkg)
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("the Writer is still reachable from the Package it returned")
}

// A Package read without an arena keeps only its own strings, not the
// header they were read from (file digests, modes, owners and the rest
// that metadata never shows): what a syncer keeps per package. Measured
// on a package whose header is mostly such data; before compaction each
// kept package held more than its whole header.
func TestPackageDoesNotKeepHeader(t *testing.T) {
	spec := rpmtest.Demo()[0]
	spec.Files = nil
	for i := 0; i < 400; i++ {
		spec.Files = append(spec.Files, rpmtest.File{Path: fmt.Sprintf("/usr/share/d%d/f%d", i%7, i), Content: []byte{byte(i)}})
	}
	b, err := rpmtest.Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	kept := make([]*repodata.Package, 0, n)
	var before, after runtime.MemStats
	// Twice: pooled buffers survive one collection.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	var header uint64
	for i := 0; i < n; i++ {
		var p *repodata.Package
		if i%2 == 0 {
			p, err = Read(bytes.NewReader(b), Options{ChangelogLimit: 10})
		} else {
			w, _ := NewWriter(Options{ChangelogLimit: 10})
			w.Write(b)
			p, err = w.Package()
		}
		if err != nil {
			t.Fatal(err)
		}
		header = p.HeaderEnd - p.HeaderStart
		kept = append(kept, p)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes kept per package, header %d bytes", per, header)
	if per > int64(header)*6/10 {
		t.Errorf("each kept package holds %d bytes, its header is %d", per, header)
	}
	runtime.KeepAlive(kept)
}
