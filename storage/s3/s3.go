// Package s3 is the storage.Backend of an S3-compatible bucket (AWS S3,
// MinIO, Ceph RGW ...), on minio-go.
//
// Objects are stored under Config.Prefix in the bucket. Each object keeps
// the Content-Type and Cache-Control given to Put (an S3 origin serves
// them), and the SHA-256 in the user metadata x-amz-meta-sha256, which
// Stat reports without downloading the object. Content-Encoding is never
// set: compressed repodata is served as the file it is.
//
// Objects above Config.PartSize are uploaded in parts, Config.Concurrency
// at a time per object; a failed multipart upload is aborted. S3 PUTs
// replace objects atomically and S3 is strongly read-after-write
// consistent, which gives the storage.Backend contracts.
//
// The backend does not retry: minio-go's own retries are switched off
// so that the storage/retry decorator, stacked over this backend, is the
// one place retries happen. Errors classify themselves for it (a method
// Retryable() bool).
//
// Keys must also be valid UTF-8 (S3 object names are); List does not
// report objects whose names are not valid keys (such as "dir/" markers).
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/rpmirror/rpmirror/storage"
)

// Secret is a credential. It formats as "REDACTED" with every fmt verb,
// and marshals (JSON, TOML, YAML, logrus fields) as "REDACTED", so that
// logging a Config never leaks it. Use string(s) where the value itself
// is needed.
type Secret string

const redacted = "REDACTED"

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("s3.Secret(%q)", s.String()) }

// Format implements fmt.Formatter, so that no verb (%x, %d ...) prints
// the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Config locates a bucket and says how to talk to it.
type Config struct {
	// Endpoint is host[:port] of the S3 API, without a scheme:
	// "s3.eu-west-1.amazonaws.com", "127.0.0.1:9000".
	Endpoint string
	// Region of the bucket; "" asks the server (one request more).
	Region string
	Bucket string
	// Prefix is prepended to every key: "el9" or "el9/" store
	// "repodata/repomd.xml" as "el9/repodata/repomd.xml". "" stores keys
	// at the top of the bucket.
	Prefix string
	// Secure uses HTTPS (the default).
	Secure bool
	// PathStyle addresses the bucket as https://endpoint/bucket/key;
	// otherwise minio-go chooses (virtual-host style on AWS, path style
	// for IP addresses and most other servers).
	PathStyle bool
	// AccessKey and SecretKey authenticate requests. When both are empty,
	// the standard AWS environment variables are used:
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	AccessKey string
	SecretKey Secret
	// PartSize is the size of the parts of a multipart upload; objects up
	// to it are uploaded in a single PUT. At least 5 MiB (S3's minimum).
	PartSize int64
	// Concurrency is the number of parts of one object uploaded at once.
	Concurrency int
}

// DefaultConfig returns a Config with HTTPS, 16 MiB parts and 4 parts in
// flight per object; the caller fills in Endpoint, Bucket and the rest.
func DefaultConfig() Config {
	return Config{Secure: true, PartSize: 16 << 20, Concurrency: 4}
}

const minPartSize = 5 << 20

// Backend stores objects in an S3 bucket.
type Backend struct {
	client *minio.Client
	cfg    Config
	prefix string // cfg.Prefix, normalised to "" or "p/"
}

var (
	_ storage.Backend           = (*Backend)(nil)
	_ storage.ConditionalPutter = (*Backend)(nil)
)

// New connects to the bucket cfg describes and checks that it exists.
// Zero PartSize and Concurrency take their DefaultConfig values.
func New(ctx context.Context, cfg Config) (*Backend, error) {
	def := DefaultConfig()
	if cfg.PartSize == 0 {
		cfg.PartSize = def.PartSize
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = def.Concurrency
	}
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("s3: no endpoint")
	case strings.Contains(cfg.Endpoint, "://"):
		return nil, fmt.Errorf("s3: endpoint %q: give host[:port] without a scheme (Secure chooses HTTPS)", cfg.Endpoint)
	case cfg.Bucket == "":
		return nil, errors.New("s3: no bucket")
	case cfg.PartSize < minPartSize:
		return nil, fmt.Errorf("s3: part size %d is below S3's minimum of 5 MiB", cfg.PartSize)
	case cfg.Concurrency < 1:
		return nil, fmt.Errorf("s3: concurrency %d is below 1", cfg.Concurrency)
	case (cfg.AccessKey == "") != (cfg.SecretKey == ""):
		return nil, errors.New("s3: give both the access key and the secret key, or neither (to use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := storage.ValidKey(prefix); err != nil || !utf8.ValidString(prefix) {
			return nil, fmt.Errorf("s3: invalid prefix %q", cfg.Prefix)
		}
		prefix += "/"
	}

	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, string(cfg.SecretKey), "")
	} else {
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}})
	}
	v, err := creds.GetWithContext(&credentials.CredContext{})
	if err != nil {
		return nil, fmt.Errorf("s3: credentials: %w", err)
	}
	if v.SignerType.IsAnonymous() {
		return nil, errors.New("s3: no credentials: set the access and secret keys in the configuration, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}

	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	transport, err := minio.DefaultTransport(cfg.Secure)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	// Connections per host: enough for every part in flight of a few
	// concurrent uploads.
	transport.MaxIdleConnsPerHost = max(transport.MaxIdleConnsPerHost, 4*cfg.Concurrency)
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        creds,
		Secure:       cfg.Secure,
		Transport:    transport,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   1, // storage/retry retries
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	b := &Backend{client: client, cfg: cfg, prefix: prefix}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, b.wrap(ctx, "check bucket", "", err)
	}
	if !ok {
		return nil, fmt.Errorf("s3: bucket %q does not exist at %s", cfg.Bucket, b.endpointURL())
	}
	return b, nil
}

func (b *Backend) endpointURL() string {
	scheme := "http"
	if b.cfg.Secure {
		scheme = "https"
	}
	return scheme + "://" + b.cfg.Endpoint
}

// String describes the backend for logs (no credentials).
func (b *Backend) String() string {
	return fmt.Sprintf("s3:%s/%s/%s", b.endpointURL(), b.cfg.Bucket, b.prefix)
}

// object returns the object name of key, or an error wrapping
// storage.ErrInvalidKey.
func (b *Backend) object(key string) (string, error) {
	if err := storage.ValidKey(key); err != nil {
		return "", fmt.Errorf("s3: %w", err)
	}
	if !utf8.ValidString(key) {
		return "", fmt.Errorf("s3: %w %q: not valid UTF-8", storage.ErrInvalidKey, key)
	}
	return b.prefix + key, nil
}

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	return b.put(ctx, "put", key, r, size, opt, false)
}

// PutIfAbsent implements storage.ConditionalPutter with a PUT carrying
// If-None-Match: * (AWS S3 since 2024, MinIO), always in a single request:
// the condition of a multipart upload is only checked when it completes.
// Objects are therefore limited to S3's 5 GiB single-PUT maximum, far
// above what locks need.
func (b *Backend) PutIfAbsent(ctx context.Context, key string, r io.ReadSeeker, size int64, opt storage.PutOptions) error {
	return b.put(ctx, "put-if-absent", key, r, size, opt, true)
}

func (b *Backend) put(ctx context.Context, op, key string, r io.ReadSeeker, size int64, opt storage.PutOptions, exclusive bool) error {
	name, err := b.object(key)
	if err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("s3: %s %s: negative size %d", op, key, size)
	}
	if opt.SHA256 != "" && !validSHA256(opt.SHA256) {
		return fmt.Errorf("s3: %s %s: SHA256 %q is not 64 lower-case hex digits", op, key, opt.SHA256)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: %s %s: %w", op, key, err)
	}
	// The length is checked before uploading: S3 would store the first
	// size bytes of a longer reader without complaint.
	if err := checkSize(r, size); err != nil {
		return fmt.Errorf("s3: %s %s: %w", op, key, err)
	}
	var body io.Reader = r
	if ra, ok := r.(io.ReaderAt); ok {
		// minio-go uploads the parts of a ReaderAt in parallel, without
		// buffering them.
		body = io.NewSectionReader(ra, 0, size)
	}
	po := minio.PutObjectOptions{
		ContentType:  opt.ContentType,
		CacheControl: opt.CacheControl,
		PartSize:     uint64(b.cfg.PartSize),
		NumThreads:   uint(b.cfg.Concurrency),
	}
	if opt.SHA256 != "" {
		po.UserMetadata = map[string]string{metaSHA256: opt.SHA256}
	}
	if exclusive {
		po.SetMatchETagExcept("*")
		po.DisableMultipart = true
	}
	// minio-go's part uploaders give up on the caller's context only; a
	// context of our own, cancelled on return, stops all of them.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err = b.client.PutObject(ctx, b.cfg.Bucket, name, body, size, po)
	if err == nil {
		return nil
	}
	if exclusive && isPreconditionFailed(err) {
		return fmt.Errorf("s3: %s %s: %w", op, key, storage.ErrExist)
	}
	// A reader that shrank during the upload made it fail.
	if serr := checkSize(r, size); errors.Is(serr, storage.ErrSizeMismatch) && ctx.Err() == nil {
		return fmt.Errorf("s3: %s %s: %w", op, key, serr)
	}
	return b.wrap(ctx, op, key, err)
}

// checkSize checks that r holds size bytes and rewinds it.
func checkSize(r io.Seeker, size int64) error {
	end, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("seek to end: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("seek to start: %w", err)
	}
	if end != size {
		return fmt.Errorf("%w: content has %d bytes, want %d", storage.ErrSizeMismatch, end, size)
	}
	return nil
}

// metaSHA256 is the user metadata key of the content's SHA-256, sent as
// the header x-amz-meta-sha256.
const metaSHA256 = "sha256"

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Open implements storage.Backend. The request is made before Open
// returns, so a missing object is reported by Open, not by the first Read.
func (b *Backend) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	name, err := b.object(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("s3: open %s: %w", key, err)
	}
	core := minio.Core{Client: b.client}
	body, info, _, err := core.GetObject(ctx, b.cfg.Bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, b.wrap(ctx, "open", key, err)
	}
	return &objectReader{rc: body, remaining: info.Size, key: key}, nil
}

// objectReader turns a body shorter than the object's size into an
// error, whatever the HTTP layer made of it.
type objectReader struct {
	rc        io.ReadCloser
	remaining int64
	key       string
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.rc.Read(p)
	o.remaining -= int64(n)
	switch {
	case err == io.EOF && o.remaining > 0:
		return n, fmt.Errorf("s3: read %s: %w (%d bytes missing)", o.key, io.ErrUnexpectedEOF, o.remaining)
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("s3: read %s: %w", o.key, err)
	}
	return n, err
}

func (o *objectReader) Close() error { return o.rc.Close() }

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, key string) (storage.Object, error) {
	name, err := b.object(key)
	if err != nil {
		return storage.Object{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Object{}, fmt.Errorf("s3: stat %s: %w", key, err)
	}
	info, err := b.client.StatObject(ctx, b.cfg.Bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return storage.Object{}, b.wrap(ctx, "stat", key, err)
	}
	o := storage.Object{
		Key:          key,
		Size:         info.Size,
		ModTime:      info.LastModified,
		ContentType:  info.ContentType,
		CacheControl: info.Metadata.Get("Cache-Control"),
	}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, metaSHA256) && validSHA256(v) {
			o.SHA256 = v
		}
	}
	return o, nil
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, key string) error {
	name, err := b.object(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: delete %s: %w", key, err)
	}
	err = b.client.RemoveObject(ctx, b.cfg.Bucket, name, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return b.wrap(ctx, "delete", key, err)
	}
	return nil
}

// List implements storage.Backend. S3 lists keys in UTF-8 byte order, the
// lexical order the contract asks for. Listed objects carry no SHA256,
// ContentType or CacheControl (S3 listings do not return metadata); Stat
// has them.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: list %q: %w", prefix, err)
	}
	// No valid key can start with a prefix whose complete elements are
	// not a valid key, or that is not UTF-8.
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 && storage.ValidKey(prefix[:i]) != nil {
		return nil
	}
	if strings.ContainsAny(prefix, "\\\x00") || !utf8.ValidString(prefix) {
		return nil
	}
	// MinIO refuses a prefix ending in the element "." or "..", which
	// keys such as "..a" have: list from the parent and filter.
	query := prefix
	if last := prefix[strings.LastIndexByte(prefix, '/')+1:]; last == "." || last == ".." {
		query = prefix[:len(prefix)-len(last)]
	}
	// The iterator stops when the loop breaks; cancelling its context
	// also ends any request in flight.
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for info := range b.client.ListObjectsIter(lctx, b.cfg.Bucket, minio.ListObjectsOptions{
		Prefix:    b.prefix + query,
		Recursive: true,
	}) {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("s3: list %q: %w", prefix, err)
		}
		if info.Err != nil {
			return b.wrap(ctx, "list", prefix, info.Err)
		}
		key, ok := strings.CutPrefix(info.Key, b.prefix)
		if !ok || !strings.HasPrefix(key, prefix) || storage.ValidKey(key) != nil {
			continue
		}
		if err := fn(storage.Object{Key: key, Size: info.Size, ModTime: info.LastModified}); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: list %q: %w", prefix, err)
	}
	return nil
}
