package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/retry"
)

// Keys rpmirror keeps for itself in a target. Everything under
// ReservedPrefix is internal: never part of a publication, never deleted
// as an orphan.
const (
	ReservedPrefix = ".rpmirror/"
	// StateKey holds the State of the target.
	StateKey = ReservedPrefix + "state.json"
	// LockKey holds the publish lock while a publisher runs.
	LockKey = ReservedPrefix + "lock"
	// takeoverPrefix + the token of an expired lock is created (once, by
	// PutIfAbsent) by whoever takes that lock over.
	takeoverPrefix = ReservedPrefix + "lock-takeover/"
)

// StateVersion is the version of the state document this package writes
// and the newest it reads.
const StateVersion = 1

// maxStateSize bounds what ReadState reads: about 150 bytes per object,
// so 64 MiB is room for some 400,000 objects.
const maxStateSize = 64 << 20

// State is what a target's publisher remembers between runs, stored as
// JSON at StateKey and written after each switch:
//
//	{
//	  "version": 1,
//	  "updated": "2026-11-26T10:00:00Z",
//	  "repomd_sha256": "…",
//	  "revision": "1764151200",
//	  "package_cache_control": "public, max-age=3600",
//	  "current": {"repodata/repomd.xml": {"size": 3045, "sha256": "…"}, …},
//	  "retired": {"Packages/a/a-1.0-1.noarch.rpm": {"size": 6120, "sha256": "…",
//	              "since": "2026-11-25T10:00:00Z", "reason": "superseded"}, …},
//	  "primary": {"checksum": "sha256:…", "packages": ["Packages/b/b-2.0-1.noarch.rpm", …]}
//	}
//
// Current lists every object of the live publication (the objects its
// repomd.xml names, the packages its primary names, repomd.xml itself and
// its .asc/.key) with the size and SHA-256 of the bytes uploaded. Retired
// lists objects still in the target that the live publication does not
// name, with the time they stopped being needed: "superseded" by a
// publication, or found in the target unknown to the state ("orphan",
// e.g. uploaded by a run that crashed before its switch). A retired
// object is deleted once the grace period has passed since then.
//
// The state is also the publisher's cache: an object whose key is listed
// in the target with the size the state recorded is taken to hold the
// bytes the state says, so an unchanged republish needs a single List of
// the target and no Stat or download per object; and a primary whose
// checksum is the one Primary records is not parsed again: its package
// list is Primary's. A change made behind
// the publisher's back that keeps an object's size is not noticed
// (rpmirror verify checks the bytes).
type State struct {
	Version int       `json:"version"`
	Updated time.Time `json:"updated"`
	// RepomdSHA256 and Revision describe the live repomd.xml.
	RepomdSHA256 string `json:"repomd_sha256,omitempty"`
	Revision     string `json:"revision,omitempty"`
	// PackageCacheControl is the Cache-Control the current packages were
	// uploaded with; a publish with another value uploads them again.
	PackageCacheControl string `json:"package_cache_control,omitempty"`

	Current map[string]Entry   `json:"current"`
	Retired map[string]Retired `json:"retired"`

	// Primary caches what the current publication's primary lists, so
	// that publishing the same primary again does not parse it again.
	Primary *PrimaryCache `json:"primary,omitempty"`
}

// PrimaryCache is the package list of a primary file.
type PrimaryCache struct {
	// Checksum is the primary record's checksum as repomd.xml gives it,
	// "type:value": it identifies the primary's content.
	Checksum string `json:"checksum"`
	// Packages are the keys of its packages, in document order; their
	// sizes and SHA-256s are in Current.
	Packages []string `json:"packages"`
	// External counts its packages with an xml:base (not published).
	External int `json:"external,omitempty"`
}

// Entry is an object of the live publication.
type Entry struct {
	Size int64 `json:"size"`
	// SHA256 of the bytes uploaded.
	SHA256 string `json:"sha256"`
}

// Retired is an object kept in the target for the grace period.
type Retired struct {
	Size int64 `json:"size"`
	// SHA256 is "" for an orphan whose content is unknown.
	SHA256 string    `json:"sha256,omitempty"`
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"` // ReasonSuperseded or ReasonOrphan
}

// Reasons an object is retired.
const (
	ReasonSuperseded = "superseded"
	ReasonOrphan     = "orphan"
)

// ErrState is wrapped by the error of a state document that cannot be
// used: malformed, or written by a newer version of rpmirror.
var ErrState = errors.New("publish: unusable state document")

func newState() *State {
	return &State{Version: StateVersion, Current: map[string]Entry{}, Retired: map[string]Retired{}}
}

// ReadState reads the state of a target. A target without one (never
// published to by rpmirror) gives an empty State and no error.
func ReadState(ctx context.Context, b storage.Backend) (*State, error) {
	data, err := readObject(ctx, b, StateKey, maxStateSize)
	if errors.Is(err, storage.ErrNotExist) {
		return newState(), nil
	}
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return nil, fmt.Errorf("%w: %w", ErrState, err)
		}
		return nil, fmt.Errorf("read %s: %w", StateKey, err)
	}
	return parseState(data)
}

// readAttempts is how often readObject opens an object whose transfer
// breaks off with a transient error: storage/retry retries the Open, not
// the reading after it.
const readAttempts = 3

var errTooLarge = errors.New("object too large")

// readObject reads a whole object of at most limit bytes.
func readObject(ctx context.Context, b storage.Backend, key string, limit int64) ([]byte, error) {
	var err error
	for range readAttempts {
		var rc io.ReadCloser
		if rc, err = b.Open(ctx, key); err != nil {
			return nil, err
		}
		var data []byte
		data, err = io.ReadAll(io.LimitReader(rc, limit+1))
		rc.Close()
		if err == nil {
			if int64(len(data)) > limit {
				return nil, fmt.Errorf("%w: %s is larger than %d bytes", errTooLarge, key, limit)
			}
			return data, nil
		}
		if ctx.Err() != nil || !retry.Retryable(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w (%d attempts)", err, readAttempts)
}

func parseState(data []byte) (*State, error) {
	s := newState()
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("%w: %s: %w (move it away to start afresh: every object is then uploaded again)", ErrState, StateKey, err)
	}
	if s.Version < 1 || s.Version > StateVersion {
		return nil, fmt.Errorf("%w: %s has version %d; this rpmirror reads versions 1 to %d (written by a newer rpmirror?)",
			ErrState, StateKey, s.Version, StateVersion)
	}
	if s.Current == nil {
		s.Current = map[string]Entry{}
	}
	if s.Retired == nil {
		s.Retired = map[string]Retired{}
	}
	return s, nil
}

// marshal returns the document as stored: indented, keys sorted (so that
// equal states give equal bytes).
func (s *State) marshal() ([]byte, error) {
	return json.MarshalIndent(s, "", " ")
}

// sameAs reports whether s and t record the same thing, ignoring when
// they were written.
func (s *State) sameAs(t *State) bool {
	a, b := *s, *t
	a.Updated, b.Updated = time.Time{}, time.Time{}
	if a.Version != b.Version || a.RepomdSHA256 != b.RepomdSHA256 || a.Revision != b.Revision ||
		a.PackageCacheControl != b.PackageCacheControl {
		return false
	}
	if (a.Primary == nil) != (b.Primary == nil) || a.Primary != nil && (a.Primary.Checksum != b.Primary.Checksum ||
		a.Primary.External != b.Primary.External || !slices.Equal(a.Primary.Packages, b.Primary.Packages)) {
		return false
	}
	return maps.Equal(a.Current, b.Current) && maps.EqualFunc(a.Retired, b.Retired, func(x, y Retired) bool {
		return x.Size == y.Size && x.SHA256 == y.SHA256 && x.Since.Equal(y.Since) && x.Reason == y.Reason
	})
}

// writeState stores s at StateKey.
func writeState(ctx context.Context, b storage.Backend, s *State) error {
	data, err := s.marshal()
	if err != nil {
		return err
	}
	return putBytes(ctx, b, StateKey, data, storage.PutOptions{
		ContentType:  "application/json",
		CacheControl: CacheNoCache,
	})
}

// putBytes stores data under key with its SHA-256.
func putBytes(ctx context.Context, b storage.Backend, key string, data []byte, opt storage.PutOptions) error {
	opt.SHA256 = sha256Hex(data)
	return b.Put(ctx, key, bytes.NewReader(data), int64(len(data)), opt)
}
