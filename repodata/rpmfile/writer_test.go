package rpmfile

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

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
	f.Fuzz(func(t *testing.T, data []byte, a, b uint16) {
		want, werr := Read(bytes.NewReader(data), Options{ChangelogLimit: -1})
		got, gerr := writeChunks(data, []int{int(a) + 1, int(b) + 1}, Options{ChangelogLimit: -1})
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Fatalf("error %v, Read says %v", gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, any(want)) {
			t.Fatal("package differs from Read's")
		}
	})
}
