package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/mirror/source"
)

var _ source.Verbatim = (*Repo)(nil)

// ErrChanged is wrapped by Upstream's error when the mirror replaced
// repomd.xml while its signature was being fetched: the signature might
// be the new one's. The next Fingerprint takes the new state.
var ErrChanged = errors.New("repo: repomd.xml changed during the sync")

// Upstream implements source.Verbatim with the current snapshot (see
// Metadata), and repomd.xml.key when the upstream has one.
//
// With Config.Signature, repomd.xml.asc is the one fetched with
// repomd.xml. Without it (what rpmirror sync uses, so that an unchanged
// upstream costs one request), repomd.xml.asc is fetched now from the
// mirror that served repomd.xml, and repomd.xml is fetched from it once
// more afterwards: a mirror that replaced repomd.xml in between may have
// served the new one's signature, so different bytes fail with an error
// wrapping ErrChanged rather than pair a signature with the wrong file.
// A 404, 410 or 403 for repomd.xml.asc means the upstream has none; any
// other failure (after the retries) is an error, since it cannot tell a
// signed upstream from an unsigned one.
//
// A signature replaced upstream without a new repomd.xml (a key
// rotation) is therefore picked up only when repomd.xml changes next, or
// by a run that ignores the fingerprint.
func (r *Repo) Upstream(ctx context.Context) (*source.Upstream, error) {
	s, err := r.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	asc := s.RepomdAsc
	if !r.cfg.Signature {
		if asc, err = s.signature(ctx); err != nil {
			return nil, fmt.Errorf("repo %s: %w", r.cfg.Name, err)
		}
	}
	key, err := s.publicKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("repo %s: %w", r.cfg.Name, err)
	}
	return &source.Upstream{RepomdXML: s.RepomdXML, Repomd: s.Repomd, RepomdAsc: asc, RepomdKey: key, FetchRecord: s.FetchRecord}, nil
}

// publicKey fetches repomd.xml.key, the key some repositories (Open
// Build Service ones, for instance) publish beside their signature, from
// the mirror that served the snapshot; nil when it has none. It is not
// tied to one revision of repomd.xml, so it is not fetched twice.
func (s *Snapshot) publicKey(ctx context.Context) ([]byte, error) {
	r := s.repo
	if len(s.mirrors) == 0 {
		return nil, errors.New("repodata/repomd.xml.key: no mirror")
	}
	m := s.mirrors[0]
	log := r.log.WithField("mirror", m.Redacted())
	key, aerr := r.fetchOptional(ctx, m, repomdSuffix+".key", maxKeySize, log)
	if aerr != nil {
		return nil, fmt.Errorf("%s: %w", joinURL(m, repomdSuffix+".key").Redacted(), aerr.err)
	}
	return key, nil
}

// signature fetches repomd.xml.asc from the mirror that served the
// snapshot and checks that this mirror still serves the same repomd.xml.
func (s *Snapshot) signature(ctx context.Context) ([]byte, error) {
	r := s.repo
	if len(s.mirrors) == 0 {
		return nil, errors.New("repodata/repomd.xml.asc: no mirror")
	}
	m := s.mirrors[0]
	log := r.log.WithFields(logrus.Fields{"pkg": repomdSuffix, "mirror": m.Redacted()})
	asc, aerr := r.fetchAsc(ctx, m, log)
	if aerr != nil {
		return nil, fmt.Errorf("%s: %w", joinURL(m, repomdSuffix+".asc").Redacted(), aerr.err)
	}
	again, aerr := r.get(ctx, joinURL(m, repomdSuffix), maxRepomdSize, log)
	if aerr != nil {
		return nil, fmt.Errorf("%s: fetched again after its signature: %w", joinURL(m, repomdSuffix).Redacted(), aerr.err)
	}
	if !bytes.Equal(again, s.RepomdXML) {
		return nil, fmt.Errorf("%w: %s was replaced while its signature was fetched; the next run takes the new one",
			ErrChanged, joinURL(m, repomdSuffix).Redacted())
	}
	return asc, nil
}
