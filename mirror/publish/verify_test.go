package publish

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sha1Hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

func TestVerifyingReader(t *testing.T) {
	content := bytes.Repeat([]byte("rpmirror "), 1000)
	good := []digest{{"sha256", sha256Hex(content)}, {"sha1", sha1Hex(content)}}
	for _, tc := range []struct {
		name    string
		content []byte
		size    int64
		want    []digest
		err     error // nil: reads content whole
	}{
		{"match", content, int64(len(content)), good, nil},
		{"sha256 differs", content, int64(len(content)), []digest{{"sha256", sha256Hex([]byte("x"))}}, ErrChecksumMismatch},
		{"second digest differs", content, int64(len(content)), []digest{good[0], {"sha1", sha1Hex([]byte("x"))}}, ErrChecksumMismatch},
		{"file shorter", content[:100], int64(len(content)), good, ErrChecksumMismatch},
		{"empty, matching", nil, 0, []digest{{"sha256", sha256Hex(nil)}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failed error
			v, err := newVerifyingReader(bytes.NewReader(tc.content), "f", tc.size, tc.want)
			if err != nil {
				t.Fatal(err)
			}
			v.onMismatch = func(err error) { failed = err }
			got, err := io.ReadAll(v)
			if tc.err == nil {
				if err != nil || !bytes.Equal(got, tc.content) {
					t.Fatalf("read %d bytes, %v", len(got), err)
				}
				// A retry reads it all again.
				if _, err := v.Seek(0, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				if got, err := io.ReadAll(v); err != nil || !bytes.Equal(got, tc.content) {
					t.Fatalf("second read: %d bytes, %v", len(got), err)
				}
				return
			}
			if !errors.Is(err, tc.err) || !errors.Is(failed, tc.err) {
				t.Fatalf("err %v, onMismatch %v; want %v", err, failed, tc.err)
			}
			if int64(len(got)) >= tc.size {
				t.Errorf("delivered all %d bytes despite the mismatch", len(got))
			}
			// Sticky across a rewind.
			v.Seek(0, io.SeekStart)
			if n, err := v.Read(make([]byte, 10)); n != 0 || !errors.Is(err, tc.err) {
				t.Errorf("after rewind: %d, %v", n, err)
			}
		})
	}

	t.Run("empty, differing", func(t *testing.T) {
		if _, err := newVerifyingReader(bytes.NewReader(nil), "f", 0, []digest{{"sha256", sha256Hex([]byte("x"))}}); !errors.Is(err, ErrChecksumMismatch) {
			t.Errorf("err %v", err)
		}
	})
	t.Run("seek away", func(t *testing.T) {
		v, _ := newVerifyingReader(bytes.NewReader(content), "f", int64(len(content)), good)
		if end, err := v.Seek(0, io.SeekEnd); err != nil || end != int64(len(content)) {
			t.Fatalf("seek end: %d, %v", end, err)
		}
		if n, err := v.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Errorf("read at end: %d, %v", n, err)
		}
		if pos, err := v.Seek(0, io.SeekCurrent); err != nil || pos != int64(len(content)) {
			t.Errorf("seek current: %d, %v", pos, err)
		}
		v.Seek(10, io.SeekStart)
		if _, err := v.Read(make([]byte, 10)); err == nil || !strings.Contains(err.Error(), "cannot verify") {
			t.Errorf("read after seeking into the middle: %v", err)
		}
		v.Seek(0, io.SeekStart)
		if got, err := io.ReadAll(v); err != nil || !bytes.Equal(got, content) {
			t.Errorf("read after rewind: %d bytes, %v", len(got), err)
		}
	})
	t.Run("unknown type", func(t *testing.T) {
		if _, err := newVerifyingReader(bytes.NewReader(content), "f", 1, []digest{{"md5", "x"}}); err == nil {
			t.Error("md5 accepted")
		}
	})
}

func TestHashFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	content := []byte("some package bytes")
	os.WriteFile(name, content, 0o644)
	sum, err := hashFile(name, int64(len(content)), []digest{{"sha1", sha1Hex(content)}})
	if err != nil || sum != sha256Hex(content) {
		t.Errorf("hashFile = %s, %v", sum, err)
	}
	if _, err := hashFile(name, int64(len(content)), []digest{{"sha1", sha1Hex([]byte("x"))}}); !errors.Is(err, ErrChecksumMismatch) || !strings.Contains(err.Error(), name) {
		t.Errorf("mismatch: %v", err)
	}
	if _, err := hashFile(name, int64(len(content))+1, nil); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("short: %v", err)
	}
}
