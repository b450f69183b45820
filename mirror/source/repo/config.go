package repo

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Config configures a Repo. Exactly one of BaseURLs, MirrorList and
// Metalink is set; variables ($releasever, $basearch) in them are
// expanded by the caller.
type Config struct {
	// Name identifies the source in logs (the "source" field) and errors;
	// the first base URL, the mirrorlist or the metalink URL when empty.
	Name string

	// BaseURLs are mirrors of the repository, tried in order: each is the
	// directory holding repodata/.
	BaseURLs []string
	// MirrorList is the URL of a plain-text mirrorlist (see
	// ParseMirrorList), fetched again by every Fingerprint.
	MirrorList string
	// Metalink is the URL of a MirrorManager metalink (see ParseMetalink),
	// fetched again by every Fingerprint; repomd.xml must match one of the
	// versions it lists.
	Metalink string
	// Expand, when not nil, is applied to every URL line of a mirrorlist,
	// as dnf substitutes its variables there. Nil leaves lines holding a
	// $variable unused.
	Expand func(string) string

	// MaxMetadataSize bounds decompressed metadata (primary.xml): a
	// larger file fails with an error wrapping compress.ErrTooLarge.
	MaxMetadataSize int64
	// MaxCompressedSize bounds a metadata file as downloaded (a record of
	// repomd.xml): a record that declares or delivers more fails with an
	// error wrapping ErrTooLarge. Files are spooled to TempDir, not
	// memory.
	MaxCompressedSize int64

	// Timeout is how long a request may make no progress (connecting,
	// waiting for the response, between two reads of the body) before it
	// is abandoned and retried. There is no limit on a whole transfer.
	Timeout time.Duration
	// Retries is how many times a transient failure (connection refused
	// or reset, a body cut short, a stall, HTTP 408, 429 and 5xx) is
	// retried on one mirror before the next mirror is tried; 0 tries each
	// mirror once.
	Retries int
	// Backoff is the wait before the first retry on a mirror; it doubles
	// with each retry up to 30 s (or Backoff if larger), with jitter. 0
	// retries at once.
	Backoff time.Duration

	// UserAgent is sent with every request.
	UserAgent string
	// HTTPClient, when not nil, is used for requests (a copy of it, with
	// rpmirror's redirect policy in front of its own CheckRedirect). Its
	// Timeout, if any, bounds whole transfers, packages included.
	HTTPClient *http.Client
	// TempDir holds metadata files while they are verified; os.TempDir()
	// when empty.
	TempDir string
	// Signature also fetches repodata/repomd.xml.asc with every
	// repomd.xml, from the same mirror (Snapshot.RepomdAsc). Only
	// verbatim mirroring needs the signature, and Upstream fetches it
	// when this is false; without it an unchanged upstream costs exactly
	// one request.
	Signature bool
}

// Defaults of DefaultConfig, also applied by New to zero fields.
const (
	DefaultMaxMetadataSize   = 512 << 20
	DefaultMaxCompressedSize = 256 << 20
	DefaultTimeout           = 60 * time.Second
	DefaultRetries           = 3
	DefaultBackoff           = time.Second
	DefaultUserAgent         = "rpmirror (+https://github.com/rpmirror/rpmirror)"
)

// DefaultConfig returns a Config with every default set and no URL.
func DefaultConfig() Config {
	return Config{
		MaxMetadataSize:   DefaultMaxMetadataSize,
		MaxCompressedSize: DefaultMaxCompressedSize,
		Timeout:           DefaultTimeout,
		Retries:           DefaultRetries,
		Backoff:           DefaultBackoff,
		UserAgent:         DefaultUserAgent,
	}
}

// check validates cfg and fills in the defaults of zero sizes, Timeout
// and UserAgent (not of Retries and Backoff, whose zero is meaningful).
func (cfg *Config) check() ([]*url.URL, error) {
	n := 0
	for _, set := range []bool{len(cfg.BaseURLs) > 0, cfg.MirrorList != "", cfg.Metalink != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("set exactly one of BaseURLs, MirrorList and Metalink")
	}
	var bases []*url.URL
	for _, s := range cfg.BaseURLs {
		u, reason := parseMirrorURL(s)
		if reason != "" {
			return nil, fmt.Errorf("base URL %q: %s", s, reason)
		}
		bases = append(bases, u)
	}
	for _, s := range []string{cfg.MirrorList, cfg.Metalink} {
		if s == "" {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("mirrorlist or metalink URL %q: not an absolute http or https URL", s)
		}
	}
	switch {
	case cfg.MaxMetadataSize < 0, cfg.MaxCompressedSize < 0:
		return nil, errors.New("negative MaxMetadataSize or MaxCompressedSize")
	case cfg.Timeout < 0, cfg.Backoff < 0:
		return nil, errors.New("negative Timeout or Backoff")
	case cfg.Retries < 0:
		return nil, errors.New("negative Retries")
	}
	if cfg.MaxMetadataSize == 0 {
		cfg.MaxMetadataSize = DefaultMaxMetadataSize
	}
	if cfg.MaxCompressedSize == 0 {
		cfg.MaxCompressedSize = DefaultMaxCompressedSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Name == "" {
		switch {
		case len(bases) > 0:
			cfg.Name = bases[0].Redacted()
		case cfg.MirrorList != "":
			cfg.Name = redact(cfg.MirrorList)
		default:
			cfg.Name = redact(cfg.Metalink)
		}
	}
	return bases, nil
}

// redact hides a URL's password.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}
