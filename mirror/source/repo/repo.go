// Package repo is the "repo" source of rpmirror sync: an upstream dnf
// repository reached through base URLs, a mirrorlist or a MirrorManager
// metalink.
//
// A sync calls Fingerprint, which fetches repodata/repomd.xml (verified
// against the metalink when there is one) and keeps it as the current
// Snapshot; List reads that snapshot's primary.xml into candidates, Fetch
// downloads packages, Metadata gives the snapshot itself for carrying its
// extra records over, and Upstream gives it for publishing the upstream
// metadata verbatim. Everything is fetched from the mirror that served the accepted
// repomd.xml first, then from the others.
//
// Trust: nothing upstream says is used before it is checked. repomd.xml
// is size-limited, parsed strictly (repodata.ParseRepomd) and, with a
// metalink, must match one of the metalink's SHA-2 hashes; every metadata
// file must match its checksum in repomd.xml before it is read, and is
// decompressed under a size limit; every href is checked with
// repodata.CheckHref before any request. Packages are verified by the
// caller (see source.Source.Fetch).
package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
	"github.com/rpmirror/rpmirror/repodata"
)

// Limits on the small files fetched whole into memory.
const (
	maxRepomdSize     = 8 << 20 // real ones are a few KiB
	maxAscSize        = 1 << 20 // a detached signature
	maxKeySize        = 1 << 20 // an armored public key (or a few)
	maxMirrorListSize = 8 << 20 // a Fedora metalink is ~30 KiB
)

// altTries is how many more mirrors are asked for the current repomd.xml
// after one served an older version the metalink still accepts, so that
// one lagging mirror does not move the mirror back in time.
const altTries = 2

// Repo is an upstream dnf repository. It is safe for concurrent use.
type Repo struct {
	cfg    Config
	log    logrus.FieldLogger
	client *http.Client
	bases  []*url.URL // from cfg.BaseURLs

	mu      sync.Mutex
	snap    *Snapshot  // the last accepted repomd.xml
	mirrors []*url.URL // the last resolved mirrors, for Fetch before any snapshot

	resolveMu sync.Mutex // one mirrorlist/metalink fetch at a time
}

var _ source.Source = (*Repo)(nil)

// New returns a Repo for cfg, logging to log with the field source set to
// cfg.Name. It makes no request. Zero sizes, Timeout and UserAgent take
// their defaults (see DefaultConfig).
func New(cfg Config, log logrus.FieldLogger) (*Repo, error) {
	if log == nil {
		return nil, errors.New("repo: nil logger")
	}
	bases, err := cfg.check()
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", cfg.Name, err)
	}
	return &Repo{
		cfg:    cfg,
		log:    log.WithField("source", cfg.Name),
		client: newClient(&cfg),
		bases:  bases,
	}, nil
}

// Fingerprint fetches repodata/repomd.xml (and repomd.xml.asc) afresh,
// resolving the mirrorlist or metalink first, and returns the hex SHA-256
// of the accepted repomd.xml. The result becomes the snapshot that List,
// Metadata and Fetch use.
//
// Mirrors are tried in order (a metalink's by preference). A mirror is
// passed over when it fails after its retries, when its repomd.xml is
// larger than 8 MiB, does not parse, has no primary record or does not
// match the metalink, or when its repomd.xml.asc fails other than by
// being absent. A repomd.xml that matches one of the metalink's
// alternates (a mirror lagging behind) is accepted only after up to two
// more mirrors were asked for the current version. When no mirror serves
// an acceptable repomd.xml the error names the last cause and wraps
// source.ErrVerify if any mirror's repomd.xml failed the metalink's
// hashes. A failed Fingerprint keeps the previous snapshot.
func (r *Repo) Fingerprint(ctx context.Context) (string, error) {
	s, err := r.refresh(ctx)
	if err != nil {
		return "", err
	}
	return s.Fingerprint, nil
}

// Metadata returns the current snapshot: the one the last Fingerprint
// accepted, or a new one when there is none yet.
func (r *Repo) Metadata(ctx context.Context) (*Snapshot, error) {
	r.mu.Lock()
	s := r.snap
	r.mu.Unlock()
	if s != nil {
		return s, nil
	}
	return r.refresh(ctx)
}

// List reads the current snapshot's primary record (see Metadata) and
// returns its packages in document order.
//
// The primary file is downloaded to TempDir, verified against the
// checksum in repomd.xml (a mismatch tries the next mirror and finally
// fails with source.ErrVerify; a checksum type without a trusted hash,
// md5 included, is an error), decompressed by its name's suffix under
// MaxMetadataSize (beyond it: an error wrapping compress.ErrTooLarge) and
// parsed with repodata.ReadPrimary.
//
// Each package becomes a Candidate with Href its location href, Size its
// package size (-1 when 0), Checksum its pkgid checksum, Package the
// parsed entry and Origin the URL it is fetched from. List fails, naming
// the package, when an href fails repodata.CheckHref, when two packages
// share an href, when a checksum type cannot be verified (md5) or when an
// xml:base is not an http or https URL. A package with an xml:base is
// fetched from base+href only (as dnf does) and published under its href.
func (r *Repo) List(ctx context.Context) ([]source.Candidate, error) {
	s, err := r.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	cands, err := s.list(ctx)
	if err != nil {
		return nil, fmt.Errorf("repo %s: list: %w", r.cfg.Name, err)
	}
	return cands, nil
}

// resolve returns the mirrors to use now: the base URLs, or the
// mirrorlist's or metalink's, fetched afresh (with the metalink itself).
func (r *Repo) resolve(ctx context.Context) ([]*url.URL, *Metalink, error) {
	if len(r.bases) > 0 {
		return r.bases, nil, nil
	}
	r.resolveMu.Lock()
	defer r.resolveMu.Unlock()
	var (
		ms   []*url.URL
		ml   *Metalink
		list string
	)
	if r.cfg.Metalink != "" {
		list = r.cfg.Metalink
		b, err := r.getList(ctx, "metalink", list)
		if err != nil {
			return nil, nil, err
		}
		if ml, err = ParseMetalink(bytes.NewReader(b)); err != nil {
			return nil, nil, fmt.Errorf("repo %s: %s: %w", r.cfg.Name, redact(list), err)
		}
		for _, m := range ml.Mirrors {
			u, _ := url.Parse(m.Base)
			ms = append(ms, u)
		}
		r.logSkipped("metalink", ml.Skipped)
	} else {
		list = r.cfg.MirrorList
		b, err := r.getList(ctx, "mirrorlist", list)
		if err != nil {
			return nil, nil, err
		}
		mlist, err := ParseMirrorList(bytes.NewReader(b), r.cfg.Expand)
		if err != nil {
			return nil, nil, fmt.Errorf("repo %s: %s: %w", r.cfg.Name, redact(list), err)
		}
		for _, s := range mlist.Bases {
			u, _ := url.Parse(s)
			ms = append(ms, u)
		}
		r.logSkipped("mirrorlist", mlist.Skipped)
	}
	r.log.Debugf("%d mirrors from %s", len(ms), redact(list))
	r.mu.Lock()
	r.mirrors = ms
	r.mu.Unlock()
	return ms, ml, nil
}

func (r *Repo) logSkipped(kind string, skipped []SkippedURL) {
	for _, s := range skipped {
		r.log.Debugf("%s: skipping %s: %s", kind, redact(s.URL), s.Reason)
	}
}

// getList fetches a mirrorlist or metalink.
func (r *Repo) getList(ctx context.Context, kind, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %s: %w", r.cfg.Name, kind, err)
	}
	b, aerr := r.get(ctx, u, maxMirrorListSize, r.log.WithField("mirror", u.Redacted()))
	if aerr != nil {
		return nil, fmt.Errorf("repo %s: %s %s: %w", r.cfg.Name, kind, u.Redacted(), aerr)
	}
	return b, nil
}

// get fetches a small file whole, without caching on the way.
func (r *Repo) get(ctx context.Context, u *url.URL, limit int64, log logrus.FieldLogger) ([]byte, *attemptError) {
	var buf bytes.Buffer
	var pos int64
	t := &target{url: u, size: -1, limit: limit, noCache: true}
	if aerr := r.download(ctx, t, &pos, &buf, log); aerr != nil {
		return nil, aerr
	}
	return buf.Bytes(), nil
}

// refresh fetches repomd.xml and makes it the current snapshot.
func (r *Repo) refresh(ctx context.Context) (*Snapshot, error) {
	mirrors, ml, err := r.resolve(ctx)
	if err != nil {
		return nil, err
	}
	var (
		fe       failures
		verify   bool       // a mirror failed the metalink
		demoted  []*url.URL // mirrors whose repomd.xml failed verification
		fallback *Snapshot  // an alternate version, while looking for the current one
		left     = altTries // mirrors still asked after a fallback
	)
	for _, m := range mirrors {
		if fallback != nil {
			if left == 0 {
				break
			}
			left--
		}
		s, aerr := r.fetchRepomd(ctx, m, ml)
		if aerr != nil {
			if aerr.kind == kindFatal && !errors.Is(aerr, source.ErrVerify) && !errors.Is(aerr, ErrTooLarge) {
				return nil, fmt.Errorf("repo %s: repodata/repomd.xml: %w", r.cfg.Name, aerr.err)
			}
			if errors.Is(aerr, source.ErrVerify) {
				verify = true
				demoted = append(demoted, m)
			}
			r.log.WithField("mirror", m.Redacted()).WithError(aerr.err).Warn("repomd.xml not accepted")
			fe.add(joinURL(m, repomdSuffix), aerr)
			continue
		}
		s.mirrors = order(m, mirrors, demoted)
		if s.MetalinkVersion <= 0 {
			return r.accept(s), nil
		}
		r.log.WithField("mirror", s.Mirror).Infof("mirror serves an older repomd.xml (metalink alternate %d); looking for the current one", s.MetalinkVersion)
		if fallback == nil || ml.Versions[s.MetalinkVersion].Timestamp > ml.Versions[fallback.MetalinkVersion].Timestamp {
			fallback = s
		}
	}
	if fallback != nil {
		return r.accept(fallback), nil
	}
	err = fe.err("repodata/repomd.xml")
	if verify && !errors.Is(err, source.ErrVerify) {
		err = &multiError{msg: err.Error() + " (and some mirrors failed the metalink's hashes)", errs: []error{err, source.ErrVerify}}
	}
	return nil, fmt.Errorf("repo %s: %w", r.cfg.Name, err)
}

// order returns the mirrors with first at the head and the demoted ones
// at the tail.
func order(first *url.URL, all, demoted []*url.URL) []*url.URL {
	out := []*url.URL{first}
	for _, m := range all {
		if m != first && !slices.Contains(demoted, m) {
			out = append(out, m)
		}
	}
	for _, m := range demoted {
		if m != first {
			out = append(out, m)
		}
	}
	return out
}

func (r *Repo) accept(s *Snapshot) *Snapshot {
	r.mu.Lock()
	r.snap = s
	r.mu.Unlock()
	r.log.WithField("mirror", s.Mirror).Infof("repomd.xml revision %s, sha256 %s", s.Repomd.Revision, s.Fingerprint)
	return s
}

// fetchRepomd fetches and checks repomd.xml and repomd.xml.asc from one
// mirror.
func (r *Repo) fetchRepomd(ctx context.Context, m *url.URL, ml *Metalink) (*Snapshot, *attemptError) {
	log := r.log.WithFields(logrus.Fields{"pkg": repomdSuffix, "mirror": m.Redacted()})
	b, aerr := r.get(ctx, joinURL(m, repomdSuffix), maxRepomdSize, log)
	if aerr != nil {
		return nil, aerr
	}
	s := &Snapshot{RepomdXML: b, Mirror: m.Redacted(), MetalinkVersion: -1, repo: r}
	if ml != nil {
		v, err := ml.Verify(b)
		if err != nil {
			return nil, &attemptError{kind: kindNext, err: err}
		}
		s.MetalinkVersion = v
	}
	md, err := repodata.ParseRepomd(bytes.NewReader(b))
	if err == nil && md.Record("primary") == nil {
		err = fmt.Errorf("%w: repomd.xml has no primary record", repodata.ErrFormat)
	}
	if err != nil {
		return nil, &attemptError{kind: kindNext, err: err}
	}
	s.Repomd = md
	sum := sha256.Sum256(b)
	s.Fingerprint = hex.EncodeToString(sum[:])

	if !r.cfg.Signature {
		return s, nil
	}
	if s.RepomdAsc, aerr = r.fetchAsc(ctx, m, log); aerr != nil {
		return nil, aerr
	}
	return s, nil
}

// fetchAsc fetches repomd.xml.asc from mirror m; nil when it has none.
func (r *Repo) fetchAsc(ctx context.Context, m *url.URL, log logrus.FieldLogger) ([]byte, *attemptError) {
	return r.fetchOptional(ctx, m, repomdSuffix+".asc", maxAscSize, log)
}

// fetchOptional fetches a file the upstream may not have (repomd.xml.asc,
// repomd.xml.key) from mirror m: nil when the mirror says it has none
// (404, 410, or 403 as S3 answers without a public listing). Any other
// failure is an error: it cannot tell a file that is there from one
// that is not.
func (r *Repo) fetchOptional(ctx context.Context, m *url.URL, name string, limit int64, log logrus.FieldLogger) ([]byte, *attemptError) {
	log = log.WithField("pkg", name)
	b, aerr := r.get(ctx, joinURL(m, name), limit, log)
	switch {
	case aerr == nil:
		return b, nil
	case aerr.notFound:
	case asStatus(aerr) == http.StatusForbidden:
		log.Warnf("%s: 403 Forbidden; taking it as absent", path.Base(name))
	default:
		aerr.err = fmt.Errorf("%s: %w", path.Base(name), aerr.err)
		return nil, aerr
	}
	return nil, nil
}

func asStatus(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.code
	}
	return 0
}
