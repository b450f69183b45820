package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/retry"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
	"github.com/rpmirror/rpmirror/storage/storagetest"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

const partSize = 5 << 20 // S3's minimum, so that modest objects go multipart

func config(srv *miniotest.Server, bucket, prefix string) s3.Config {
	cfg := s3.DefaultConfig()
	cfg.Endpoint = srv.Endpoint
	cfg.Region = srv.Region
	cfg.Bucket = bucket
	cfg.Prefix = prefix
	cfg.Secure = false
	cfg.PathStyle = true
	cfg.AccessKey = srv.AccessKey
	cfg.SecretKey = s3.Secret(srv.SecretKey)
	cfg.PartSize = partSize
	cfg.Concurrency = 3
	return cfg
}

func server(t *testing.T) *miniotest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	return miniotest.Shared(t)
}

func newBackend(t *testing.T, srv *miniotest.Server, bucket, prefix string) *s3.Backend {
	t.Helper()
	b, err := s3.New(context.Background(), config(srv, bucket, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestConformance(t *testing.T) {
	srv := server(t)
	opt := storagetest.Options{SHA256: true, HTTPHeaders: true}
	t.Run("NoPrefix", func(t *testing.T) {
		opt.Run(t, func(t *testing.T) storage.Backend {
			return newBackend(t, srv, srv.Bucket(t), "")
		})
	})
	t.Run("Prefix", func(t *testing.T) {
		opt.Run(t, func(t *testing.T) storage.Backend {
			bucket := srv.Bucket(t)
			// Neighbours the backend must neither list nor touch.
			// (Not "repos/el9" itself: MinIO cannot hold an object that is
			// also the parent of others, like a file tree.)
			for _, name := range []string{"repos/el9-other/x", "repos/el9x", "repos/el", "other/x"} {
				_, err := srv.Client().PutObject(context.Background(), bucket, name, strings.NewReader("n"), 1, minio.PutObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				for _, name := range []string{"repos/el9-other/x", "repos/el9x", "repos/el", "other/x"} {
					if _, err := srv.Client().StatObject(context.Background(), bucket, name, minio.StatObjectOptions{}); err != nil {
						t.Errorf("object %s outside the prefix: %v", name, err)
					}
				}
			})
			return newBackend(t, srv, bucket, "repos/el9")
		})
	})
	t.Run("Retry", func(t *testing.T) {
		// The decorator changes nothing a backend guarantees.
		storagetest.Options{SHA256: true, HTTPHeaders: true, LargeSize: 12 << 20}.Run(t, func(t *testing.T) storage.Backend {
			return retry.New(newBackend(t, srv, srv.Bucket(t), "r"), retry.Options{}, logrus.New())
		})
	})
}

func TestPrefixNormalised(t *testing.T) {
	srv := server(t)
	bucket := srv.Bucket(t)
	for _, prefix := range []string{"el9", "el9/", "/el9/"} {
		b := newBackend(t, srv, bucket, prefix)
		if err := b.Put(context.Background(), "repodata/repomd.xml", strings.NewReader(prefix), int64(len(prefix)), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Client().StatObject(context.Background(), bucket, "el9/repodata/repomd.xml", minio.StatObjectOptions{}); err != nil {
			t.Errorf("prefix %q: object not at el9/repodata/repomd.xml: %v", prefix, err)
		}
	}
	for _, bad := range []string{"a//b", "../x", "a/./b"} {
		if _, err := s3.New(context.Background(), config(srv, bucket, bad)); err == nil {
			t.Errorf("New with prefix %q succeeded", bad)
		}
	}
}

// The SHA-256 is kept as x-amz-meta-sha256, visible to any S3 client, and
// only a well-formed one is reported.
func TestSHA256Metadata(t *testing.T) {
	srv := server(t)
	bucket := srv.Bucket(t)
	b := newBackend(t, srv, bucket, "")
	ctx := context.Background()
	content := []byte("package")
	if err := b.Put(ctx, "p.rpm", bytes.NewReader(content), int64(len(content)), storage.PutOptions{SHA256: sum(content)}); err != nil {
		t.Fatal(err)
	}
	info, err := srv.Client().StatObject(ctx, bucket, "p.rpm", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Metadata.Get("X-Amz-Meta-Sha256"); got != sum(content) {
		t.Errorf("x-amz-meta-sha256 = %q, want %q (headers %v)", got, sum(content), info.Metadata)
	}
	if o, err := b.Stat(ctx, "p.rpm"); err != nil || o.SHA256 != sum(content) {
		t.Errorf("Stat = %+v, %v", o, err)
	}
	// Objects written by other tools: without the metadata, or with a
	// malformed value.
	for name, meta := range map[string]map[string]string{
		"plain":   nil,
		"garbage": {"sha256": "not a digest"},
		"upper":   {"sha256": strings.ToUpper(sum(content))},
	} {
		if _, err := srv.Client().PutObject(ctx, bucket, name, bytes.NewReader(content), int64(len(content)), minio.PutObjectOptions{UserMetadata: meta}); err != nil {
			t.Fatal(err)
		}
		if o, err := b.Stat(ctx, name); err != nil || o.SHA256 != "" {
			t.Errorf("Stat(%s) = %+v, %v; want SHA256 \"\"", name, o, err)
		}
	}
	if err := b.Put(ctx, "bad", bytes.NewReader(content), int64(len(content)), storage.PutOptions{SHA256: "xyz"}); err == nil {
		t.Error("Put with a malformed SHA256 succeeded")
	}
}

// What an anonymous client (dnf behind a CDN) gets for a published
// object: the Content-Type and Cache-Control given to Put, and never a
// Content-Encoding, for single and multipart uploads alike.
func TestServedHeaders(t *testing.T) {
	srv := server(t)
	bucket := srv.Bucket(t)
	b := newBackend(t, srv, bucket, "pub")
	ctx := context.Background()
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket)
	if err := srv.Client().SetBucketPolicy(ctx, bucket, policy); err != nil {
		t.Fatalf("set public-read policy: %v", err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), (partSize*2+12345)/16)
	for _, tc := range []struct {
		key     string
		content []byte
		opt     storage.PutOptions
	}{
		{"repodata/repomd.xml", []byte("<repomd/>"), storage.PutOptions{ContentType: "text/xml", CacheControl: "no-cache"}},
		{"repodata/abc-primary.xml.gz", []byte("\x1f\x8b\x08\x00gzip bytes"), storage.PutOptions{ContentType: "application/gzip", CacheControl: "public, max-age=31536000, immutable"}},
		{"repodata/abc-primary.xml.zst", []byte("\x28\xb5\x2f\xfdzstd"), storage.PutOptions{ContentType: "application/zstd", CacheControl: "public, max-age=31536000, immutable"}},
		{"Packages/b/big-1.0-1.x86_64.rpm", big, storage.PutOptions{ContentType: "application/x-rpm", CacheControl: "public, max-age=3600", SHA256: sum(big)}},
		{"plain", []byte("no headers given"), storage.PutOptions{}},
	} {
		if err := b.Put(ctx, tc.key, bytes.NewReader(tc.content), int64(len(tc.content)), tc.opt); err != nil {
			t.Fatal(err)
		}
		url := "http://" + srv.Endpoint + "/" + bucket + "/pub/" + tc.key
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, err := http.NewRequestWithContext(ctx, method, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Asking for gzip ourselves keeps net/http from decoding a
			// gzip response silently, so a Content-Encoding would show.
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %s\n%s", method, tc.key, resp.Status, body)
			}
			wantType := tc.opt.ContentType
			if wantType == "" {
				wantType = "application/octet-stream"
			}
			if got := resp.Header.Get("Content-Type"); got != wantType {
				t.Errorf("%s %s: Content-Type %q, want %q", method, tc.key, got, wantType)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.opt.CacheControl {
				t.Errorf("%s %s: Cache-Control %q, want %q", method, tc.key, got, tc.opt.CacheControl)
			}
			if got, ok := resp.Header["Content-Encoding"]; ok {
				t.Errorf("%s %s: Content-Encoding %q, want none", method, tc.key, got)
			}
			if resp.ContentLength != int64(len(tc.content)) {
				t.Errorf("%s %s: Content-Length %d, want %d", method, tc.key, resp.ContentLength, len(tc.content))
			}
			if method == http.MethodGet && !bytes.Equal(body, tc.content) {
				t.Errorf("GET %s: body differs", tc.key)
			}
		}
	}
	// The big object was uploaded in parts: its ETag says how many.
	info, err := srv.Client().StatObject(ctx, bucket, "pub/Packages/b/big-1.0-1.x86_64.rpm", minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Errorf("ETag %q: want a multipart ETag of 3 parts", info.ETag)
	}
}

func TestBucketMissing(t *testing.T) {
	srv := server(t)
	_, err := s3.New(context.Background(), config(srv, "no-such-bucket-here", ""))
	if err == nil {
		t.Fatal("New of a missing bucket succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, `"no-such-bucket-here"`) || !strings.Contains(msg, "does not exist") || !strings.Contains(msg, srv.Endpoint) {
		t.Errorf("error %q does not name the bucket, the endpoint and the problem", msg)
	}
}

func TestConfigErrors(t *testing.T) {
	good := s3.Config{Endpoint: "127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s"}
	for name, mod := range map[string]func(*s3.Config){
		"no endpoint":      func(c *s3.Config) { c.Endpoint = "" },
		"scheme":           func(c *s3.Config) { c.Endpoint = "https://s3.example.com" },
		"no bucket":        func(c *s3.Config) { c.Bucket = "" },
		"small parts":      func(c *s3.Config) { c.PartSize = 1 << 20 },
		"concurrency":      func(c *s3.Config) { c.Concurrency = -1 },
		"access key only":  func(c *s3.Config) { c.SecretKey = "" },
		"secret key only":  func(c *s3.Config) { c.AccessKey = "" },
		"invalid prefix":   func(c *s3.Config) { c.Prefix = "a/../b" },
		"invalid bucket":   func(c *s3.Config) { c.Bucket = "Not_A_Bucket" },
		"prefix with NUL":  func(c *s3.Config) { c.Prefix = "a\x00" },
		"prefix not UTF-8": func(c *s3.Config) { c.Prefix = "\xff" },
	} {
		cfg := good
		mod(&cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := s3.New(ctx, cfg)
		cancel()
		if err == nil {
			t.Errorf("%s: New succeeded", name)
		} else if strings.Contains(err.Error(), "connection refused") && name != "invalid bucket" {
			t.Errorf("%s: New tried to connect before rejecting the configuration: %v", name, err)
		}
	}
}

func TestEnvironmentCredentials(t *testing.T) {
	srv := server(t)
	bucket := srv.Bucket(t)
	cfg := config(srv, bucket, "")
	cfg.AccessKey, cfg.SecretKey = "", ""
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	b, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New with credentials from the environment: %v", err)
	}
	if err := b.Put(context.Background(), "k", strings.NewReader("v"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_ACCESS_KEY", "")
	t.Setenv("AWS_SECRET_KEY", "")
	_, err = s3.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("New without any credentials: %v, want an error naming the variables", err)
	}
}

// The secret key appears in no formatting of the configuration and no
// log line.
func TestSecretFormatting(t *testing.T) {
	secret := "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	cfg := s3.DefaultConfig()
	cfg.Endpoint, cfg.Bucket, cfg.AccessKey, cfg.SecretKey = "s3.example.com", "bucket", "AKIDEXAMPLE", s3.Secret(secret)
	checkNotShown(t, secret, formatted(t, cfg))
	if !strings.Contains(fmt.Sprintf("%v", cfg), "REDACTED") {
		t.Errorf("%%v of the config does not show REDACTED: %v", cfg)
	}
	if s3.Secret("").String() != "" {
		t.Error("an empty secret formats as non-empty (it would hide a missing key)")
	}
}

func formatted(t *testing.T, cfg s3.Config) []string {
	var shown []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T", "%10.3s"} {
		shown = append(shown, fmt.Sprintf(f, cfg), fmt.Sprintf(f, cfg.SecretKey), fmt.Sprintf(f, &cfg))
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, string(js), cfg.SecretKey.String())
	var logs bytes.Buffer
	for _, formatter := range []logrus.Formatter{&logrus.TextFormatter{DisableColors: true}, &logrus.JSONFormatter{}} {
		log := logrus.New()
		log.Out = &logs
		log.Formatter = formatter
		log.WithField("s3", cfg).WithField("secret", cfg.SecretKey).Info("configured")
	}
	return append(shown, logs.String())
}

func checkNotShown(t *testing.T, secret string, shown []string) {
	t.Helper()
	hexSecret := hex.EncodeToString([]byte(secret))
	for _, s := range shown {
		if strings.Contains(s, secret) || strings.Contains(strings.ToLower(s), hexSecret) {
			t.Errorf("secret shown in %q", s)
		}
	}
}

// Nor does it appear in errors of requests signed with it.
func TestSecretNotInErrors(t *testing.T) {
	srv := server(t)
	bucket := srv.Bucket(t)
	cfg := config(srv, bucket, "")
	secret := srv.SecretKey
	shown := formatted(t, cfg)

	b := newBackend(t, srv, bucket, "")
	shown = append(shown, b.String(), fmt.Sprintf("%v %+v", b, b))

	// Errors of requests signed with the secret: a wrong secret (the
	// server's answer may echo what was signed), a missing object, a
	// refused connection.
	wrong := cfg
	wrong.SecretKey = s3.Secret(secret[:len(secret)-2] + "zz")
	_, err := s3.New(context.Background(), wrong)
	if err == nil {
		t.Fatal("New with a wrong secret key succeeded")
	}
	shown = append(shown, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	_, err = b.Stat(context.Background(), "missing")
	shown = append(shown, err.Error(), fmt.Sprintf("%+v %#v", err, err))
	closed := cfg
	closed.Endpoint = closedPort(t)
	_, err = s3.New(context.Background(), closed)
	shown = append(shown, err.Error(), fmt.Sprintf("%+v %#v", err, err))

	checkNotShown(t, secret, shown)
}

// closedPort returns 127.0.0.1:port where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// proxy forwards 127.0.0.1 connections to target until Close, which also
// cuts the connections in flight: the server "goes away".
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(u, c); u.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) Addr() string { return p.l.Addr().String() }

func (p *proxy) Close() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// A server that goes away gives retryable errors; the retry decorator
// tries MaxAttempts times and returns the last error.
func TestServerGone(t *testing.T) {
	srv := server(t)
	ctx := context.Background()

	_, err := s3.New(ctx, config(srv, srv.Bucket(t), "")) // warm-up: the bucket exists
	if err != nil {
		t.Fatal(err)
	}
	closed := config(srv, "bucket", "")
	closed.Endpoint = closedPort(t)
	_, err = s3.New(ctx, closed)
	if err == nil || !retry.Retryable(err) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("New against a closed port: %v (retryable %v), want a retryable connection refused", err, retry.Retryable(err))
	}

	p := newProxy(t, srv.Endpoint)
	cfg := config(srv, srv.Bucket(t), "")
	cfg.Endpoint = p.Addr()
	b, err := s3.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k", strings.NewReader("v"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Close()

	for name, op := range map[string]func(storage.Backend) error{
		"put":    func(b storage.Backend) error { return b.Put(ctx, "k", strings.NewReader("w"), 1, storage.PutOptions{}) },
		"stat":   func(b storage.Backend) error { _, err := b.Stat(ctx, "k"); return err },
		"open":   func(b storage.Backend) error { _, err := b.Open(ctx, "k"); return err },
		"delete": func(b storage.Backend) error { return b.Delete(ctx, "k") },
		"list":   func(b storage.Backend) error { return b.List(ctx, "", func(storage.Object) error { return nil }) },
		"put-if-absent": func(b storage.Backend) error {
			return b.(storage.ConditionalPutter).PutIfAbsent(ctx, "k2", strings.NewReader("w"), 1, storage.PutOptions{})
		},
	} {
		err := op(b)
		if err == nil || !retry.Retryable(err) {
			t.Errorf("%s with the server gone: %v (retryable %v), want a retryable error", name, err, retry.Retryable(err))
			continue
		}
		if errors.Is(err, storage.ErrNotExist) || errors.Is(err, storage.ErrExist) {
			t.Errorf("%s with the server gone: %v claims to know the object", name, err)
		}

		log, hook := logtest.NewNullLogger()
		rb := retry.New(b, retry.Options{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}, log)
		start := time.Now()
		err = op(rb)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "after 3 attempts") {
			t.Errorf("%s through retry: %v, want the last connection refused after 3 attempts", name, err)
		}
		if n := len(hook.AllEntries()); n != 2 {
			t.Errorf("%s through retry: %d retries logged, want 2", name, n)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s through retry took %v", name, d)
		}
	}
}

// Open makes its request before returning, so a missing object is an
// error of Open; a missing bucket is not a missing object.
func TestOpenReportsMissingAtOpen(t *testing.T) {
	srv := server(t)
	bucket := srv.Bucket(t)
	b := newBackend(t, srv, bucket, "")
	ctx := context.Background()
	rc, err := b.Open(ctx, "missing")
	if !errors.Is(err, storage.ErrNotExist) || rc != nil {
		t.Fatalf("Open of a missing object: %v, %v", rc, err)
	}
	if !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("error %q does not carry the S3 code", err)
	}
	if err := srv.Client().RemoveBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "k"); err == nil || errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat in a removed bucket: %v, want an error other than ErrNotExist", err)
	}
	if _, err := b.Open(ctx, "k"); err == nil || errors.Is(err, storage.ErrNotExist) || !strings.Contains(err.Error(), "NoSuchBucket") {
		t.Errorf("Open in a removed bucket: %v, want NoSuchBucket, not ErrNotExist", err)
	}
}
