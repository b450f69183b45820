package verify_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
	"github.com/rpmirror/rpmirror/storage/target"
)

func minioServer(t *testing.T) *miniotest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	return miniotest.Shared(t)
}

// s3Writer returns a bare S3 backend for bucket/prefix: objects are
// uploaded with storage/s3 directly.
func s3Writer(t *testing.T, srv *miniotest.Server, bucket, prefix string) storage.Backend {
	t.Helper()
	cfg := s3.DefaultConfig()
	cfg.Endpoint, cfg.Region, cfg.Bucket, cfg.Prefix = srv.Endpoint, srv.Region, bucket, prefix
	cfg.Secure, cfg.PathStyle = false, true
	cfg.AccessKey, cfg.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
	b, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// s3Env verifies through the backend an admin's `rpmirror verify
// s3://...` gets: storage/target's, with retries.
func s3Env(srv *miniotest.Server) env {
	return env{"s3", func(t *testing.T, r *repo) (storage.Backend, storage.Backend) {
		bucket := srv.Bucket(t)
		w := s3Writer(t, srv, bucket, "el9/x86_64")
		r.upload(t, w)
		cfg := target.DefaultConfig()
		cfg.S3.AccessKey, cfg.S3.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
		b, err := target.Open(context.Background(),
			fmt.Sprintf("s3://%s/el9/x86_64?endpoint=%s&region=%s&path-style=1&tls=0", bucket, srv.Endpoint, srv.Region), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return w, b
	}}
}

// publicReadPolicy is what `mc anonymous set download` sets: anyone may
// read objects (and list, so that a missing key is a 404, not a 403).
const publicReadPolicy = `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::%[1]s"]},
{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%[1]s/*"]}]}`

// minioHTTPEnv verifies a bucket over plain anonymous HTTP, the way dnf
// hosts read an S3 origin.
func minioHTTPEnv(srv *miniotest.Server) env {
	return env{"minio-http", func(t *testing.T, r *repo) (storage.Backend, storage.Backend) {
		bucket := srv.Bucket(t)
		if err := srv.Client().SetBucketPolicy(context.Background(), bucket, fmt.Sprintf(publicReadPolicy, bucket)); err != nil {
			t.Fatal(err)
		}
		w := s3Writer(t, srv, bucket, "el9")
		r.upload(t, w)
		return w, httpBackend(t, fmt.Sprintf("http://%s/%s/el9/", srv.Endpoint, bucket))
	}}
}

func TestBreakagesS3(t *testing.T)        { runBreakages(t, s3Env(minioServer(t))) }
func TestBreakagesMinIOHTTP(t *testing.T) { runBreakages(t, minioHTTPEnv(minioServer(t))) }
