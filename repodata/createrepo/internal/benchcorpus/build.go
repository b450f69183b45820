package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"sync"
	"time"

	"github.com/google/rpmpack"
)

// Header tags that rpmpack does not write, or writes unlike rpmbuild
// (numbers from rpm's rpmtag.h).
const (
	tagFileRDevs      = 1033
	tagSourceRPM      = 1044
	tagChangelogTime  = 1080
	tagChangelogName  = 1081
	tagChangelogText  = 1082
	tagFileDigestAlgo = 5011
)

// depTags are the NAME, VERSION and FLAGS tags of each dependency kind.
var depTags = [numDepKinds]struct{ name, version, flags int }{
	provides:    {1047, 1113, 1112},
	requires:    {1049, 1050, 1048},
	conflicts:   {1054, 1055, 1053},
	obsoletes:   {1090, 1115, 1114},
	recommends:  {5046, 5047, 5048},
	suggests:    {5049, 5050, 5051},
	supplements: {5052, 5053, 5054},
	enhances:    {5055, 5056, 5057},
}

// payloadOverhead is what zstd at its fastest level adds to pseudo-random
// contents, measured: about 1%.
const payloadOverhead = 1.01

// minFileSize is the size of the smallest non-empty file.
const minFileSize = 16

// compressor is the payload compression: zstd like current distributions;
// the contents are random, so the fastest level stores them almost as is.
const compressor = "zstd:fastest"

// overhead estimates the bytes of the file that are not file contents:
// lead, signature header, main header, compressed cpio headers. (zstd
// also adds about 1% to the contents: see payloadOverhead.)
func (s *spec) overhead() int64 {
	n := 96 + 200 // lead; signature header with SIZE, SHA256, PAYLOADSIZE
	n += 16*45 + 100
	for _, t := range []string{s.name, s.version, s.release, s.arch, s.summary, s.description,
		s.license, s.url, s.group, s.vendor, s.packager, s.buildHost, s.sourceRPM,
		s.pre, s.post, s.preun, s.postun} {
		n += len(t) + 1
	}
	dirs := map[string]bool{}
	for i := range s.files {
		f := &s.files[i]
		dir, base := path.Split(f.path)
		if !dirs[dir] {
			dirs[dir] = true
			n += len(dir) + 1
		}
		// basename, link target, digest, owner, group, lang; 12 integers.
		n += len(base) + 1 + len(f.link) + 1 + 5 + 5 + 1 + 40
		if f.hasContent() {
			n += 65
		} else {
			n++
		}
		if f.flags&rpmpack.GhostFile == 0 {
			n += 24 // cpio header and name, compressed
		}
	}
	for _, ds := range s.deps {
		for _, d := range ds {
			n += len(d.name) + len(d.version) + 2 + 4
		}
	}
	for _, c := range s.changelog {
		n += 4 + len(c.author) + len(c.text) + 2
	}
	return int64(n)
}

func (s *spec) minPayload() int64 {
	var n int64
	for i := range s.files {
		if f := &s.files[i]; f.hasContent() && f.weight > 0 {
			n += minFileSize
		}
	}
	return n
}

// shareFiles sets the file sizes so that the contents add up to about
// payload bytes.
func (s *spec) shareFiles(payload int64) {
	var total float64
	for i := range s.files {
		if f := &s.files[i]; f.hasContent() {
			total += f.weight
		}
	}
	for i := range s.files {
		f := &s.files[i]
		if !f.hasContent() || f.weight == 0 {
			continue
		}
		f.size = min(max(minFileSize, int64(float64(payload)*f.weight/total)), 1<<30)
	}
}

// write builds the package into the file at path and returns its size.
// The file's modification time is the build time.
func (s *spec) write(path string) (int64, error) {
	r, err := rpmpack.NewRPM(rpmpack.RPMMetaData{
		Name:        s.name,
		Summary:     s.summary,
		Description: s.description,
		Version:     s.version,
		Release:     s.release,
		Arch:        s.arch,
		Vendor:      s.vendor,
		URL:         s.url,
		Packager:    s.packager,
		Group:       s.group,
		Licence:     s.license,
		BuildHost:   s.buildHost,
		Compressor:  compressor,
		Epoch:       s.epoch,
		BuildTime:   time.Unix(s.buildTime, 0),
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.name, err)
	}
	// rpmpack's self-provide has no epoch, and its Relations cannot carry
	// rpmbuild's flags (RPMLIB, FIND_REQUIRES, SCRIPT_PRE, ...): every
	// dependency list is written as custom tags instead.
	r.Provides = nil

	var need int64
	for j := range s.files {
		if f := &s.files[j]; f.hasContent() {
			need += f.size
		}
	}
	arena := arenas.Get().(*[]byte)
	defer arenas.Put(arena)
	if int64(cap(*arena)) < need {
		*arena = make([]byte, need)
	}
	free := (*arena)[:need]

	mtime := uint32(s.buildTime)
	for j := range s.files {
		f := &s.files[j]
		var body []byte
		switch {
		case f.link != "":
			body = []byte(f.link)
		case f.hasContent():
			body, free = free[:f.size:f.size], free[f.size:]
			fillContent(body, s.contentSeed, j)
		}
		r.AddFile(rpmpack.RPMFile{
			Name: f.path, Body: body, Mode: f.mode,
			Owner: "root", Group: "root", MTime: mtime, Type: f.flags,
		})
	}

	for k, t := range depTags {
		ds := s.deps[k]
		if len(ds) == 0 {
			continue
		}
		names := make([]string, len(ds))
		versions := make([]string, len(ds))
		flags := make([]uint32, len(ds))
		for i, d := range ds {
			names[i], versions[i], flags[i] = d.name, d.version, d.flags
		}
		r.AddCustomTag(t.name, rpmpack.EntryStringSlice(names))
		r.AddCustomTag(t.version, rpmpack.EntryStringSlice(versions))
		r.AddCustomTag(t.flags, rpmpack.EntryUint32(flags))
	}
	if n := len(s.changelog); n > 0 {
		times := make([]uint32, n)
		names := make([]string, n)
		texts := make([]string, n)
		for i, c := range s.changelog {
			times[i], names[i], texts[i] = uint32(c.time), c.author, c.text
		}
		r.AddCustomTag(tagChangelogTime, rpmpack.EntryUint32(times))
		r.AddCustomTag(tagChangelogName, rpmpack.EntryStringSlice(names))
		r.AddCustomTag(tagChangelogText, rpmpack.EntryStringSlice(texts))
	}
	// As rpmbuild writes them: the source package's real name, one digest
	// algorithm (8 = SHA-256) for the package, rdev 0.
	r.AddCustomTag(tagSourceRPM, rpmpack.EntryString(s.sourceRPM))
	r.AddCustomTag(tagFileDigestAlgo, rpmpack.EntryUint32([]uint32{8}))
	r.AddCustomTag(tagFileRDevs, rpmpack.EntryUint16(make([]uint16, len(s.files))))

	if s.pre != "" {
		r.AddPrein(s.pre)
	}
	if s.post != "" {
		r.AddPostin(s.post)
	}
	if s.preun != "" {
		r.AddPreun(s.preun)
	}
	if s.postun != "" {
		r.AddPostun(s.postun)
	}

	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := &countingWriter{w: f}
	err = r.Write(w)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		t := time.Unix(s.buildTime, 0)
		err = os.Chtimes(path, t, t)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return w.n, nil
}

// arenas hold the file contents of a package while it is built, so that
// the workers reuse their buffers instead of allocating (and clearing)
// the corpus's size again.
var arenas = sync.Pool{New: func() any { return new([]byte) }}

// fillContent fills b with file j's bytes: pseudo-random, so that they do
// not compress.
func fillContent(b []byte, seed uint64, j int) {
	r := rand.NewPCG(seed, uint64(j))
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, r.Uint64())
		b = b[8:]
	}
	var tail [8]byte
	binary.LittleEndian.PutUint64(tail[:], r.Uint64())
	copy(b, tail[:])
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
