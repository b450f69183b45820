package createrepo

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/rpmirror/rpmirror/repodata"
)

// tmpPrefix names every temporary file and directory a run creates, so
// that the next run (holding the lock) can remove what a crash left.
const tmpPrefix = ".rpmirror-tmp-"

// LockName is the lock file a run holds in the output directory.
const LockName = ".rpmirror.lock"

// ErrLocked: another run holds the output directory.
var ErrLocked = errors.New("createrepo: output directory is in use")

type outputLock struct{ f *os.File }

// lockOutput takes an exclusive flock on OutputDir/.rpmirror.lock. A
// flock dies with its process, so a crashed run never blocks the next.
// createrepo_c's own marker, a .repodata directory, is respected too.
func lockOutput(dir string) (*outputLock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, ".repodata")); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%w: %s exists: createrepo_c is working on this directory, or crashed in it (remove it if no createrepo_c runs)",
			ErrLocked, filepath.Join(dir, ".repodata"))
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			h := strings.TrimSpace(string(holder))
			if h == "" {
				h = "unknown process"
			}
			return nil, fmt.Errorf("%w: another rpmirror run holds %s (%s)", ErrLocked, path, h)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	return &outputLock{f: f}, nil
}

func (l *outputLock) release() {
	unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
}

// output manages the output directory's repodata/: where new files are
// staged, and the switch to them.
//
// With checksum-named files (the default), new files go straight into
// repodata/ under names no existing file has (or, when a name exists, the
// content is identical), repomd.xml is replaced by rename last, and only
// then are the files that only the old repomd.xml named removed: a reader
// always finds a repomd.xml and every file it names.
//
// With simple names, new files would overwrite those the old repomd.xml
// names, so the whole new repodata/ is built in a staging directory and
// swapped in with one atomic renameat2(RENAME_EXCHANGE). Readers who
// fetched the old repomd.xml may still see new files under old names:
// that is inherent to simple names, which is why they are not the
// default.
type output struct {
	o        *Options
	log      logrus.FieldLogger
	dir      string // OutputDir/repodata
	staging  string
	simple   bool
	old      *repodata.Repomd
	oldBytes []byte
}

func newOutput(o *Options, log logrus.FieldLogger) (*output, error) {
	out := &output{o: o, log: log, dir: filepath.Join(o.OutputDir, "repodata"), simple: !o.UniqueMDFilenames}
	if err := os.MkdirAll(out.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create repodata directory: %w", err)
	}
	out.removeStale()
	if b, err := os.ReadFile(filepath.Join(out.dir, "repomd.xml")); err == nil {
		md, err := repodata.ParseRepomd(bytes.NewReader(b))
		if err != nil {
			log.WithError(err).Warn("existing repodata/repomd.xml is unreadable; it will be replaced")
		} else {
			out.old, out.oldBytes = md, b
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read existing repomd.xml: %w", err)
	}
	out.staging = out.dir
	if out.simple {
		d, err := os.MkdirTemp(o.OutputDir, ".repodata"+tmpPrefix)
		if err != nil {
			return nil, fmt.Errorf("create staging directory: %w", err)
		}
		out.staging = d
	}
	return out, nil
}

// removeStale deletes what crashed runs left. We hold the lock, so no
// live run owns these.
func (out *output) removeStale() {
	if m, _ := filepath.Glob(filepath.Join(out.dir, tmpPrefix+"*")); len(m) > 0 {
		for _, f := range m {
			os.Remove(f)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out.o.OutputDir, ".repodata"+tmpPrefix+"*")); len(m) > 0 {
		for _, d := range m {
			os.RemoveAll(d)
		}
	}
}

func (out *output) cleanupStaging() {
	if out.simple {
		os.RemoveAll(out.staging)
	}
	out.removeStale()
}

// baseTypes are the records a run regenerates; every other record of the
// old repomd.xml is additional metadata (comps, updateinfo, modules).
var baseTypes = map[string]bool{
	"primary": true, "filelists": true, "other": true,
	"primary_db": true, "filelists_db": true, "other_db": true,
	"primary_zck": true, "filelists_zck": true, "other_zck": true,
}

// commit names the new files, writes repomd.xml and switches to it.
func (out *output) commit(recs []recordResult, res *Result) error {
	o := out.o
	revision := o.Revision
	if revision == "" {
		revision = strconv.FormatInt(o.Now().Unix(), 10)
	}
	var revTime int64
	if o.SetTimestampToRevision {
		revTime, _ = strconv.ParseInt(o.Revision, 10, 64)
	}
	md := &repodata.Repomd{Revision: revision, Tags: out.tags()}

	for _, rec := range recs {
		name := rec.kind.String() + ".xml" + o.Compression.Suffix()
		if !out.simple {
			name = rec.checksum + "-" + name
		}
		href := "repodata/" + name
		final := filepath.Join(out.staging, name)
		var ts int64
		if prev := out.oldRecord(rec.kind.String()); prev != nil && prev.Href == href &&
			prev.Checksum.Type == o.ChecksumType && prev.Checksum.Value == rec.checksum && out.exists(href) {
			// Same bytes as already published: keep the file (and its
			// timestamp) so that an unchanged run changes nothing.
			ts = prev.Timestamp
			if out.simple {
				if err := os.Rename(rec.tmpPath, final); err != nil {
					return err
				}
				t := time.Unix(ts, 0)
				os.Chtimes(final, t, t)
			} else {
				os.Remove(rec.tmpPath)
			}
		} else {
			if err := os.Rename(rec.tmpPath, final); err != nil {
				return fmt.Errorf("rename %s: %w", final, err)
			}
			fi, err := os.Stat(final)
			if err != nil {
				return err
			}
			ts = fi.ModTime().Unix()
		}
		if o.SetTimestampToRevision {
			t := time.Unix(revTime, 0)
			if err := os.Chtimes(final, t, t); err != nil {
				return err
			}
			ts = revTime
		}
		md.Records = append(md.Records, repodata.Record{
			Type:         rec.kind.String(),
			Checksum:     repodata.Checksum{Type: o.ChecksumType, Value: rec.checksum},
			OpenChecksum: repodata.Checksum{Type: o.ChecksumType, Value: rec.openChecksum},
			Href:         href,
			Timestamp:    ts,
			Size:         rec.size,
			OpenSize:     rec.openSize,
		})
	}
	for _, a := range o.Additional {
		rec, err := out.addAdditional(a, revTime)
		if err != nil {
			return err
		}
		md.Records = append(md.Records, rec)
	}
	if err := out.carryOver(md); err != nil {
		return err
	}
	repodata.SortRecords(md.Records)

	if out.old != nil && o.Revision == "" && sameContent(out.old, md) {
		md.Revision = out.old.Revision
	}
	var buf bytes.Buffer
	if err := repodata.WriteRepomd(&buf, md); err != nil {
		return err
	}
	res.Repomd = md
	if out.oldBytes != nil && bytes.Equal(buf.Bytes(), out.oldBytes) {
		res.Unchanged = true
		return nil
	}
	if err := out.switchTo(buf.Bytes()); err != nil {
		return err
	}
	out.removeSuperseded(md)
	return nil
}

func (out *output) tags() repodata.Tags {
	var t repodata.Tags
	for _, d := range out.o.DistroTags {
		t.Distro = append(t.Distro, repodata.Distro{CPEID: d.CPEID, Name: d.Name})
	}
	t.Content = append(t.Content, out.o.ContentTags...)
	t.Repo = append(t.Repo, out.o.RepoTags...)
	return t
}

func (out *output) oldRecord(typ string) *repodata.Record {
	if out.old == nil {
		return nil
	}
	return out.old.Record(typ)
}

// exists reports whether an href of the old repodata names a file that is
// really there.
func (out *output) exists(href string) bool {
	p, ok := out.localPath(href)
	if !ok {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// localPath maps an href to a file directly inside repodata/; anything
// else (another directory, "..") is not ours to touch.
func (out *output) localPath(href string) (string, bool) {
	name, ok := strings.CutPrefix(href, "repodata/")
	if !ok || name == "" || strings.ContainsAny(name, "/\\") || name == "." || name == ".." {
		return "", false
	}
	return filepath.Join(out.dir, name), true
}

// carryOver keeps the old repomd.xml's additional records whose files
// exist, as createrepo_c --keep-all-metadata does.
func (out *output) carryOver(md *repodata.Repomd) error {
	if !out.o.KeepAllMetadata || out.old == nil {
		return nil
	}
	have := map[string]bool{}
	for _, r := range md.Records {
		have[r.Type] = true
	}
	for _, rec := range out.old.Records {
		if baseTypes[rec.Type] || have[rec.Type] || !out.exists(rec.Href) {
			continue
		}
		if out.simple {
			src, _ := out.localPath(rec.Href)
			dst := filepath.Join(out.staging, filepath.Base(src))
			if err := os.Link(src, dst); err != nil {
				if err := copyFile(src, dst); err != nil {
					return fmt.Errorf("carry over %s: %w", rec.Href, err)
				}
			}
		}
		md.Records = append(md.Records, rec)
	}
	return nil
}

// sameContent reports whether two repomd.xml describe the same files and
// tags, whatever their revision.
func sameContent(a, b *repodata.Repomd) bool {
	if len(a.Records) != len(b.Records) || !tagsEqual(a.Tags, b.Tags) {
		return false
	}
	for i := range a.Records {
		if a.Records[i] != b.Records[i] {
			return false
		}
	}
	return true
}

func tagsEqual(a, b repodata.Tags) bool {
	eq := func(x, y []string) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	if len(a.Distro) != len(b.Distro) {
		return false
	}
	for i := range a.Distro {
		if a.Distro[i] != b.Distro[i] {
			return false
		}
	}
	return eq(a.Content, b.Content) && eq(a.Repo, b.Repo)
}

// switchTo makes the new repomd.xml visible, atomically.
func (out *output) switchTo(repomd []byte) error {
	if !out.simple {
		if err := syncDir(out.dir); err != nil {
			return err
		}
		return writeFileAtomic(filepath.Join(out.dir, "repomd.xml"), repomd)
	}
	if err := writeFileAtomic(filepath.Join(out.staging, "repomd.xml"), repomd); err != nil {
		return err
	}
	err := unix.Renameat2(unix.AT_FDCWD, out.staging, unix.AT_FDCWD, out.dir, unix.RENAME_EXCHANGE)
	if err == nil {
		return syncDir(out.o.OutputDir) // staging now holds the old files and is removed later
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("switch repodata: %w", err)
	}
	// No RENAME_EXCHANGE on this file system: move the files one by one,
	// repomd.xml last.
	out.log.Debug("file system cannot exchange directories; moving files one by one")
	entries, err := os.ReadDir(out.staging)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == "repomd.xml" {
			continue
		}
		if err := os.Rename(filepath.Join(out.staging, e.Name()), filepath.Join(out.dir, e.Name())); err != nil {
			return err
		}
	}
	if err := syncDir(out.dir); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(out.staging, "repomd.xml"), filepath.Join(out.dir, "repomd.xml")); err != nil {
		return err
	}
	return syncDir(out.dir)
}

// removeSuperseded deletes the files only the old repomd.xml named, after
// the switch. A signature of the old repomd.xml no longer matches and is
// removed too: a stale repomd.xml.asc fails every repo_gpgcheck client.
func (out *output) removeSuperseded(md *repodata.Repomd) {
	if out.simple || out.old == nil {
		return
	}
	keep := map[string]bool{}
	for _, r := range md.Records {
		keep[r.Href] = true
	}
	for _, r := range out.old.Records {
		if keep[r.Href] {
			continue
		}
		if p, ok := out.localPath(r.Href); ok {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				out.log.WithError(err).WithField("file", p).Warn("cannot remove superseded metadata file")
			}
		}
	}
	asc := filepath.Join(out.dir, "repomd.xml.asc")
	if _, err := os.Stat(asc); err == nil {
		out.log.WithField("file", asc).Warn("removing the signature of the previous repomd.xml; sign the new one")
		os.Remove(asc)
	}
}

// writeFileAtomic writes data to a temporary file next to path, syncs it
// and renames it over path, then syncs the directory.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tmpPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
