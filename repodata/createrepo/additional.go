package createrepo

import (
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
)

// checksumPrefix matches the checksum a unique-named metadata file
// starts with.
var checksumPrefix = regexp.MustCompile(`^[0-9a-f]{40,128}-`)

// addAdditional copies each additional file into the staging directory
// under its final name and returns its record. The file is read once:
// its checksum, its open checksum and size (when compressed) and the copy
// come from the same pass.
func (out *output) addAdditional(a AdditionalFile, revTime int64) (repodata.Record, error) {
	o := out.o
	src, err := os.Open(a.Path)
	if err != nil {
		return repodata.Record{}, fmt.Errorf("additional %s: %w", a.Type, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(out.staging, tmpPrefix+"additional-*")
	if err != nil {
		return repodata.Record{}, err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()
	zh, err := repodata.NewHash(o.ChecksumType)
	if err != nil {
		return repodata.Record{}, err
	}
	ct := compress.FromFilename(a.Path)
	var oh hash.Hash
	var openSize int64 = -1
	w := io.MultiWriter(tmp, zh)
	var pw *io.PipeWriter
	done := make(chan error, 1)
	if ct != compress.None {
		// The open checksum is taken from the decompressed stream while
		// the file is copied.
		oh, _ = repodata.NewHash(o.ChecksumType)
		var pr *io.PipeReader
		pr, pw = io.Pipe()
		w = io.MultiWriter(tmp, zh, pw)
		go func() {
			zr, err := compress.NewReader(pr, ct, compress.ReaderOptions{MaxSize: a.MaxOpenSize})
			if err == nil {
				openSize, err = io.Copy(oh, zr)
				zr.Close()
			}
			pr.CloseWithError(err)
			done <- err
		}()
	}
	size, err := io.Copy(w, src)
	if pw != nil {
		pw.CloseWithError(err)
		if derr := <-done; err == nil && derr != nil {
			err = fmt.Errorf("decompress: %w", derr)
		}
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if err != nil {
		return repodata.Record{}, fmt.Errorf("additional %s %s: %w", a.Type, a.Path, err)
	}
	sum := hex.EncodeToString(zh.Sum(nil))
	name := checksumPrefix.ReplaceAllString(filepath.Base(a.Path), "")
	if o.UniqueMDFilenames {
		name = sum + "-" + name
	}
	final := filepath.Join(out.staging, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		return repodata.Record{}, err
	}
	ts := time.Now().Unix()
	if o.SetTimestampToRevision {
		t := time.Unix(revTime, 0)
		os.Chtimes(final, t, t)
		ts = revTime
	} else if prev := out.oldRecord(a.Type); prev != nil && prev.Checksum.Value == sum && prev.Href == "repodata/"+name {
		ts = prev.Timestamp // unchanged: keep repomd.xml byte-identical
		t := time.Unix(ts, 0)
		os.Chtimes(final, t, t)
	} else if fi, err := os.Stat(final); err == nil {
		ts = fi.ModTime().Unix()
	}
	rec := repodata.Record{
		Type:      a.Type,
		Checksum:  repodata.Checksum{Type: o.ChecksumType, Value: sum},
		Href:      "repodata/" + name,
		Timestamp: ts,
		Size:      size,
		OpenSize:  openSize,
	}
	if oh != nil {
		rec.OpenChecksum = repodata.Checksum{Type: o.ChecksumType, Value: hex.EncodeToString(oh.Sum(nil))}
	}
	return rec, nil
}
