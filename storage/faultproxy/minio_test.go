package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/sirupsen/logrus"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/faultproxy"
	"github.com/rpmirror/rpmirror/storage/retry"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
	"github.com/rpmirror/rpmirror/storage/storagetest"
	"github.com/rpmirror/rpmirror/storage/target"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

func minioServer(t *testing.T) *miniotest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	return miniotest.Shared(t)
}

// throughProxy returns an S3 backend for bucket/prefix whose requests
// go through p, without retries: each fault is seen as it is.
func throughProxy(t *testing.T, srv *miniotest.Server, p *faultproxy.Proxy, bucket, prefix string) storage.Backend {
	t.Helper()
	cfg := target.DefaultConfig()
	cfg.S3.AccessKey, cfg.S3.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
	cfg.S3.PartSize = 5 << 20
	cfg.NoRetry = true
	b, err := target.Open(context.Background(), p.S3Target(bucket, prefix, srv.Region), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withRetry(b storage.Backend) storage.Backend {
	log := logrus.New()
	log.Out = io.Discard
	return retry.New(b, retry.Options{InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond}, log)
}

// Through the proxy without rules, an S3 backend passes the whole
// conformance suite, multipart uploads and conditional PUTs included:
// the signed requests arrive intact.
func TestConformanceThroughProxy(t *testing.T) {
	srv := minioServer(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{Logf: func(string, ...any) {}})
	storagetest.Options{SHA256: true, HTTPHeaders: true, LargeSize: 12 << 20, AtomicSize: 6 << 20}.Run(t, func(t *testing.T) storage.Backend {
		return throughProxy(t, srv, p, srv.Bucket(t), "el9")
	})
	if p.Requests() == 0 || p.Injected() != 0 {
		t.Errorf("requests %d, injected %d", p.Requests(), p.Injected())
	}
}

// Why the proxy keeps the client's Host: a proxy that rewrites it to
// the upstream's (httputil.ReverseProxy with SetURL) breaks every SigV4
// signature.
func TestHostRewriteBreaksSigV4(t *testing.T) {
	srv := minioServer(t)
	bucket := srv.Bucket(t)
	up, _ := url.Parse("http://" + srv.Endpoint)
	rewriting := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(up) }})
	defer rewriting.Close()
	faulty := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{})

	for _, tc := range []struct {
		endpoint string
		ok       bool
	}{
		{strings.TrimPrefix(rewriting.URL, "http://"), false},
		{faulty.Endpoint(), true},
	} {
		client, err := minio.New(tc.endpoint, &minio.Options{
			Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: srv.Region, MaxRetries: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = client.PutObject(context.Background(), bucket, "k", strings.NewReader("v"), 1, minio.PutObjectOptions{})
		if tc.ok && err != nil {
			t.Errorf("through faultproxy: %v", err)
		}
		if !tc.ok && minio.ToErrorResponse(err).Code != "SignatureDoesNotMatch" {
			t.Errorf("through a Host-rewriting proxy: %v, want SignatureDoesNotMatch", err)
		}
	}
}

// Each kind of fault, as storage/s3 reports it and as storage/retry
// gets over it.
func TestFaultsThroughS3(t *testing.T) {
	srv := minioServer(t)
	ctx := context.Background()
	content := bytes.Repeat([]byte("rpm!"), 64<<10) // 256 KiB
	put := func(b storage.Backend, key string) error {
		return b.Put(ctx, key, bytes.NewReader(content), int64(len(content)), storage.PutOptions{})
	}
	read := func(b storage.Backend, key string) error {
		rc, err := b.Open(ctx, key)
		if err != nil {
			return err
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err == nil && !bytes.Equal(got, content) {
			err = fmt.Errorf("read %d bytes, not the content", len(got))
		}
		return err
	}
	stat := func(b storage.Backend, key string) error {
		o, err := b.Stat(ctx, key)
		if err == nil && o.Size != int64(len(content)) {
			err = fmt.Errorf("size %d", o.Size)
		}
		return err
	}

	for _, tc := range []struct {
		name string
		rule faultproxy.Rule
		op   func(b storage.Backend, key string) error
		// check the error of the bare backend
		check func(t *testing.T, err error)
		// stored: the object exists after the failed bare call
		stored bool
	}{
		{"reset PUT", faultproxy.Rule{Method: "PUT", Fault: faultproxy.ConnReset()}, put,
			func(t *testing.T, err error) {}, false},
		{"reset PUT after upstream", faultproxy.Rule{Method: "PUT", Fault: faultproxy.ConnReset().AfterUpstream()}, put,
			func(t *testing.T, err error) {}, true},
		{"503 PUT", faultproxy.Rule{Method: "PUT", Fault: faultproxy.HTTPError(503)}, put,
			func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "ServiceUnavailable (HTTP 503)") {
					t.Errorf("err = %v", err)
				}
			}, false},
		{"500 PUT after upstream", faultproxy.Rule{Method: "PUT", Fault: faultproxy.HTTPError(500).AfterUpstream()}, put,
			func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "InternalError (HTTP 500)") {
					t.Errorf("err = %v", err)
				}
			}, true},
		{"503 GET", faultproxy.Rule{Method: "GET", Fault: faultproxy.HTTPError(503)}, read,
			func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "ServiceUnavailable") {
					t.Errorf("err = %v", err)
				}
			}, true},
		{"503 HEAD", faultproxy.Rule{Method: "HEAD", Fault: faultproxy.HTTPError(503)}, stat,
			func(t *testing.T, err error) {}, true},
		{"reset GET", faultproxy.Rule{Method: "GET", Fault: faultproxy.ConnReset()}, read,
			func(t *testing.T, err error) {}, true},
		{"truncated GET", faultproxy.Rule{Method: "GET", Fault: faultproxy.TruncateBody(1000)}, read,
			func(t *testing.T, err error) {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
				}
			}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{})
			bucket := srv.Bucket(t)
			bare := throughProxy(t, srv, p, bucket, "el9")
			const key = "Packages/p.rpm"
			if tc.rule.Method != "PUT" {
				if err := put(bare, key); err != nil {
					t.Fatal(err)
				}
			}
			tc.rule.Name = "r"
			tc.rule.Times = 2
			p.Add(tc.rule)

			err := tc.op(bare, key)
			if err == nil {
				t.Fatal("no error through the fault")
			}
			if !retry.Retryable(err) {
				t.Errorf("%v is not retryable", err)
			}
			tc.check(t, err)
			if _, serr := srv.Client().StatObject(ctx, bucket, "el9/"+key, minio.StatObjectOptions{}); (serr == nil) != tc.stored {
				t.Errorf("object stored: %v, want %v", serr == nil, tc.stored)
			}
			// The second injection, then success. storage/retry retries
			// Open, not the reads after it: a truncated body is the
			// caller's to read again.
			if tc.rule.Fault.Kind == faultproxy.KindTruncate {
				if err := tc.op(bare, key); err == nil {
					t.Errorf("second read through the fault succeeded")
				}
			} else if err := tc.op(withRetry(bare), key); err != nil {
				t.Errorf("with retries: %v", err)
			}
			if p.InjectedRule("r") != 2 {
				t.Errorf("injected %d, want 2: %v", p.InjectedRule("r"), p.Events())
			}
			if err := read(bare, key); err != nil {
				t.Errorf("object after the retried call: %v", err)
			}
		})
	}
}

func TestSlowThroughS3(t *testing.T) {
	srv := minioServer(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{})
	b := throughProxy(t, srv, p, srv.Bucket(t), "")
	ctx := context.Background()
	if err := b.Put(ctx, "k", strings.NewReader("v"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Add(faultproxy.Rule{Method: "HEAD", Key: "k", Times: 1, Fault: faultproxy.Slow(500 * time.Millisecond)})
	start := time.Now()
	if _, err := b.Stat(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("Stat took %v through a 500ms delay", d)
	}
	// A delay longer than the caller waits: the caller's deadline ends it.
	p.Add(faultproxy.Rule{Method: "HEAD", Key: "k", Fault: faultproxy.Slow(time.Hour)})
	ctx2, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.Stat(ctx2, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stat through an hour's delay = %v, want DeadlineExceeded", err)
	}
	if p.InjectedKind(faultproxy.KindDelay) != 2 {
		t.Errorf("events %v", p.Events())
	}
}

// FailPut fails one object's upload, at once and for good; the rest go
// through.
func TestFailPut(t *testing.T) {
	srv := minioServer(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{})
	b := withRetry(throughProxy(t, srv, p, srv.Bucket(t), "el9"))
	ctx := context.Background()
	rule := faultproxy.FailPut("el9/repodata/repomd.xml")
	p.Add(rule)
	for _, key := range []string{"Packages/a.rpm", "repodata/repomd.xml", "repodata/repomd.xml.asc"} {
		err := b.Put(ctx, key, strings.NewReader("v"), 1, storage.PutOptions{})
		if (err != nil) != (key == "repodata/repomd.xml") {
			t.Errorf("Put(%s) = %v", key, err)
		}
		if err != nil && (retry.Retryable(err) || !strings.Contains(err.Error(), "AccessDenied")) {
			t.Errorf("Put(%s) = %v, want a final AccessDenied", key, err)
		}
	}
	// A big object goes multipart: every part of it fails.
	big := bytes.Repeat([]byte("x"), 11<<20)
	if err := b.Put(ctx, "repodata/repomd.xml", bytes.NewReader(big), int64(len(big)), storage.PutOptions{}); err == nil {
		t.Errorf("multipart Put succeeded")
	}
	if n := p.InjectedRule(rule.Name); n < 2 {
		t.Errorf("injected %d: %v", n, p.Events())
	}
}

// A multipart upload whose second part is reset is retried whole.
func TestMultipartPartReset(t *testing.T) {
	srv := minioServer(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{})
	bare := throughProxy(t, srv, p, srv.Bucket(t), "")
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 12<<16) // 12 MiB: three parts
	p.Add(faultproxy.Rule{Name: "part 2", Method: "PUT", Query: "partNumber=2", Times: 2, Fault: faultproxy.ConnReset()})
	if err := bare.Put(ctx, "big", bytes.NewReader(big), int64(len(big)), storage.PutOptions{}); err == nil {
		t.Fatal("Put succeeded through a reset part")
	}
	if _, err := bare.Stat(ctx, "big"); !errors.Is(err, storage.ErrNotExist) {
		t.Errorf("Stat after the failed upload = %v, want ErrNotExist", err)
	}
	if err := withRetry(bare).Put(ctx, "big", bytes.NewReader(big), int64(len(big)), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, err := bare.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, big) {
		t.Errorf("read %d bytes, %v", len(got), err)
	}
	if p.InjectedRule("part 2") != 2 {
		t.Errorf("events %v", p.Events())
	}
}

// The case a publish lock must handle: the conditional PUT that created
// the object loses its answer; the retry finds the object and reports
// ErrExist with retry.ErrUncertain.
func TestPutIfAbsentOutcomeLost(t *testing.T) {
	srv := minioServer(t)
	p := faultproxy.Start(t, srv.Endpoint, faultproxy.Options{})
	b := withRetry(throughProxy(t, srv, p, srv.Bucket(t), ""))
	cp, ok := b.(storage.ConditionalPutter)
	if !ok {
		t.Fatal("no PutIfAbsent")
	}
	p.Add(faultproxy.Rule{Method: "PUT", Key: "lock", Times: 1, Fault: faultproxy.ConnReset().AfterUpstream()})
	err := cp.PutIfAbsent(context.Background(), "lock", strings.NewReader("me"), 2, storage.PutOptions{})
	if !errors.Is(err, storage.ErrExist) || !errors.Is(err, retry.ErrUncertain) {
		t.Errorf("PutIfAbsent = %v, want ErrExist and ErrUncertain", err)
	}
}
