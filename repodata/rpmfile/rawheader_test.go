package rpmfile

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cavaliergopher/rpm"

	"github.com/rpmirror/rpmirror/repodata/rpmtest"
	"github.com/rpmirror/rpmirror/repodata/rpmtest/testenv"
)

// referenceFiles are well-formed RPMs: the edge-case catalogue, the demo
// set and, when present, the real packages of the shared corpus.
func referenceFiles(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, s := range append(rpmtest.Cases(), rpmtest.Demo()...) {
		b, err := rpmtest.Build(s)
		if err != nil {
			t.Fatal(err)
		}
		files[s.RelPath()] = b
	}
	if dir := testenv.CorpusDir(); dir != "" {
		for _, pattern := range []string{"createrepo_c-testdata/tests/testdata/packages/*.rpm",
			"go-rpmutils-testdata/testdata/*.rpm", "azurelinux-repo/packages/*/*.rpm"} {
			paths, _ := filepath.Glob(filepath.Join(dir, pattern))
			for _, p := range paths {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				files[p] = b
			}
		}
	}
	return files
}

// TestRawHeaderMatchesCavaliergopher decodes every tag of every
// reference file with our lazy reader and with cavaliergopher/rpm, the
// project's reference Go implementation of the format, and requires the
// same values, and the same header range.
func TestRawHeaderMatchesCavaliergopher(t *testing.T) {
	for name, b := range referenceFiles(t) {
		ref, err := rpm.Read(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Errorf("%s: cavaliergopher: %v", name, err)
			continue
		}
		r := bytes.NewReader(b)
		_, sig, hdr, err := readHeaders(r)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		start, end := ref.HeaderRange()
		if got := leadSize + sig.size; got != start || got+hdr.size != end {
			t.Errorf("%s: header range %d-%d, cavaliergopher %d-%d", name, got, got+hdr.size, start, end)
		}
		compareTags(t, name+" signature", sig, &ref.Signature)
		compareTags(t, name, hdr, &ref.Header)
	}
}

func compareTags(t *testing.T, name string, h *rawHeader, ref *rpm.Header) {
	t.Helper()
	if len(h.entries) != len(ref.Tags) {
		t.Errorf("%s: %d tags, cavaliergopher %d", name, len(h.entries), len(ref.Tags))
	}
	for id, tag := range ref.Tags {
		var got, want any
		switch tag.Type {
		case rpm.TagTypeString, rpm.TagTypeStringArray, rpm.TagTypeI18NString:
			v, err := h.strs(uint32(id), -1)
			if err != nil {
				t.Errorf("%s tag %d: %v", name, id, err)
				continue
			}
			got, want = v, tag.StringSlice()
		case rpm.TagTypeInt16, rpm.TagTypeInt32, rpm.TagTypeInt64:
			v, err := h.ints(uint32(id))
			if err != nil {
				t.Errorf("%s tag %d: %v", name, id, err)
				continue
			}
			got, want = v, tag.Int64Slice()
		default:
			continue // binary blobs: not read by us
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s tag %d: %v, cavaliergopher %v", name, id, got, want)
		}
	}
}

// FuzzRawHeader: arbitrary header bytes never panic, and whatever
// decodes stays inside the data.
func FuzzRawHeader(f *testing.F) {
	for _, b := range referenceFiles(f) {
		if len(b) > leadSize {
			f.Add(b[leadSize:min(len(b), leadSize+4096)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readRawHeader(bytes.NewReader(data), "header", true)
		if err != nil {
			return
		}
		for _, e := range h.entries {
			h.strs(e.tag, -1)
			h.ints(e.tag)
			h.num(e.tag)
			h.count(e.tag)
		}
	})
}
