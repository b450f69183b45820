// Package target turns the name of a place a repository lives — a
// command-line argument or a [target.NAME] table of the configuration
// file — into a storage.Backend, stacked the one way every command uses.
//
// A target spec is one of:
//
//	/srv/repo, ./repo, repo          a directory (storage/fs)
//	file:///srv/repo                 the same, as a URL
//	s3://BUCKET[/PREFIX][?OPTIONS]   an S3 bucket (storage/s3)
//	http://HOST/PATH, https://...    a published repository, read-only (storage/httpsrc)
//	NAME                             a [target.NAME] table of the configuration
//
// A spec that is exactly the name of a configured target means that
// target, even if a directory of that name exists: write ./NAME for the
// directory.
//
// S3 options, all optional:
//
//	endpoint=HOST[:PORT]   the S3 API (default s3.amazonaws.com); no scheme
//	region=R               the bucket's region (default: ask the server)
//	path-style=1           address the bucket as endpoint/bucket/key
//	tls=0                  plain HTTP (default 1: HTTPS)
//
// for example s3://repos/el9?endpoint=127.0.0.1:9000&region=us-east-1&path-style=1&tls=0.
// Credentials never go into a spec, where shells, logs and process lists
// would show them: a spec with user information (s3://KEY:SECRET@...) or
// a credential option is refused, without repeating it. They come from
// Config.S3 (or a named target's access-key and secret-key), else from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
//
// Backends over the network (S3, HTTP) are wrapped in storage/retry
// unless Config.NoRetry is set; the result keeps storage.ConditionalPutter
// when the backend has it (S3, fs).
package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/fs"
	"github.com/rpmirror/rpmirror/storage/httpsrc"
	"github.com/rpmirror/rpmirror/storage/retry"
	"github.com/rpmirror/rpmirror/storage/s3"
)

// ErrInvalidSpec is wrapped by the errors of specs and named targets that
// cannot mean anything: a malformed URL, an unknown scheme or option, an
// invalid bucket name, credentials in a URL, an incomplete [target.NAME].
// A command reports them as usage errors.
var ErrInvalidSpec = errors.New("target: invalid target")

// Kind is the kind of storage a target is.
type Kind string

// The kinds of target.
const (
	FS   Kind = "fs"
	S3   Kind = "s3"
	HTTP Kind = "http" // http:// and https://; read-only
)

// Target is a named target, a [target.NAME] table of the configuration
// file; the fields are its keys. Check validates one.
type Target struct {
	// Type is "fs" or "s3".
	Type string
	// Path is the directory of an fs target, absolute.
	Path string
	// Endpoint, Region, Bucket and Prefix locate an s3 target; see
	// storage/s3.Config. Endpoint defaults to s3.amazonaws.com.
	Endpoint string
	Region   string
	Bucket   string
	Prefix   string
	// PathStyle (default false) and TLS (default true); nil when the
	// key is absent.
	PathStyle *bool
	TLS       *bool
	// AccessKey and SecretKey authenticate to an s3 target. Prefer the
	// AWS environment variables: a key in a file is easily leaked.
	AccessKey string
	SecretKey s3.Secret
}

// Config is what Open needs besides the spec.
type Config struct {
	// Targets are the named targets, by name.
	Targets map[string]Target
	// S3 is the template of every s3 target: its AccessKey and SecretKey
	// (when a named target has none of its own), PartSize and Concurrency
	// apply; the location fields come from the spec.
	S3 s3.Config
	// HTTP is the template of every http(s) target; URL comes from the
	// spec.
	HTTP httpsrc.Config
	// Retry are the options of the storage/retry decorator over S3 and
	// HTTP backends; NoRetry leaves them bare (tests that count
	// requests).
	Retry   retry.Options
	NoRetry bool
	// MustExist refuses a directory that does not exist, instead of
	// creating it: for commands that only read, such as verify, so that a
	// mistyped name is an error rather than a new empty directory.
	MustExist bool
	// Log receives the retry warnings; nil discards them.
	Log logrus.FieldLogger
}

// DefaultConfig returns a Config with the defaults of storage/s3,
// storage/httpsrc and storage/retry.
func DefaultConfig() Config {
	return Config{S3: s3.DefaultConfig(), HTTP: httpsrc.DefaultConfig(), Retry: retry.DefaultOptions()}
}

// Location is a parsed spec: what Open will open.
type Location struct {
	Kind Kind
	// Name is the configured target's name; "" for a path or URL.
	Name string
	// Path is an fs target's directory.
	Path string
	// S3 is an s3 target's configuration, credentials included (Secret
	// keeps them out of logs).
	S3 s3.Config
	// URL is an http target's base URL.
	URL string
}

// String describes the location for logs; it holds no credentials.
func (l Location) String() string {
	var s string
	switch l.Kind {
	case FS:
		s = "fs:" + l.Path
	case S3:
		scheme := "https"
		if !l.S3.Secure {
			scheme = "http"
		}
		s = fmt.Sprintf("s3://%s/%s (%s://%s)", l.S3.Bucket, strings.Trim(l.S3.Prefix, "/"), scheme, l.S3.Endpoint)
	case HTTP:
		s = l.URL
	}
	if l.Name != "" {
		s = l.Name + " = " + s
	}
	return s
}

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)
	schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]{0,15}$`)
)

// ValidName reports whether name can name a target: letters, digits, '-'
// and '_', starting with a letter or digit (so that it can never be
// mistaken for a path or URL).
func ValidName(name string) bool { return nameRE.MatchString(name) }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidSpec}, args...)...)
}

// KeyError names the key of a [target.NAME] table that an error of Check
// (or of Parse, given a configured name) is about, so that the reader of
// the configuration file can point at its line. Find it with errors.As;
// the error wrapping it also wraps ErrInvalidSpec. (Errors about an
// s3:// URL may wrap one too, naming the part of the URL at fault.)
type KeyError struct {
	// Key is the key as the configuration file spells it ("path",
	// "access-key"), whether the table has it or lacks it; "" when the
	// fault is the table's name.
	Key string
	msg string
}

// Error is the problem, without the ErrInvalidSpec prefix.
func (e *KeyError) Error() string { return e.msg }

func invalidKey(key, format string, args ...any) error {
	return fmt.Errorf("%w: %w", ErrInvalidSpec, &KeyError{Key: key, msg: fmt.Sprintf(format, args...)})
}

// Check validates the named target t, with errors naming its keys as the
// configuration file spells them; every error wraps a KeyError.
func Check(name string, t Target) error {
	_, err := named(name, t, Config{})
	return err
}

// Parse interprets spec without opening anything; see the package
// documentation for the forms it takes. Errors wrap ErrInvalidSpec and
// never repeat credentials.
func Parse(spec string, cfg Config) (Location, error) {
	if spec == "" {
		return Location{}, invalid("empty target")
	}
	if t, ok := cfg.Targets[spec]; ok {
		return named(spec, t, cfg)
	}
	scheme, rest, hasScheme := strings.Cut(spec, "://")
	if hasScheme && !strings.ContainsAny(scheme, "/") {
		switch strings.ToLower(scheme) {
		case "file":
			return parseFile(spec)
		case "s3":
			return parseS3(rest, cfg)
		case "http", "https":
			if _, err := httpsrc.ParseURL(spec); err != nil {
				return Location{}, fmt.Errorf("%w: %w", ErrInvalidSpec, err)
			}
			return Location{Kind: HTTP, URL: spec}, nil
		}
		if schemeRE.MatchString(scheme) {
			return Location{}, invalid("unsupported scheme %q: want a directory, file://, s3://, http:// or https://", scheme)
		}
	}
	for _, s := range []string{"s3:", "file:", "http:", "https:"} {
		if strings.HasPrefix(strings.ToLower(spec), s) {
			return Location{}, invalid("%s target without '//': write %s//...", strings.TrimSuffix(s, ":"), s)
		}
	}
	return Location{Kind: FS, Path: spec}, nil
}

func parseFile(spec string) (Location, error) {
	u, err := url.Parse(spec)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Location{}, invalid("file URL: %v", err)
	}
	switch {
	case u.User != nil:
		return Location{}, invalid("file URL with user information")
	case u.Host != "" && u.Host != "localhost":
		return Location{}, invalid("file URL with host %q: only local directories (file:///path)", u.Host)
	case u.RawQuery != "" || u.Fragment != "":
		return Location{}, invalid("file URL with a query or fragment")
	case !strings.HasPrefix(u.Path, "/"):
		return Location{}, invalid("file URL without an absolute path: write file:///path")
	}
	return Location{Kind: FS, Path: u.Path}, nil
}

// credentialOptions are query options people might try for credentials;
// any option whose name contains one of these words is refused as such.
var credentialWords = []string{"key", "secret", "token", "password", "credential", "signature"}

const noCredentials = "credentials never go in a target URL (shell history, logs and process lists would show them): " +
	"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or access-key and secret-key in a [target.NAME] table"

func parseS3(rest string, cfg Config) (Location, error) {
	// Parsed by hand rather than with net/url, whose errors repeat the
	// whole URL, credentials and all.
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	if strings.Contains(rest, "@") || strings.Contains(query, "@") {
		return Location{}, invalid("s3 target with '@' in it: %s", noCredentials)
	}
	if strings.Contains(rest, "#") || strings.Contains(query, "#") {
		return Location{}, invalid("s3 target with a fragment ('#')")
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	c := cfg.S3
	c.Bucket = bucket
	p, err := url.PathUnescape(prefix)
	if err != nil {
		return Location{}, invalid("s3 target: prefix %q: invalid %%-escape", prefix)
	}
	c.Prefix = strings.Trim(p, "/")
	c.Endpoint = "s3.amazonaws.com"
	c.Secure = true
	c.PathStyle = false
	c.Region = ""
	seen := map[string]bool{}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return Location{}, invalid("s3 target: an option name has an invalid %%-escape")
		}
		lk := strings.ToLower(k)
		for _, w := range credentialWords {
			if strings.Contains(lk, w) {
				return Location{}, invalid("s3 target option %q: %s", k, noCredentials)
			}
		}
		if seen[k] {
			return Location{}, invalid("s3 target: option %q given twice", k)
		}
		seen[k] = true
		v, err = url.QueryUnescape(v)
		if err != nil {
			return Location{}, invalid("s3 target: option %s: invalid %%-escape", k)
		}
		switch k {
		case "endpoint":
			c.Endpoint = v
		case "region":
			c.Region = v
		case "path-style":
			c.PathStyle, err = parseBool(k, v)
		case "tls":
			c.Secure, err = parseBool(k, v)
		default:
			return Location{}, invalid("s3 target: unknown option %q (want endpoint, region, path-style or tls)", k)
		}
		if err != nil {
			return Location{}, err
		}
	}
	if err := checkS3(c, "s3 target", "endpoint", "region", "prefix"); err != nil {
		return Location{}, err
	}
	return Location{Kind: S3, S3: c}, nil
}

func parseBool(k, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, invalid("s3 target: option %s=%q: want 1 or 0 (true or false)", k, v)
	}
	return b, nil
}

var (
	bucketRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$`)
	regionRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	hostRE   = regexp.MustCompile(`^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?$`)
)

// checkS3 validates the location fields of c; what names the place and
// the endpoint, region and prefix keys in messages.
func checkS3(c s3.Config, what, endpointKey, regionKey, prefixKey string) error {
	switch {
	case c.Bucket == "":
		return invalidKey("bucket", "%s: no bucket", what)
	case !bucketRE.MatchString(c.Bucket) || strings.Contains(c.Bucket, ".."):
		// The name is not repeated: a mangled URL may have put
		// credentials there.
		return invalidKey("bucket", "%s: invalid bucket name (%d characters; want 3 to 63 letters, digits, '.', '-' or '_', starting and ending with a letter or digit)", what, len(c.Bucket))
	case c.Endpoint == "":
		return invalidKey(endpointKey, "%s: empty %s", what, endpointKey)
	case strings.Contains(c.Endpoint, "://"):
		return invalidKey(endpointKey, "%s: %s %q: give HOST[:PORT] without a scheme (tls chooses HTTPS or HTTP)", what, endpointKey, c.Endpoint)
	case !hostRE.MatchString(c.Endpoint):
		return invalidKey(endpointKey, "%s: %s %q is not HOST[:PORT]", what, endpointKey, c.Endpoint)
	case c.Region != "" && !regionRE.MatchString(c.Region):
		return invalidKey(regionKey, "%s: %s %q is not a region name", what, regionKey, c.Region)
	}
	if c.Prefix != "" {
		if err := storage.ValidKey(strings.Trim(c.Prefix, "/")); err != nil {
			return invalidKey(prefixKey, "%s: %s %q: not a valid key prefix (empty, '.' or '..' elements)", what, prefixKey, c.Prefix)
		}
	}
	return nil
}

// named resolves the [target.NAME] table t.
func named(name string, t Target, cfg Config) (Location, error) {
	what := "[target." + name + "]"
	if !ValidName(name) {
		return Location{}, invalidKey("", "%s: a target name is letters, digits, '-' and '_', starting with a letter or digit", what)
	}
	// Keys that do not belong to the type are errors, not silently
	// ignored: a half-converted table is a mistake.
	unused := func(keys map[string]bool) error {
		for _, k := range []string{"path", "endpoint", "region", "bucket", "prefix", "path-style", "tls", "access-key", "secret-key"} {
			if keys[k] {
				return invalidKey(k, "%s: key %s does not apply to type %q", what, k, t.Type)
			}
		}
		return nil
	}
	switch t.Type {
	case "fs":
		if err := unused(map[string]bool{
			"endpoint": t.Endpoint != "", "region": t.Region != "", "bucket": t.Bucket != "", "prefix": t.Prefix != "",
			"path-style": t.PathStyle != nil, "tls": t.TLS != nil, "access-key": t.AccessKey != "", "secret-key": t.SecretKey != "",
		}); err != nil {
			return Location{}, err
		}
		if t.Path == "" {
			return Location{}, invalidKey("path", "%s: type \"fs\" needs path", what)
		}
		if !strings.HasPrefix(t.Path, "/") {
			return Location{}, invalidKey("path", "%s: path %q is not absolute", what, t.Path)
		}
		return Location{Kind: FS, Name: name, Path: t.Path}, nil
	case "s3":
		if err := unused(map[string]bool{"path": t.Path != ""}); err != nil {
			return Location{}, err
		}
		c := cfg.S3
		c.Endpoint, c.Region, c.Bucket, c.Prefix = t.Endpoint, t.Region, t.Bucket, strings.Trim(t.Prefix, "/")
		if c.Endpoint == "" {
			c.Endpoint = "s3.amazonaws.com"
		}
		c.PathStyle = t.PathStyle != nil && *t.PathStyle
		c.Secure = t.TLS == nil || *t.TLS
		if (t.AccessKey == "") != (t.SecretKey == "") {
			given := "access-key"
			if t.AccessKey == "" {
				given = "secret-key"
			}
			return Location{}, invalidKey(given, "%s: give both access-key and secret-key, or neither (to use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", what)
		}
		if t.AccessKey != "" {
			c.AccessKey, c.SecretKey = t.AccessKey, t.SecretKey
		}
		if err := checkS3(c, what, "endpoint", "region", "prefix"); err != nil {
			return Location{}, err
		}
		return Location{Kind: S3, Name: name, S3: c}, nil
	case "":
		return Location{}, invalidKey("type", "%s: no type (want \"fs\" or \"s3\")", what)
	}
	return Location{}, invalidKey("type", "%s: type %q: want \"fs\" or \"s3\"", what, t.Type)
}

// Open parses spec and returns its backend. For an fs target the
// directory is created unless cfg.MustExist; an s3 target's bucket must
// exist (Open asks the server); an http target makes no request.
func Open(ctx context.Context, spec string, cfg Config) (storage.Backend, error) {
	loc, err := Parse(spec, cfg)
	if err != nil {
		return nil, err
	}
	return OpenLocation(ctx, loc, cfg)
}

// OpenLocation returns the backend of a parsed spec.
func OpenLocation(ctx context.Context, loc Location, cfg Config) (storage.Backend, error) {
	var (
		b   storage.Backend
		err error
	)
	switch loc.Kind {
	case FS:
		if cfg.MustExist {
			if err := checkDir(loc); err != nil {
				return nil, err
			}
		}
		return fs.New(loc.Path)
	case S3:
		b, err = s3.New(ctx, loc.S3)
	case HTTP:
		hc := cfg.HTTP
		hc.URL = loc.URL
		b, err = httpsrc.New(hc)
	default:
		return nil, fmt.Errorf("target: unknown kind %q", loc.Kind)
	}
	if err != nil {
		return nil, err
	}
	if cfg.NoRetry {
		return b, nil
	}
	log := cfg.Log
	if log == nil {
		l := logrus.New()
		l.Out = io.Discard
		log = l
	}
	return retry.New(b, cfg.Retry, log.WithField("target", loc.String())), nil
}

func checkDir(loc Location) error {
	fi, err := os.Stat(loc.Path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		hint := ""
		if loc.Name == "" && ValidName(loc.Path) {
			hint = fmt.Sprintf(", and the configuration has no [target.%s]", loc.Path)
		}
		return fmt.Errorf("target %s: no such directory%s: %w", loc.Path, hint, storage.ErrNotExist)
	case err != nil:
		return fmt.Errorf("target: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("target %s: not a directory", loc.Path)
	}
	return nil
}
