package publish

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
	"github.com/rpmirror/rpmirror/storage"
)

// ErrSource is wrapped by the errors of a source repository that cannot
// be published: no readable repomd.xml, a metadata file or package that
// is missing or has the wrong size, an unsafe location. Errors name the
// file.
var ErrSource = errors.New("publish: source repository")

// Keys with a fixed meaning in a repository.
const (
	repomdKey    = "repodata/repomd.xml"
	repomdAscKey = "repodata/repomd.xml.asc"
	repomdKeyKey = "repodata/repomd.xml.key"
)

// Limits on what is read into memory from the source.
const (
	maxRepomdSize    = 16 << 20
	maxSignatureSize = 1 << 20
	// maxPrimarySize bounds the decompressed primary.xml (a decompression
	// bomb in a source tree is still a bomb).
	maxPrimarySize = 16 << 30
)

// kind is what an object is in a publication; it decides the upload
// phase and the Cache-Control.
type kind uint8

const (
	kindPackage  kind = iota // uploaded first
	kindMetadata             // a file repomd.xml names
	kindSigning              // repomd.xml.asc, repomd.xml.key
	kindRepomd               // repomd.xml, the switch
)

func (k kind) String() string {
	return [...]string{"package", "metadata", "signing", "repomd"}[k]
}

// object is one object of the publication being made.
type object struct {
	key  string
	kind kind
	size int64
	// sha256 of the content, "" until known: from the metadata when its
	// checksum is a SHA-256, else by hashing the local file.
	sha256 string
	// want are the digests the metadata gives the content; the upload
	// fails unless the bytes sent have them.
	want []digest
	// Exactly one of path (a local file) and data (read into memory).
	path string
	data []byte

	cacheControl string
}

// source is the publication a local repository describes.
type source struct {
	dir     string
	repomd  *repodata.Repomd
	objects []*object // packages, then metadata, then signing files, then repomd.xml
	byKey   map[string]*object
	// external counts packages with an xml:base, fetched from elsewhere
	// and so not published.
	external int
	packages int
	// primary is the package list, for the state's cache; cached says it
	// came from the cache or a KnownPrimary rather than from parsing the
	// primary file.
	primary *PrimaryCache
	cached  bool
}

func (s *source) add(o *object) error {
	if err := storage.ValidKey(o.key); err != nil {
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	if strings.HasPrefix(o.key, ReservedPrefix) {
		return fmt.Errorf("%w: %s: location inside %s, which rpmirror reserves", ErrSource, o.key, ReservedPrefix)
	}
	if prev, ok := s.byKey[o.key]; ok {
		if prev.kind == kindPackage && o.kind == kindPackage && prev.size == o.size && sameDigests(prev.want, o.want) {
			return nil // the same file listed twice
		}
		return fmt.Errorf("%w: %s is named twice (as %s and as %s), with different content", ErrSource, o.key, prev.kind, o.kind)
	}
	s.byKey[o.key] = o
	s.objects = append(s.objects, o)
	if o.kind == kindPackage {
		s.packages++
	}
	return nil
}

func sameDigests(a, b []digest) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// readSource reads dir/repodata/repomd.xml and the primary it names, and
// checks that every file they name is present with the size they give.
// It does not read the packages: their checksums are verified while they
// are uploaded (or hashed, for those whose checksum is not a SHA-256).
// When st's primary cache, or else known, is for the same primary, the
// package list is taken from there instead of parsing the primary file.
func readSource(ctx context.Context, dir string, packageCacheControl string, st *State, known *KnownPrimary, log logrus.FieldLogger) (*source, error) {
	s := &source{dir: dir, byKey: map[string]*object{}}
	repomdData, err := readSmall(filepath.Join(dir, filepath.FromSlash(repomdKey)), maxRepomdSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, repomdKey, err)
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(repomdData))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, filepath.Join(dir, repomdKey), err)
	}
	s.repomd = md

	primary := md.Record("primary")
	if primary == nil {
		return nil, fmt.Errorf("%w: %s has no primary record", ErrSource, repomdKey)
	}
	if primary.Base != "" {
		return nil, fmt.Errorf("%w: %s: the primary record has xml:base %q: its packages cannot be read from %s", ErrSource, repomdKey, primary.Base, dir)
	}
	cached, err := s.fromCache(primary, packageCacheControl, st)
	if err != nil {
		return nil, err
	}
	if !cached && known != nil && known.Checksum.Type == primary.Checksum.Type && strings.EqualFold(known.Checksum.Value, primary.Checksum.Value) {
		if err := s.fromKnown(primary, known, packageCacheControl); err != nil {
			return nil, err
		}
		cached = true
	}
	if !cached {
		if err := s.readPrimary(ctx, primary, packageCacheControl, log); err != nil {
			return nil, err
		}
	}

	for _, rec := range md.Records {
		if rec.Base != "" {
			log.WithFields(logrus.Fields{"key": rec.Href, "base": rec.Base}).Warn("metadata record has an xml:base: it is fetched from there, not published")
			continue
		}
		if rec.Href == repomdKey || rec.Href == repomdAscKey || rec.Href == repomdKeyKey {
			return nil, fmt.Errorf("%w: %s: record %q names %s", ErrSource, repomdKey, rec.Type, rec.Href)
		}
		o, err := s.localObject(rec.Href, rec.Size, rec.Checksum, "metadata file named by repomd.xml")
		if err != nil {
			return nil, err
		}
		o.kind = kindMetadata
		o.cacheControl = CacheNoCache
		if checksumNamed(rec.Href, rec.Checksum.Value) {
			o.cacheControl = CacheImmutable
		}
		if err := s.add(o); err != nil {
			return nil, err
		}
	}

	for _, key := range []string{repomdAscKey, repomdKeyKey} {
		data, err := readSmall(filepath.Join(dir, filepath.FromSlash(key)), maxSignatureSize)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSource, key, err)
		}
		sum := sha256Hex(data)
		if err := s.add(&object{key: key, kind: kindSigning, size: int64(len(data)), sha256: sum, data: data,
			want: []digest{{"sha256", sum}}, cacheControl: CacheNoCache}); err != nil {
			return nil, err
		}
	}

	sum := sha256Hex(repomdData)
	if err := s.add(&object{key: repomdKey, kind: kindRepomd, size: int64(len(repomdData)), sha256: sum,
		data: repomdData, want: []digest{{"sha256", sum}}, cacheControl: CacheNoCache}); err != nil {
		return nil, err
	}
	return s, nil
}

// fromCache adds the packages of the primary record from the state's
// cache, if it is for this primary and consistent, and reports whether
// it did. Their local files are checked as readPrimary checks them.
func (s *source) fromCache(rec *repodata.Record, packageCacheControl string, st *State) (bool, error) {
	c := st.Primary
	if c == nil || c.Checksum != rec.Checksum.Type+":"+strings.ToLower(rec.Checksum.Value) {
		return false, nil
	}
	objs := make([]*object, 0, len(c.Packages))
	seen := make(map[string]bool, len(c.Packages))
	for _, key := range c.Packages {
		e, ok := st.Current[key]
		if !ok || e.SHA256 == "" || seen[key] || storage.ValidKey(key) != nil || repodata.CheckHref(key) != nil {
			return false, nil // not a cache this package wrote: parse the primary
		}
		seen[key] = true
		objs = append(objs, &object{key: key, kind: kindPackage, size: e.Size, sha256: e.SHA256,
			want: []digest{{"sha256", e.SHA256}}, cacheControl: packageCacheControl})
	}
	for _, o := range objs {
		var err error
		if o.path, err = s.checkLocal(o.key, o.size, "package named by primary"); err != nil {
			return false, err
		}
		if err := s.add(o); err != nil {
			return false, err
		}
	}
	s.external = c.External
	s.primary = c
	s.cached = true
	return true, nil
}

// KnownPrimary is the package list of a primary file as the program
// that wrote it knows it (the syncer, from the packages it verified):
// publishing then does not parse the primary file again.
type KnownPrimary struct {
	// Checksum is the primary record's checksum in repomd.xml; the list
	// is used only for the primary that has it.
	Checksum repodata.Checksum
	// Packages in document order; none has an xml:base.
	Packages []KnownPackage
}

// KnownPackage is one package of a KnownPrimary.
type KnownPackage struct {
	Href     string
	Size     int64
	Checksum repodata.Checksum // its pkgid, as primary gives it
}

// fromKnown adds the packages of a KnownPrimary, checking them and their
// local files as readPrimary does.
func (s *source) fromKnown(rec *repodata.Record, k *KnownPrimary, packageCacheControl string) error {
	pc := &PrimaryCache{Checksum: rec.Checksum.Type + ":" + strings.ToLower(rec.Checksum.Value), Packages: make([]string, 0, len(k.Packages))}
	for _, p := range k.Packages {
		if p.Size <= 0 {
			return fmt.Errorf("%w: package %s: size %d out of range", ErrSource, p.Href, p.Size)
		}
		if err := s.addPackage(p.Href, uint64(p.Size), p.Checksum, packageCacheControl); err != nil {
			return err
		}
		pc.Packages = append(pc.Packages, p.Href)
	}
	s.primary = pc
	s.cached = true
	return nil
}

// readPrimary adds every package of the primary record, checking the
// primary file against its checksum while reading it.
func (s *source) readPrimary(ctx context.Context, rec *repodata.Record, packageCacheControl string, log logrus.FieldLogger) error {
	name := filepath.Join(s.dir, filepath.FromSlash(rec.Href))
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("%w: primary %s: %w", ErrSource, rec.Href, err)
	}
	defer f.Close()
	h, err := repodata.NewHash(rec.Checksum.Type)
	if err != nil {
		return fmt.Errorf("%w: primary %s: %w", ErrSource, rec.Href, err)
	}
	zr, err := compress.NewReader(io.TeeReader(f, h), compress.FromFilename(rec.Href), compress.ReaderOptions{MaxSize: maxPrimarySize})
	if err != nil {
		return fmt.Errorf("%w: primary %s: %w", ErrSource, rec.Href, err)
	}
	defer zr.Close()
	n := 0
	err = repodata.ReadPrimary(zr, func(p *repodata.Package) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if p.LocationBase != "" {
			s.external++
			log.WithFields(logrus.Fields{"pkg": p.LocationHref, "base": p.LocationBase}).Debug("package has an xml:base: fetched from there, not published")
			return nil
		}
		if err := repodata.CheckHref(p.LocationHref); err != nil {
			return fmt.Errorf("%w: package %s-%s-%s.%s: %w", ErrSource, p.Name, p.Version, p.Release, p.Arch, err)
		}
		return s.addPackage(p.LocationHref, p.PackageSize, p.Checksum, packageCacheControl)
	})
	if err != nil {
		if errors.Is(err, ErrSource) || errors.Is(err, ErrChecksumMismatch) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: primary %s: %w", ErrSource, rec.Href, err)
	}
	// The rest of the file (trailing bytes the XML reader did not need)
	// still counts for the checksum.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fmt.Errorf("%w: primary %s: %w", ErrSource, rec.Href, err)
	}
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%w: primary %s: %w", ErrSource, rec.Href, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(rec.Checksum.Value) {
		return fmt.Errorf("%w: %s: its %s is %s, repomd.xml says %s",
			ErrChecksumMismatch, name, rec.Checksum.Type, got, rec.Checksum.Value)
	}
	pc := &PrimaryCache{Checksum: rec.Checksum.Type + ":" + strings.ToLower(rec.Checksum.Value), Packages: []string{}, External: s.external}
	for _, o := range s.objects {
		if o.kind == kindPackage {
			pc.Packages = append(pc.Packages, o.key)
		}
	}
	s.primary = pc
	return nil
}

// addPackage adds a package that primary names, its local file checked.
func (s *source) addPackage(href string, size uint64, sum repodata.Checksum, cacheControl string) error {
	if size > 1<<62 {
		return fmt.Errorf("%w: package %s: size %d out of range", ErrSource, href, size)
	}
	o, err := s.localObject(href, int64(size), sum, "package named by primary")
	if err != nil {
		return err
	}
	o.kind = kindPackage
	o.cacheControl = cacheControl
	return s.add(o)
}

// localObject checks that the file of href exists in the source with the
// given size (0: whatever size it has, as for a record without <size>).
func (s *source) localObject(href string, size int64, sum repodata.Checksum, what string) (*object, error) {
	if err := repodata.CheckHref(href); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSource, what, err)
	}
	if size == 0 {
		fi, err := os.Stat(filepath.Join(s.dir, filepath.FromSlash(href)))
		if err != nil {
			return nil, fmt.Errorf("%w: %s %s: %w", ErrSource, what, href, err)
		}
		size = fi.Size()
	}
	name, err := s.checkLocal(href, size, what)
	if err != nil {
		return nil, err
	}
	// Readers check the length of a checksum, not its case.
	sum.Value = strings.ToLower(sum.Value)
	o := &object{key: href, size: size, path: name, want: []digest{{sum.Type, sum.Value}}}
	if sum.Type == "sha256" {
		o.sha256 = sum.Value
	}
	return o, nil
}

// checkLocal returns the local file of href after checking that it is a
// regular file of size bytes.
func (s *source) checkLocal(href string, size int64, what string) (string, error) {
	name := filepath.Join(s.dir, filepath.FromSlash(href))
	fi, err := os.Stat(name)
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %w", ErrSource, what, href, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s %s: not a regular file", ErrSource, what, name)
	}
	if fi.Size() != size {
		return "", fmt.Errorf("%w: %s has %d bytes, the metadata says %d (%s %s)", ErrChecksumMismatch, name, fi.Size(), size, what, href)
	}
	return name, nil
}

// readSmall reads a whole file of at most limit bytes.
func readSmall(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}
