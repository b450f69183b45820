package repo

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
	"github.com/rpmirror/rpmirror/repodata/compress"
)

// Snapshot is one accepted repomd.xml of the upstream and the way to
// fetch the files it names.
type Snapshot struct {
	// Fingerprint is the hex SHA-256 of RepomdXML.
	Fingerprint string
	// RepomdXML is repodata/repomd.xml byte for byte as served.
	RepomdXML []byte
	// RepomdAsc is repodata/repomd.xml.asc from the same mirror, nil when
	// the mirror has none (404, 410 or 403). rpmirror does not check it.
	RepomdAsc []byte
	// Repomd is RepomdXML parsed.
	Repomd *repodata.Repomd
	// Mirror is the base URL that served it (password redacted).
	Mirror string
	// MetalinkVersion is -1 without a metalink, 0 when RepomdXML is the
	// metalink's current version, n for its nth alternate (an older
	// version a lagging mirror serves).
	MetalinkVersion int

	repo    *Repo
	mirrors []*url.URL // the serving mirror first
}

func (s *Snapshot) list(ctx context.Context) ([]source.Candidate, error) {
	r := s.repo
	rec := s.Repomd.Record("primary")
	if rec == nil {
		return nil, fmt.Errorf("%w: repomd.xml has no primary record", repodata.ErrFormat)
	}
	if strings.HasSuffix(rec.Href, ".zck") {
		return nil, fmt.Errorf("primary %s: zchunk metadata is not supported", rec.Href)
	}
	if rec.OpenSize > r.cfg.MaxMetadataSize {
		return nil, fmt.Errorf("primary %s: open-size %d: %w: more than %d bytes", rec.Href, rec.OpenSize, compress.ErrTooLarge, r.cfg.MaxMetadataSize)
	}
	f, err := s.spool(ctx, rec)
	if err != nil {
		return nil, err
	}
	defer f.close()
	// The open-size repomd.xml declares bounds the decompression: a
	// bomb is stopped after the size upstream promised, not after the
	// configured maximum.
	limit, declared := r.cfg.MaxMetadataSize, false
	if rec.OpenSize >= 0 && rec.OpenSize < limit {
		limit, declared = rec.OpenSize, true
	}
	zr, err := compress.NewReader(f.f, compress.FromFilename(rec.Href), compress.ReaderOptions{MaxSize: limit})
	if err != nil {
		return nil, err
	}
	defer zr.Close()

	var cands []source.Candidate
	byHref := map[string]int{}
	err = repodata.ReadPrimary(zr, func(p *repodata.Package) error {
		c, err := s.candidate(p)
		if err != nil {
			return fmt.Errorf("package %s: %w", p.NEVRA(), err)
		}
		if i, dup := byHref[c.Href]; dup {
			return fmt.Errorf("%w: packages %s and %s share href %q", repodata.ErrFormat, cands[i].NEVRA(), p.NEVRA(), c.Href)
		}
		byHref[c.Href] = len(cands)
		cands = append(cands, c)
		return nil
	})
	if err != nil {
		if declared && errors.Is(err, compress.ErrTooLarge) {
			return nil, fmt.Errorf("primary %s: %w: %w: more than the open-size %d that repomd.xml declares", rec.Href, source.ErrVerify, compress.ErrTooLarge, rec.OpenSize)
		}
		return nil, fmt.Errorf("primary %s: %w", rec.Href, err)
	}
	r.log.WithField("mirror", s.Mirror).Infof("listed %d packages", len(cands))
	return cands, nil
}

func (s *Snapshot) candidate(p *repodata.Package) (source.Candidate, error) {
	if err := repodata.CheckHref(p.LocationHref); err != nil {
		return source.Candidate{}, err
	}
	if _, err := repodata.NewHash(p.Checksum.Type); err != nil {
		return source.Candidate{}, fmt.Errorf("%w: cannot verify: %w", source.ErrVerify, err)
	}
	if p.PackageSize > math.MaxInt64 {
		return source.Candidate{}, fmt.Errorf("%w: package size %d out of range", repodata.ErrFormat, p.PackageSize)
	}
	var origin *url.URL
	if p.LocationBase != "" {
		base, err := parseBase(p.LocationBase)
		if err != nil {
			return source.Candidate{}, err
		}
		origin = joinURL(base, p.LocationHref)
	} else if len(s.mirrors) > 0 {
		origin = joinURL(s.mirrors[0], p.LocationHref)
	}
	size := int64(p.PackageSize)
	if size == 0 {
		size = -1
	}
	c := source.Candidate{
		Href:      p.LocationHref,
		Name:      p.Name,
		Epoch:     p.Epoch,
		Version:   p.Version,
		Release:   p.Release,
		Arch:      p.Arch,
		BuildTime: p.BuildTime,
		Size:      size,
		Checksum:  p.Checksum,
		Package:   p,
	}
	if origin != nil {
		c.Origin = origin.Redacted()
	}
	return c, nil
}

// parseBase parses an xml:base.
func parseBase(s string) (*url.URL, error) {
	u, reason := parseMirrorURL(s)
	if reason != "" {
		return nil, fmt.Errorf("%w: xml:base %q: %s", repodata.ErrFormat, s, reason)
	}
	return u, nil
}

// Additional returns the records that a mirror regenerating the package
// metadata carries over as they are: every record except primary,
// filelists, filelists_ext and other in any form (_db, _zck). That is group and
// group_gz (comps), updateinfo, modules, prestodelta, productid and
// whatever else upstream publishes, in repomd.xml order.
func (s *Snapshot) Additional() []repodata.Record {
	var out []repodata.Record
	for _, rec := range s.Repomd.Records {
		base := strings.TrimSuffix(strings.TrimSuffix(rec.Type, "_db"), "_zck")
		// filelists_ext (createrepo_c 1.x) describes the upstream's
		// packages file by file: stale beside regenerated metadata.
		if base == "primary" || base == "filelists" || base == "other" || base == "filelists_ext" {
			continue
		}
		out = append(out, rec)
	}
	return out
}

// FetchRecord writes the file of rec, a record of s.Repomd, to w after
// verifying it: it is downloaded to TempDir from the mirrors in turn
// until one serves bytes of the record's size (when given) and checksum,
// then copied to w. On a verification failure w has received nothing.
// Errors wrap source.ErrVerify when no mirror served the right bytes,
// ErrNotFound when every mirror answered 404, and ErrTooLarge when the
// record is larger than MaxCompressedSize.
func (s *Snapshot) FetchRecord(ctx context.Context, rec *repodata.Record, w io.Writer) error {
	f, err := s.spool(ctx, rec)
	if err != nil {
		return fmt.Errorf("repo %s: %w", s.repo.cfg.Name, err)
	}
	defer f.close()
	if _, err := io.Copy(w, f.f); err != nil {
		return fmt.Errorf("repo %s: record %s: write: %w", s.repo.cfg.Name, rec.Type, err)
	}
	return nil
}

// spooled is a verified metadata file in TempDir, positioned at its start.
type spooled struct{ f *os.File }

func (f *spooled) close() {
	f.f.Close()
	os.Remove(f.f.Name())
}

// spool downloads rec's file to a temporary file and verifies it,
// trying each mirror in turn.
func (s *Snapshot) spool(ctx context.Context, rec *repodata.Record) (*spooled, error) {
	r := s.repo
	what := fmt.Sprintf("record %s (%s)", rec.Type, rec.Href)
	if err := repodata.CheckHref(rec.Href); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	h, err := repodata.NewHash(rec.Checksum.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: cannot verify: %w", what, source.ErrVerify, err)
	}
	want, err := hex.DecodeString(rec.Checksum.Value)
	if err != nil || len(want) != h.Size() {
		return nil, fmt.Errorf("%s: %w: bad %s checksum %q", what, repodata.ErrFormat, rec.Checksum.Type, rec.Checksum.Value)
	}
	size, limit := int64(-1), r.cfg.MaxCompressedSize
	if rec.Size > 0 {
		if rec.Size > limit {
			return nil, fmt.Errorf("%s: size %d: %w: more than %d bytes", what, rec.Size, ErrTooLarge, limit)
		}
		size = rec.Size
	}
	mirrors := s.mirrors
	if rec.Base != "" {
		base, err := parseBase(rec.Base)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		mirrors = []*url.URL{base}
	}
	tmp, err := os.CreateTemp(r.cfg.TempDir, "rpmirror-md-*")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	f := &spooled{tmp}
	var fe failures
	for _, m := range mirrors {
		log := r.log.WithFields(logrus.Fields{"pkg": rec.Href, "mirror": m.Redacted()})
		if err := truncate0(tmp); err != nil {
			f.close()
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		h.Reset()
		t := &target{url: joinURL(m, rec.Href), size: size, limit: limit}
		var pos int64
		aerr := r.download(ctx, t, &pos, io.MultiWriter(tmp, h), log)
		if aerr == nil && !bytes.Equal(h.Sum(nil), want) {
			aerr = fail(kindNext, "%w: %s checksum %x, repomd.xml says %s", source.ErrVerify, rec.Checksum.Type, h.Sum(nil), rec.Checksum.Value)
		}
		if aerr == nil {
			if _, err := tmp.Seek(0, io.SeekStart); err != nil {
				f.close()
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			return f, nil
		}
		if aerr.kind == kindFatal && !errors.Is(aerr, source.ErrVerify) && !errors.Is(aerr, ErrTooLarge) {
			f.close()
			return nil, fmt.Errorf("%s: %w", what, aerr.err)
		}
		log.WithError(aerr.err).Warn("mirror failed; trying the next one")
		fe.add(t.url, aerr)
	}
	f.close()
	return nil, fe.err(what)
}

func truncate0(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// Additional implements source.AdditionalMetadata with the records of the
// snapshot taken by the last Fingerprint.
func (r *Repo) Additional(ctx context.Context) ([]repodata.Record, error) {
	s, err := r.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	return s.Additional(), nil
}

// FetchAdditional implements source.AdditionalMetadata.
func (r *Repo) FetchAdditional(ctx context.Context, rec *repodata.Record, w io.Writer) error {
	s, err := r.Metadata(ctx)
	if err != nil {
		return err
	}
	return s.FetchRecord(ctx, rec, w)
}
