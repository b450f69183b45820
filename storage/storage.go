// Package storage is the interface between rpmirror and the places a
// repository is published to: a local directory (storage/fs) or an
// S3-compatible bucket (storage/s3). Implementations live in their own
// packages; decorators (retry, logging) wrap a Backend; one conformance
// suite (storage/storagetest) runs against every implementation.
//
// Keys are slash-separated UTF-8 paths relative to the backend's root,
// such as "repodata/repomd.xml" or "Packages/a/acme-1.0-1.x86_64.rpm":
// never empty, never starting or ending with '/', without empty, "." or
// ".." elements, without backslashes or NUL. ValidKey checks this; every
// method returns an error wrapping ErrInvalidKey for a key that fails it,
// and a backend may reject further keys it cannot store the same way
// (fs reserves names starting with ".rpmirror-tmp").
//
// A key is never both an object and the "directory" of other objects
// ("a" and "a/b"): a file system cannot hold both, and S3 listings of
// such a prefix misbehave. Repository layouts never need it.
//
// Errors may implement `Retryable() bool`; storage/retry consults it.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors callers act on. Implementations wrap them (errors.Is works)
// and add the key and the underlying cause.
var (
	// ErrNotExist: the object does not exist.
	ErrNotExist = errors.New("storage: object does not exist")
	// ErrExist: PutIfAbsent found the object already there.
	ErrExist = errors.New("storage: object already exists")
	// ErrInvalidKey: the key is not a valid object key.
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrSizeMismatch: Put read a different number of bytes than the size
	// it was given; nothing was stored.
	ErrSizeMismatch = errors.New("storage: content size does not match")
	// ErrReadOnly: the backend can only read (an HTTP origin, see
	// storage/httpsrc); its Put, Delete and List fail with an error
	// wrapping it, before any request is made.
	ErrReadOnly = errors.New("storage: backend is read-only")
)

// Object describes a stored object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
	// SHA256 is the lower-case hex SHA-256 of the content when the backend
	// knows it without reading the object (stored in object metadata at
	// Put time, or in an extended attribute); "" when it does not.
	SHA256 string
	// ContentType and CacheControl as stored; "" when unknown.
	ContentType  string
	CacheControl string
}

// PutOptions are the attributes stored with an object.
type PutOptions struct {
	// SHA256 of the content, lower-case hex; stored so that Stat and List
	// can report it later. Put does not verify it against the content
	// (the caller computed it while producing the content); leave it
	// empty when unknown.
	SHA256 string
	// ContentType and CacheControl are served with the object by an
	// S3/HTTP origin. Backends without such headers ignore them.
	ContentType  string
	CacheControl string
}

// Backend stores objects under keys.
//
// Contracts, for every implementation:
//
//   - Atomicity: Put replaces an object as a whole. A concurrent Open or
//     Stat sees either the complete previous object or the complete new
//     one, never a partial one; a failed or cancelled Put leaves the
//     previous object (or its absence) as it was.
//   - Ordering: when Put returns nil the object is durable and visible to
//     every later Open, Stat and List on any client of the same target
//     (S3 is strongly read-after-write consistent; the fs backend syncs
//     file and directory before returning). This is what lets a publisher
//     order its writes: an object written after another cannot be seen
//     without the other.
//   - Concurrency: all methods are safe for concurrent use; distinct
//     keys may be written concurrently. Concurrent Puts of one key leave
//     one of the contents, whole.
//   - Not found: Open and Stat of a missing key return an error wrapping
//     ErrNotExist. Deleting a missing key is not an error.
//   - Cancellation: methods honour ctx; a cancelled call returns an error
//     wrapping ctx.Err().
type Backend interface {
	// Put stores size bytes read from r under key. r is an io.ReadSeeker
	// so that an implementation can retry or checksum before upload; Put
	// seeks to the start before reading. If r yields more or fewer than
	// size bytes, Put fails with ErrSizeMismatch and stores nothing.
	Put(ctx context.Context, key string, r io.ReadSeeker, size int64, opt PutOptions) error

	// Open returns the object's content. The caller must Close it. A
	// read error of the returned reader (connection reset) is reported
	// by Read; the reader never returns a short body as a clean EOF. The
	// reader is valid only as long as ctx is.
	Open(ctx context.Context, key string) (io.ReadCloser, error)

	// Stat returns what the backend knows of an object without reading
	// its content.
	Stat(ctx context.Context, key string) (Object, error)

	// List calls fn for every object whose key starts with prefix (""
	// lists everything; a prefix is not required to end with '/'), in
	// lexical key order, from the goroutine that called List. If fn
	// returns an error, List stops and returns it unchanged. Objects
	// written or deleted during a List may or may not be reported. A
	// prefix no valid key can start with lists nothing. Listed objects
	// carry Key, Size and ModTime; SHA256, ContentType and CacheControl
	// may be "" where Stat would know them (S3 listings carry no
	// metadata).
	List(ctx context.Context, prefix string, fn func(Object) error) error

	// Delete removes an object. Deleting a missing key is not an error.
	// A Delete need not be durable when it returns: after a crash the
	// object may reappear, so callers must tolerate deleting again.
	Delete(ctx context.Context, key string) error
}

// ConditionalPutter is implemented by backends that can create an object
// only if it does not exist yet, atomically (S3's If-None-Match: *, or
// O_EXCL on a file system). Publish locks are built on it.
type ConditionalPutter interface {
	// PutIfAbsent stores the object like Put, unless an object with that
	// key exists, in which case it stores nothing and returns an error
	// wrapping ErrExist. Exactly one of several concurrent PutIfAbsent
	// calls for a key succeeds.
	PutIfAbsent(ctx context.Context, key string, r io.ReadSeeker, size int64, opt PutOptions) error
}

// Linker is implemented by backends that can store a local file without
// copying its bytes (storage/fs: a hard link, when the file is on the
// same file system).
//
// Contract: as Put for atomicity and concurrency, but an object stored
// by Link is visible when Link returns and durable only once a later
// Flush returns nil: a publisher links a batch, flushes once, and only
// then writes what names the batch. The object shares the file's
// storage, so the caller guarantees that the file is never modified in
// place afterwards (replacing it by a rename or removing it is fine) and
// that its content is durable; Link does not read it. When the backend
// cannot link this file, Link stores nothing and returns an error
// wrapping errors.ErrUnsupported; the caller then uses Put.
type Linker interface {
	Link(ctx context.Context, key, path string, size int64, opt PutOptions) error
	// Flush makes every object linked so far durable.
	Flush(ctx context.Context) error
}

// ValidKey reports whether key is a valid object key (see the package
// documentation), wrapping ErrInvalidKey with the reason.
func ValidKey(key string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why) }
	switch {
	case key == "":
		return bad("empty")
	case strings.HasPrefix(key, "/"):
		return bad("starts with /")
	case strings.HasSuffix(key, "/"):
		return bad("ends with /")
	case strings.ContainsAny(key, "\\\x00"):
		return bad("contains a backslash or NUL")
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	}
	for _, el := range strings.Split(key, "/") {
		switch el {
		case "":
			return bad("empty path element")
		case ".", "..":
			return bad("contains " + el)
		}
	}
	return nil
}
