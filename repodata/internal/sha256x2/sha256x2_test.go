package sha256x2

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// forModes runs f with the assembly (when this CPU has it) and with the
// crypto/sha256 fallback, by flipping useAsm for Digests made by New.
func forModes(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	run := func(name string, on bool) {
		t.Run(name, func(t *testing.T) {
			old := useAsm
			useAsm = on
			defer func() { useAsm = old }()
			if on != (New().fb == nil) {
				t.Fatalf("New ignores useAsm=%v", on)
			}
			f(t)
		})
	}
	if cpuSupported() {
		run("asm", true)
	} else {
		t.Log("no SHA-NI here: assembly not tested")
	}
	run("fallback", false)
}

func TestSupported(t *testing.T) {
	t.Logf("Supported() = %v", Supported())
	if Supported() != cpuSupported() {
		t.Errorf("Supported() = %v, want %v", Supported(), cpuSupported())
	}
}

var knownAnswers = []struct {
	in, out string
}{
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		"248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		"cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	{strings.Repeat("a", 1000000),
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
}

func TestKnownAnswers(t *testing.T) {
	forModes(t, func(t *testing.T) {
		for _, ka := range knownAnswers {
			if ref := sha256.Sum256([]byte(ka.in)); hex.EncodeToString(ref[:]) != ka.out {
				t.Fatalf("bad test vector for %.20q", ka.in)
			}
			d := New()
			d.Write([]byte(ka.in))
			if got := hex.EncodeToString(d.Sum(nil)); got != ka.out {
				t.Errorf("Write(%.20q...): got %s, want %s", ka.in, got, ka.out)
			}
		}
		// Every pair of vectors through one Write2, including each
		// vector with itself, so the 1,000,000-byte one runs paired.
		for _, a := range knownAnswers {
			for _, b := range knownAnswers {
				d1, d2 := New(), New()
				Write2(d1, d2, []byte(a.in), []byte(b.in))
				got1, got2 := hex.EncodeToString(d1.Sum(nil)), hex.EncodeToString(d2.Sum(nil))
				if got1 != a.out || got2 != b.out {
					t.Errorf("Write2(%.20q, %.20q): got %s, %s; want %s, %s",
						a.in, b.in, got1, got2, a.out, b.out)
				}
			}
		}
	})
}

func TestHashInterface(t *testing.T) {
	forModes(t, func(t *testing.T) {
		var h hash.Hash = New()
		if h.Size() != 32 || h.BlockSize() != 64 {
			t.Fatalf("Size, BlockSize = %d, %d", h.Size(), h.BlockSize())
		}
		if n, err := h.Write([]byte("abc")); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		ref := sha256.Sum256([]byte("abc"))
		prefix := []byte("prefix")
		got := h.Sum(prefix)
		if !bytes.Equal(got, append([]byte("prefix"), ref[:]...)) {
			t.Errorf("Sum(prefix) = %x", got)
		}
		h.Reset()
		ref = sha256.Sum256(nil)
		if got := h.Sum(nil); !bytes.Equal(got, ref[:]) {
			t.Errorf("after Reset: %x, want %x", got, ref)
		}
	})
}

func TestWrite2SameDigestPanics(t *testing.T) {
	forModes(t, func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Write2(d, d) did not panic")
			}
		}()
		d := New()
		Write2(d, d, []byte("a"), []byte("b"))
	})
}

// A Digest made with the assembly and one made without can be mixed.
func TestWrite2MixedModes(t *testing.T) {
	if !cpuSupported() {
		t.Skip("no SHA-NI")
	}
	a, b := randBytes(rand.New(rand.NewPCG(1, 2)), 5000), randBytes(rand.New(rand.NewPCG(3, 4)), 7000)
	d1 := New()
	old := useAsm
	useAsm = false
	d2 := New()
	useAsm = old
	if d1.fb != nil || d2.fb == nil {
		t.Fatal("modes not as intended")
	}
	Write2(d1, d2, a[:100], b[:3000])
	Write2(d2, d1, b[3000:], a[100:])
	checkSum(t, "d1", d1, a)
	checkSum(t, "d2", d2, b)
}

// blocks2 must agree with two blocks1 calls from arbitrary states, not
// only those reachable from the IV.
func TestBlocks2MatchesBlocks1(t *testing.T) {
	if !cpuSupported() {
		t.Skip("no SHA-NI")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		var h1, h2 [8]uint32
		for i := range h1 {
			h1[i], h2[i] = r.Uint32(), r.Uint32()
		}
		n := r.IntN(6)
		p1, p2 := randBytes(r, n*64+1), randBytes(r, n*64+1)
		w1, w2 := h1, h2
		blocks1(&w1, &p1[0], n)
		blocks1(&w2, &p2[0], n)
		blocks2(&h1, &h2, &p1[0], &p2[0], n)
		if h1 != w1 || h2 != w2 {
			t.Fatalf("n=%d: blocks2 = %x, %x; blocks1 = %x, %x", n, h1, h2, w1, w2)
		}
	}
}

func TestRandomDifferential(t *testing.T) {
	forModes(t, func(t *testing.T) {
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		const maxLen = 300 << 10
		data := randBytes(r, maxLen+64)
		pairs := 300
		if testing.Short() {
			pairs = 40
		}
		// The same two Digests throughout: Reset and reuse.
		d1, d2 := New(), New()
		for i := range pairs {
			a, b := randSlice(r, data, maxLen), randSlice(r, data, maxLen)
			d1.Reset()
			d2.Reset()
			feed(t, r, d1, d2, a, b)
			if t.Failed() {
				t.Fatalf("pair %d: lengths %d, %d", i, len(a), len(b))
			}
		}
	})
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// randSlice returns a slice of data, at any alignment, whose length
// is often at or next to a block boundary.
func randSlice(r *rand.Rand, data []byte, maxLen int) []byte {
	var n int
	switch r.IntN(5) {
	case 0:
		n = r.IntN(maxLen + 1)
	case 1:
		n = r.IntN(200)
	case 2:
		n = 64 * r.IntN(maxLen/64+1)
	case 3:
		n = max(0, 64*r.IntN(maxLen/64+1)+r.IntN(3)-1)
	case 4:
		n = 64*r.IntN(8) + r.IntN(3) - 1 + 64
	}
	off := r.IntN(len(data) - n + 1)
	return data[off : off+n]
}

// chunk picks how much of the rest to write next.
func chunk(r *rand.Rand, rest int) int {
	var n int
	switch r.IntN(6) {
	case 0:
		n = r.IntN(70)
	case 1:
		n = 64 * r.IntN(20)
	case 2:
		n = 64*r.IntN(20) + r.IntN(3) - 1
	case 3:
		n = r.IntN(rest + 1)
	case 4:
		n = r.IntN(1 << 16)
	case 5:
		n = rest
	}
	return min(max(n, 0), rest)
}

// feed writes a to d1 and b to d2 by a random mix of Write and Write2
// with random chunks, checking Sums along the way and at the end.
func feed(t *testing.T, r *rand.Rand, d1, d2 *Digest, a, b []byte) {
	t.Helper()
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch op := r.IntN(8); {
		case op == 0:
			n := chunk(r, len(a)-i)
			d1.Write(a[i : i+n])
			i += n
		case op == 1:
			n := chunk(r, len(b)-j)
			d2.Write(b[j : j+n])
			j += n
		case op == 2:
			// Sum in the middle must not disturb the stream.
			checkSum(t, "d1 mid-stream", d1, a[:i])
		default:
			n, m := chunk(r, len(a)-i), chunk(r, len(b)-j)
			if op%2 == 0 {
				Write2(d1, d2, a[i:i+n], b[j:j+m])
			} else {
				Write2(d2, d1, b[j:j+m], a[i:i+n])
			}
			i += n
			j += m
		}
	}
	checkSum(t, "d1", d1, a)
	checkSum(t, "d2", d2, b)
	// Sum twice, then write more.
	checkSum(t, "d1 again", d1, a)
	extra := []byte("some more bytes, then a block's worth: 0123456789abcdef0123456789abcdef")
	d1.Write(extra)
	want := sha256.New()
	want.Write(a)
	want.Write(extra)
	if got := d1.Sum(nil); !bytes.Equal(got, want.Sum(nil)) {
		t.Errorf("after Sum and more writes: %x, want %x", got, want.Sum(nil))
	}
}

func checkSum(t *testing.T, what string, d *Digest, data []byte) {
	t.Helper()
	want := sha256.Sum256(data)
	if got := d.Sum(nil); !bytes.Equal(got, want[:]) {
		t.Errorf("%s (%d bytes): got %x, want %x", what, len(data), got, want)
	}
}

// Write2 and Sum into a buffer with room must not allocate: the block
// functions' pointers must not escape.
func TestNoAllocs(t *testing.T) {
	forModes(t, func(t *testing.T) {
		if !useAsm {
			t.Skip("crypto/sha256's allocations are its own business")
		}
		a, b := make([]byte, 1000), make([]byte, 777)
		d1, d2 := New(), New()
		buf := make([]byte, 0, 32)
		allocs := testing.AllocsPerRun(100, func() {
			Write2(d1, d2, a, b)
			d1.Write(b)
			buf = d1.Sum(buf[:0])
			buf = d2.Sum(buf[:0])
		})
		if allocs != 0 {
			t.Errorf("%v allocations per run", allocs)
		}
	})
}

func FuzzWrite2(f *testing.F) {
	f.Add([]byte(""), []byte(""), uint16(0))
	f.Add([]byte("abc"), []byte(strings.Repeat("x", 200)), uint16(17))
	f.Add(bytes.Repeat([]byte{1}, 129), bytes.Repeat([]byte{2}, 63), uint16(0xffff))
	f.Add(bytes.Repeat([]byte{3}, 640), bytes.Repeat([]byte{4}, 641), uint16(0x4041))
	f.Fuzz(func(t *testing.T, data1, data2 []byte, split uint16) {
		// split chooses where each stream is cut: the first parts go
		// through one Write2, the second through a Write each (d2's
		// only when the high bit is set), the rest through another
		// Write2.
		s1 := int(split&0xff) % (len(data1) + 1)
		s2 := int(split>>8&0x7f) % (len(data2) + 1)
		t1 := s1 + (len(data1)-s1)/3
		t2 := s2 + (len(data2)-s2)/2
		d1, d2 := New(), New()
		Write2(d1, d2, data1[:s1], data2[:s2])
		d1.Write(data1[s1:t1])
		if split&0x8000 != 0 {
			d2.Write(data2[s2:t2])
		} else {
			t2 = s2
		}
		Write2(d1, d2, data1[t1:], data2[t2:])
		checkSum(t, "d1", d1, data1)
		checkSum(t, "d2", d2, data2)
	})
}

const benchSize = 256 << 10

func benchInputs() (a, b []byte) {
	r := rand.New(rand.NewPCG(7, 8))
	return randBytes(r, benchSize), randBytes(r, benchSize)
}

// All three report MB/s of total input on one goroutine, i.e. per core.
func BenchmarkSHA256(b *testing.B) {
	p1, p2 := benchInputs()
	sum := make([]byte, 0, 32)
	b.Run("crypto", func(b *testing.B) {
		h := sha256.New()
		b.SetBytes(benchSize)
		for b.Loop() {
			h.Reset()
			h.Write(p1)
			sum = h.Sum(sum[:0])
		}
	})
	b.Run("Write", func(b *testing.B) {
		d := New()
		b.SetBytes(benchSize)
		for b.Loop() {
			d.Reset()
			d.Write(p1)
			sum = d.Sum(sum[:0])
		}
	})
	b.Run("Write2", func(b *testing.B) {
		d1, d2 := New(), New()
		b.SetBytes(2 * benchSize)
		for b.Loop() {
			d1.Reset()
			d2.Reset()
			Write2(d1, d2, p1, p2)
			sum = d1.Sum(sum[:0])
			sum = d2.Sum(sum[:0])
		}
	})
}
