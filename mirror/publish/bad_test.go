package publish

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/repodata/rpmtest"
)

// rewritePrimary changes the primary.xml of the repository in dir with
// edit and rewrites repomd.xml to name the result, as a broken or hostile
// generator would have written it.
func rewritePrimary(t *testing.T, dir string, edit func(string) string) {
	t.Helper()
	mdPath := filepath.Join(dir, "repodata", "repomd.xml")
	md, err := repodata.ParseRepomd(bytes.NewReader(readFile(t, mdPath)))
	if err != nil {
		t.Fatal(err)
	}
	rec := md.Record("primary")
	old := filepath.Join(dir, filepath.FromSlash(rec.Href))
	f, err := os.Open(old)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := compress.NewReader(f, compress.FromFilename(rec.Href), compress.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	xml, err := io.ReadAll(zr)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, err := compress.NewWriter(&buf, compress.Gzip, compress.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(zw, edit(string(xml)))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256Hex(buf.Bytes())
	rec.Href = "repodata/" + sum + "-primary.xml.gz"
	rec.Checksum = repodata.Checksum{Type: "sha256", Value: sum}
	rec.Size = int64(buf.Len())
	os.Remove(old)
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(rec.Href)), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := repodata.WriteRepomd(&out, md); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mdPath, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A source that cannot be published is an error naming the file, and the
// target keeps its publication: repomd.xml and the state as they were.
func TestBadSource(t *testing.T) {
	good := func(t *testing.T) string {
		dir := t.TempDir()
		writeRepo(t, dir, []rpmtest.Spec{pkg("alpha", "1", "1", 4000), pkg("bravo", "1", "1", 4000)})
		return dir
	}
	// The second revision, which each case then breaks.
	next := func(t *testing.T, dir string) {
		writeRepo(t, dir, []rpmtest.Spec{pkg("alpha", "1", "1", 4000), pkg("bravo", "2", "1", 4000), pkg("charlie", "1", "1", 4000)})
	}
	bravo2 := filepath.Join("Packages", "b", "bravo-2-1.noarch.rpm")
	for _, tc := range []struct {
		name  string
		brk   func(t *testing.T, dir string)
		want  []string
		is    error
		early bool // detected before anything is uploaded
	}{
		{"missing package", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, bravo2))
		}, []string{"bravo-2-1.noarch.rpm", "no such file"}, ErrSource, true},
		{"package bytes differ from pkgid", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, bravo2))
			b[len(b)-10] ^= 0xff // same size, one byte of the payload changed
			os.WriteFile(filepath.Join(dir, bravo2), b, 0o644)
		}, []string{"bravo-2-1.noarch.rpm", "sha256"}, ErrChecksumMismatch, false},
		{"package size differs", func(t *testing.T, dir string) {
			b := readFile(t, filepath.Join(dir, bravo2))
			os.WriteFile(filepath.Join(dir, bravo2), b[:len(b)-1], 0o644)
		}, []string{"bravo-2-1.noarch.rpm", "bytes"}, ErrChecksumMismatch, true},
		{"metadata file differs from repomd.xml", func(t *testing.T, dir string) {
			md, _ := repodata.ParseRepomd(bytes.NewReader(readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))))
			name := filepath.Join(dir, filepath.FromSlash(md.Record("other").Href))
			b := readFile(t, name)
			b[len(b)/2] ^= 0xff
			os.WriteFile(name, b, 0o644)
		}, []string{"-other.xml.gz", "sha256"}, ErrChecksumMismatch, false},
		{"primary differs from repomd.xml", func(t *testing.T, dir string) {
			md, _ := repodata.ParseRepomd(bytes.NewReader(readFile(t, filepath.Join(dir, "repodata", "repomd.xml"))))
			name := filepath.Join(dir, filepath.FromSlash(md.Record("primary").Href))
			b := readFile(t, name)
			os.WriteFile(name, append(b[:len(b)-8:len(b)-8], 0, 0, 0, 0, 0, 0, 0, 0), 0o644) // the gzip trailer
		}, []string{"-primary.xml.gz"}, ErrSource, true},
		{"href outside the repository", func(t *testing.T, dir string) {
			rewritePrimary(t, dir, func(x string) string {
				return strings.Replace(x, `href="Packages/b/bravo-2-1.noarch.rpm"`, `href="../bravo-2-1.noarch.rpm"`, 1)
			})
		}, []string{"outside the repository"}, ErrSource, true},
		{"href into the reserved prefix", func(t *testing.T, dir string) {
			os.MkdirAll(filepath.Join(dir, ".rpmirror"), 0o755)
			os.Rename(filepath.Join(dir, bravo2), filepath.Join(dir, ".rpmirror", "state.json"))
			rewritePrimary(t, dir, func(x string) string {
				return strings.Replace(x, `href="Packages/b/bravo-2-1.noarch.rpm"`, `href=".rpmirror/state.json"`, 1)
			})
		}, []string{".rpmirror/state.json", "reserves"}, ErrSource, true},
		{"no repomd.xml", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "repodata", "repomd.xml"))
		}, []string{"repodata/repomd.xml", "no such file"}, ErrSource, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, be := range []string{"fs", "minio"} {
				t.Run(be, func(t *testing.T) {
					var tg testTarget
					if be == "fs" {
						tg = fsTarget(t)
					} else {
						tg = s3Target(t, minioServer(t))
					}
					ctx := context.Background()
					src := good(t)
					mustPublish(t, src, tg, DefaultOptions())
					repomd, _, _ := tg.get(ctx, "repodata/repomd.xml")
					state, _, _ := tg.get(ctx, StateKey)
					before := tg.keys(t)

					next(t, src)
					tc.brk(t, src)
					start := time.Now()
					_, err := Publish(ctx, src, tg.b, DefaultOptions(), testLogger(t))
					if err == nil {
						t.Fatal("publish succeeded")
					}
					t.Logf("error: %v", err)
					if !errors.Is(err, tc.is) {
						t.Errorf("error %v does not wrap %v", err, tc.is)
					}
					for _, w := range tc.want {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error %q does not contain %q", err, w)
						}
					}
					// A checksum mismatch is not worth a retry.
					if d := time.Since(start); d > 5*time.Second {
						t.Errorf("failing took %s", d)
					}
					if got, _, _ := tg.get(ctx, "repodata/repomd.xml"); !bytes.Equal(got, repomd) {
						t.Error("repomd.xml switched")
					}
					if got, _, _ := tg.get(ctx, StateKey); !bytes.Equal(got, state) {
						t.Error("state changed")
					}
					after := tg.keys(t)
					if tc.early && len(after) != len(before) {
						t.Errorf("objects written: %v -> %v", sortedKeys(before), sortedKeys(after))
					}
					if _, ok := after["Packages/b/bravo-2-1.noarch.rpm"]; ok && strings.HasPrefix(tc.name, "package") {
						t.Error("the mismatched package was stored")
					}
					if _, ok := after[LockKey]; ok {
						t.Error("lock left behind")
					}
				})
			}
		})
	}
}
