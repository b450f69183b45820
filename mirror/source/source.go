// Package source defines what rpmirror sync pulls packages from: an
// upstream dnf repository (mirror/source/repo), a Koji tag
// (mirror/source/koji) or a local directory of build outputs
// (mirror/source/dir). Each implementation lists the packages it offers
// as Candidates and fetches one at a time; the syncer filters the
// candidates, fetches what its local pool lacks, verifies every byte, and
// regenerates or copies metadata.
package source

import (
	"context"
	"errors"
	"io"

	"github.com/rpmirror/rpmirror/repodata"
)

// ErrVerify is wrapped by every error about content that is not what its
// source promised: wrong size, wrong checksum, a truncated body, a
// metalink whose hashes do not match. Such content is never published.
var ErrVerify = errors.New("source: content failed verification")

// Candidate is one package a source offers.
type Candidate struct {
	// Href is the package's path relative to the mirrored repository's
	// root, as it will be published (e.g. "Packages/a/acme-1.0-1.x86_64.rpm").
	// Implementations check it with repodata.CheckHref.
	Href string

	Name, Epoch, Version, Release, Arch string
	BuildTime                           int64

	// Size in bytes, -1 when the source does not say before fetching.
	Size int64
	// Checksum the content must have; the zero Checksum when the source
	// does not say (a directory). The caller of Fetch verifies it.
	Checksum repodata.Checksum

	// Package is the source's full metadata for the candidate when it has
	// it (an upstream primary.xml entry), else nil.
	Package *repodata.Package

	// Origin says where the candidate comes from, for logs: a URL, a
	// path, a Koji build.
	Origin string

	// Token, for candidates without a sha256 Checksum, changes whenever
	// the content may have changed (a file's device, inode, size and
	// mtime); the syncer fetches again when it does. "" means Origin,
	// Size, NEVRA and BuildTime identify the content.
	Token string
}

// Incompleter is implemented by sources whose List may leave out
// packages that will appear without the source's fingerprint changing
// (a Koji tag whose signed copies are not all written yet). The syncer
// does not consider a run complete while Incomplete is true, so the next
// run lists again.
type Incompleter interface {
	Incomplete() bool
}

// NEVRA is name-[epoch:]version-release.arch.
func (c *Candidate) NEVRA() string {
	p := repodata.Package{Name: c.Name, Epoch: c.Epoch, Version: c.Version, Release: c.Release, Arch: c.Arch}
	return p.NEVRA()
}

// Source is one place packages come from.
//
// Contracts: methods are safe for concurrent use (the syncer fetches
// with bounded parallelism); errors name the source and the item; ctx
// cancels everything in flight.
type Source interface {
	// Fingerprint returns a cheap summary of the source's current state
	// (an upstream repomd.xml's checksum, a Koji hub's last event, a
	// directory's listing digest). The same fingerprint as last time means
	// nothing changed and the sync of this source can stop there.
	Fingerprint(ctx context.Context) (string, error)

	// List returns every package the source offers now, in a
	// deterministic order.
	List(ctx context.Context) ([]Candidate, error)

	// Fetch writes the candidate's bytes from offset on to w (offset > 0
	// resumes a partial download). It retries transient failures and
	// fails over between mirrors internally, resuming where it stopped,
	// and checks what the transport can (status, Content-Length, a body
	// cut short, more bytes than Size). Whole-content verification (size
	// and Checksum) is the caller's, which hashes every byte as it
	// arrives. On error w may have received part of the content. A
	// content error wraps ErrVerify.
	Fetch(ctx context.Context, c *Candidate, offset int64, w io.Writer) error
}

// AdditionalMetadata is implemented by sources that carry
// repository-level metadata besides the packages — comps (group),
// updateinfo, modules — which regenerate mode carries over into the
// metadata it writes.
type AdditionalMetadata interface {
	// Additional lists the records, as the source's repomd.xml has them.
	Additional(ctx context.Context) ([]repodata.Record, error)
	// FetchAdditional writes one of them to w; w receives only content
	// that matched the record's checksum.
	FetchAdditional(ctx context.Context, rec *repodata.Record, w io.Writer) error
}

// Verbatim is implemented by sources that can be mirrored byte for byte:
// their repository metadata is published as they serve it, instead of
// being regenerated from the packages (mode "verbatim" of rpmirror sync).
// Only the repo source implements it.
type Verbatim interface {
	// Upstream returns the metadata of the state the last Fingerprint
	// accepted, the one List lists. It may make requests (the repo
	// source fetches repomd.xml.asc here when it did not at Fingerprint).
	// The result is the caller's to read, not to modify.
	Upstream(ctx context.Context) (*Upstream, error)
}

// Upstream is one state of an upstream repository's metadata, as
// served.
type Upstream struct {
	// RepomdXML is repodata/repomd.xml byte for byte as served.
	RepomdXML []byte
	// Repomd is RepomdXML parsed; its Records are every metadata file a
	// client may fetch (primary, filelists, other, their _db and _zck
	// forms, group, updateinfo, modules, ...), hrefs unchecked.
	Repomd *repodata.Repomd
	// RepomdAsc is repodata/repomd.xml.asc byte for byte as served by
	// the mirror that served RepomdXML, nil when the upstream has none.
	// It is not checked: the signature is for clients that hold the key.
	RepomdAsc []byte
	// RepomdKey is repodata/repomd.xml.key (a public key some upstreams
	// publish for repo_gpgcheck) byte for byte, nil when the upstream
	// has none. It is not checked either.
	RepomdKey []byte
	// FetchRecord writes the file of rec, one of Repomd.Records, to w.
	// It fetches from this state's mirrors even if a later Fingerprint
	// accepted another state. w receives only content that matched the
	// record's size (when given) and checksum; any other outcome is an
	// error naming the record, wrapping ErrVerify when no mirror served
	// the right bytes. Safe for concurrent use.
	FetchRecord func(ctx context.Context, rec *repodata.Record, w io.Writer) error
}
