package compress

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// toolDecompress is the command line that decompresses each type from
// stdin to stdout.
var toolDecompress = map[Type][]string{
	Gzip:  {"gzip", "-dc"},
	Zstd:  {"zstd", "-dcq"},
	Xz:    {"xz", "-dc"},
	Bzip2: {"bzip2", "-dc"},
}

// run runs argv with stdin and returns its stdout.
func run(t *testing.T, stdin []byte, argv ...string) []byte {
	t.Helper()
	requireTool(t, argv[0])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	return out
}

// TestToolsReadOurs checks that the reference tools, and zlib through
// Python, decompress what we write.
func TestToolsReadOurs(t *testing.T) {
	inputs := map[string][]byte{
		"empty": nil,
		"xml":   primaryXML(2 << 20),
	}
	readers := map[Type][][]string{
		Gzip: {
			toolDecompress[Gzip],
			// zlib, as createrepo_c, librepo and libsolv use it.
			{"python3", "-c", "import sys, zlib; d = zlib.decompressobj(wbits=31); sys.stdout.buffer.write(d.decompress(sys.stdin.buffer.read()) + d.flush()); assert d.eof and not d.unused_data"},
		},
		Zstd:  {toolDecompress[Zstd]},
		Xz:    {toolDecompress[Xz]},
		Bzip2: {toolDecompress[Bzip2]},
	}
	for _, typ := range compressedTypes {
		for name, data := range inputs {
			for _, conc := range []int{1, 4} {
				for _, argv := range readers[typ] {
					t.Run(fmt.Sprintf("%s/%s/c%d/%s", typ, name, conc, argv[0]), func(t *testing.T) {
						z := compress(t, typ, data, conc, 0)
						if got := run(t, z, argv...); !bytes.Equal(got, data) {
							t.Fatalf("%s read %d bytes; want %d", argv[0], len(got), len(data))
						}
					})
				}
			}
		}
	}
}

// TestWeReadTools checks that we read what the reference tools write,
// with the options that change the stream's structure.
func TestWeReadTools(t *testing.T) {
	data := primaryXML(1 << 20)
	tests := []struct {
		name string
		typ  Type
		argv []string
	}{
		{"gzip -1", Gzip, []string{"gzip", "-1c"}},
		{"gzip -9", Gzip, []string{"gzip", "-9c"}},
		{"gzip -n", Gzip, []string{"gzip", "-nc"}},
		{"zlib", Gzip, []string{"python3", "-c", "import sys, gzip; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 6))"}},
		{"zstd -1", Zstd, []string{"zstd", "-1c"}},
		{"zstd -10", Zstd, []string{"zstd", "-10c"}},
		{"zstd -19", Zstd, []string{"zstd", "-19c"}},
		{"zstd -T2 --no-check", Zstd, []string{"zstd", "-3c", "-T2", "--no-check"}},
		{"zstd --long=26", Zstd, []string{"zstd", "-c", "--long=26"}},
		{"xz -0", Xz, []string{"xz", "-0c"}},
		{"xz -9", Xz, []string{"xz", "-9c"}},
		{"xz --check=crc32", Xz, []string{"xz", "-c", "--check=crc32"}},
		{"xz --check=none", Xz, []string{"xz", "-c", "--check=none"}},
		{"xz --check=sha256", Xz, []string{"xz", "-c", "--check=sha256"}},
		{"xz -T2 --block-size", Xz, []string{"xz", "-c", "-T2", "--block-size=100KiB"}},
		{"xz --block-size", Xz, []string{"xz", "-c", "--block-size=300KiB"}},
		{"bzip2 -1", Bzip2, []string{"bzip2", "-1c"}},
		{"bzip2 -9", Bzip2, []string{"bzip2", "-9c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, in := range [][]byte{data, nil} {
				z := run(t, in, tt.argv...)
				got, err := decompress(z, tt.typ, ReaderOptions{})
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("input of %d bytes: read %d bytes, %v", len(in), len(got), err)
				}
			}
			// Concatenated streams, as "cat a.gz b.gz" makes.
			z := append(run(t, data[:1000], tt.argv...), run(t, data[1000:], tt.argv...)...)
			got, err := decompress(z, tt.typ, ReaderOptions{})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("concatenated: read %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestCreaterepoC reads the metadata that the installed createrepo_c writes
// with each of its compression types.
func TestCreaterepoC(t *testing.T) {
	requireTool(t, "createrepo_c")
	for _, ct := range []string{"gz", "xz", "bz2", "zstd"} {
		t.Run(ct, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command("createrepo_c", "--general-compress-type", ct, "--no-database", dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				if strings.Contains(string(out), "Unknown/Unsupported compression type") {
					// createrepo_c before 1.0 has no zstd.
					t.Skipf("this createrepo_c cannot write %s: %s", ct, out)
				}
				t.Fatalf("createrepo_c: %v: %s", err, out)
			}
			checkFilesAgainstTools(t, filepath.Join(dir, "repodata"))
		})
	}
}

// TestCorpus reads the compressed files of real repositories, if the
// shared corpus is there.
func TestCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "corpus")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no corpus of real repositories at %s", dir)
	}
	checkFilesAgainstTools(t, dir)
}

// checkFilesAgainstTools reads every compressed file under dir, by its
// suffix, and compares with what the reference tool reads.
func checkFilesAgainstTools(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		typ := FromFilename(path)
		if typ == None {
			return nil
		}
		n++
		z, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		want := run(t, z, toolDecompress[typ]...)
		got, err := decompress(z, typ, ReaderOptions{})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: read %d bytes, %v; %s reads %d bytes", path, len(got), err, toolDecompress[typ][0], len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no compressed files under %s", dir)
	}
	t.Logf("%d files under %s", n, dir)
}
