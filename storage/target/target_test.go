package target_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/s3"
	"github.com/rpmirror/rpmirror/storage/s3/miniotest"
	"github.com/rpmirror/rpmirror/storage/target"
)

func TestMain(m *testing.M) { miniotest.Main(m) }

func ptr[T any](v T) *T { return &v }

func s3cfg(endpoint, region, bucket, prefix string, secure, pathStyle bool) s3.Config {
	c := s3.DefaultConfig()
	c.Endpoint, c.Region, c.Bucket, c.Prefix, c.Secure, c.PathStyle = endpoint, region, bucket, prefix, secure, pathStyle
	return c
}

func TestParse(t *testing.T) {
	cfg := target.DefaultConfig()
	cfg.Targets = map[string]target.Target{
		"local": {Type: "fs", Path: "/srv/repo"},
		"prod": {Type: "s3", Endpoint: "s3.eu-west-1.amazonaws.com", Region: "eu-west-1", Bucket: "repos",
			Prefix: "/el9/", PathStyle: ptr(true)},
		"minio": {Type: "s3", Endpoint: "127.0.0.1:9000", Bucket: "bkt", TLS: ptr(false),
			AccessKey: "AK", SecretKey: "SK"},
	}
	withKeys := func(c s3.Config, ak, sk string) s3.Config {
		c.AccessKey, c.SecretKey = ak, s3.Secret(sk)
		return c
	}
	for _, tc := range []struct {
		spec string
		want target.Location
	}{
		{"/srv/repo", target.Location{Kind: target.FS, Path: "/srv/repo"}},
		{"repo", target.Location{Kind: target.FS, Path: "repo"}},
		{"./local", target.Location{Kind: target.FS, Path: "./local"}},
		{"dir/with:colon", target.Location{Kind: target.FS, Path: "dir/with:colon"}},
		{"file:///srv/repo", target.Location{Kind: target.FS, Path: "/srv/repo"}},
		{"file://localhost/srv/a%20b", target.Location{Kind: target.FS, Path: "/srv/a b"}},
		{"local", target.Location{Kind: target.FS, Name: "local", Path: "/srv/repo"}},
		{"s3://repos", target.Location{Kind: target.S3, S3: s3cfg("s3.amazonaws.com", "", "repos", "", true, false)}},
		{"s3://repos/el9/x86_64/", target.Location{Kind: target.S3, S3: s3cfg("s3.amazonaws.com", "", "repos", "el9/x86_64", true, false)}},
		{"s3://repos/el9?endpoint=127.0.0.1:9000&region=us-east-1&path-style=1&tls=0",
			target.Location{Kind: target.S3, S3: s3cfg("127.0.0.1:9000", "us-east-1", "repos", "el9", false, true)}},
		{"S3://repos/a%20b?tls=true&path-style=false&endpoint=[::1]:9000",
			target.Location{Kind: target.S3, S3: s3cfg("[::1]:9000", "", "repos", "a b", true, false)}},
		{"prod", target.Location{Kind: target.S3, Name: "prod",
			S3: s3cfg("s3.eu-west-1.amazonaws.com", "eu-west-1", "repos", "el9", true, true)}},
		{"minio", target.Location{Kind: target.S3, Name: "minio",
			S3: withKeys(s3cfg("127.0.0.1:9000", "", "bkt", "", false, false), "AK", "SK")}},
		{"https://mirror.example.org/el9/", target.Location{Kind: target.HTTP, URL: "https://mirror.example.org/el9/"}},
		{"http://127.0.0.1:8080", target.Location{Kind: target.HTTP, URL: "http://127.0.0.1:8080"}},
	} {
		got, err := target.Parse(tc.spec, cfg)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got != tc.want {
			t.Errorf("Parse(%q) =\n  %#v\nwant\n  %#v", tc.spec, got, tc.want)
		}
	}
	// Credentials in Config.S3 apply to URL targets, not over a named
	// target's own.
	cfg.S3.AccessKey, cfg.S3.SecretKey = "GLOBAL", "GLOBALSECRET"
	for spec, want := range map[string]string{"s3://bkt1": "GLOBAL", "prod": "GLOBAL", "minio": "AK"} {
		loc, err := target.Parse(spec, cfg)
		if err != nil || loc.S3.AccessKey != want {
			t.Errorf("Parse(%s): access key %q, %v; want %q", spec, loc.S3.AccessKey, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cfg := target.DefaultConfig()
	for _, tc := range []struct{ spec, want string }{
		{"", "empty target"},
		{"ftp://host/x", `unsupported scheme "ftp"`},
		{"a://b/c", `unsupported scheme "a"`},
		{"s3:bucket", "write s3://"},
		{"file:/srv/repo", "write file://"},
		{"s3://", "no bucket"},
		{"s3:///prefix", "no bucket"},
		{"s3://ab", "invalid bucket name"},
		{"s3://Bad_Bucket!/x", "invalid bucket name"},
		{"s3://b..b/x", "invalid bucket name"},
		{"s3://bucket/a//b", `prefix "a//b"`},
		{"s3://bucket/../x", `prefix "../x"`},
		{"s3://bucket/x?endpoint=https://s3.example.org", "without a scheme"},
		{"s3://bucket/x?endpoint=", "empty endpoint"},
		{"s3://bucket/x?endpoint=a/b", "is not HOST[:PORT]"},
		{"s3://bucket/x?region=eu west", "is not a region name"},
		{"s3://bucket/x?tls=maybe", `tls="maybe"`},
		{"s3://bucket/x?path-style=2", `path-style="2"`},
		{"s3://bucket/x?tls=0&tls=1", `"tls" given twice`},
		{"s3://bucket/x?colour=blue", `unknown option "colour"`},
		{"s3://bucket/x#frag", "fragment"},
		{"https://host/x?q=1", "no query"},
		{"file://otherhost/srv", `host "otherhost"`},
		{"file:///srv?x", "query"},
	} {
		_, err := target.Parse(tc.spec, cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, target.ErrInvalidSpec) {
			t.Errorf("Parse(%q) = %v, want ErrInvalidSpec containing %q", tc.spec, err, tc.want)
		}
	}
}

// Credentials in a URL are refused, and the refusal never repeats them.
func TestCredentialsNotInURL(t *testing.T) {
	const key, secret = "AKIAEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRET"
	for _, spec := range []string{
		"s3://" + key + ":" + secret + "@bucket/prefix",
		"s3://" + key + ":" + strings.ReplaceAll(secret, "/", "%2F") + "@bucket/prefix",
		"s3://" + key + "@bucket",
		"s3://bucket/p?access-key=" + key + "&secret-key=" + secret,
		"s3://bucket/p?aws_secret_access_key=" + secret,
		"s3://bucket/p?X-Amz-Signature=" + secret,
		"s3://bucket/p?endpoint=" + key + ":" + secret + "@host",
		"https://" + key + ":" + secret + "@mirror.example.org/el9/",
		"https://" + key + ":" + secret + "%zz@mirror.example.org/el9/",
		"http://" + key + ":" + secret + "@[::1/",
	} {
		_, err := target.Parse(spec, target.DefaultConfig())
		if err == nil {
			t.Errorf("Parse(%q) succeeded", spec)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "EXAMPLEKEY") || strings.Contains(msg, "wJalr") || strings.Contains(msg, "CYSECRET") {
			t.Errorf("Parse(%q): the error repeats the credentials: %v", spec, msg)
		}
		if strings.HasPrefix(spec, "s3:") && !strings.Contains(msg, "AWS_ACCESS_KEY_ID") {
			t.Errorf("Parse(%q) = %v: does not say where credentials go", spec, msg)
		}
	}
	// A Location holding a secret prints none.
	cfg := target.DefaultConfig()
	cfg.S3.AccessKey, cfg.S3.SecretKey = key, secret
	loc, err := target.Parse("s3://bucket/p", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{loc.String(), fmt.Sprintf("%v", loc), fmt.Sprintf("%+v", loc), fmt.Sprintf("%#v", loc)} {
		if strings.Contains(s, "wJalr") {
			t.Errorf("Location prints its secret: %s", s)
		}
	}
}

func TestCheckNamed(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    target.Target
		want string
		key  string // of the KeyError, when want is not ""
	}{
		{"ok-fs", target.Target{Type: "fs", Path: "/srv/repo"}, "", ""},
		{"ok_s3", target.Target{Type: "s3", Bucket: "repos", TLS: ptr(false)}, "", ""},
		{"bad/name", target.Target{Type: "fs", Path: "/x"}, "a target name is", ""},
		{"-x", target.Target{Type: "fs", Path: "/x"}, "a target name is", ""},
		{"x", target.Target{}, `[target.x]: no type (want "fs" or "s3")`, "type"},
		{"x", target.Target{Type: "gcs"}, `type "gcs"`, "type"},
		{"x", target.Target{Type: "fs"}, `type "fs" needs path`, "path"},
		{"x", target.Target{Type: "fs", Path: "rel/dir"}, `path "rel/dir" is not absolute`, "path"},
		{"x", target.Target{Type: "fs", Path: "/x", Bucket: "b"}, `key bucket does not apply to type "fs"`, "bucket"},
		{"x", target.Target{Type: "fs", Path: "/x", TLS: ptr(true)}, `key tls does not apply`, "tls"},
		{"x", target.Target{Type: "s3", Bucket: "bkt", Path: "/x"}, `key path does not apply to type "s3"`, "path"},
		{"x", target.Target{Type: "s3"}, "[target.x]: no bucket", "bucket"},
		{"x", target.Target{Type: "s3", Bucket: "bkt", Endpoint: "http://h"}, "endpoint \"http://h\": give HOST[:PORT] without a scheme", "endpoint"},
		{"x", target.Target{Type: "s3", Bucket: "bkt", Prefix: "a/../b"}, `prefix "a/../b"`, "prefix"},
		{"x", target.Target{Type: "s3", Bucket: "bkt", AccessKey: "AK"}, "give both access-key and secret-key", "access-key"},
		{"x", target.Target{Type: "s3", Bucket: "bkt", SecretKey: "wJalr"}, "give both access-key and secret-key", "secret-key"},
	} {
		err := target.Check(tc.name, tc.t)
		var ke *target.KeyError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Check(%s, %+v) = %v", tc.name, tc.t, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, target.ErrInvalidSpec)):
			t.Errorf("Check(%s, %+v) = %v, want an error containing %q", tc.name, tc.t, err, tc.want)
		case err != nil && !errors.As(err, &ke):
			t.Errorf("Check(%s, %+v) = %v, which wraps no KeyError", tc.name, tc.t, err)
		case err != nil && ke.Key != tc.key:
			t.Errorf("Check(%s, %+v): KeyError.Key = %q, want %q", tc.name, tc.t, ke.Key, tc.key)
		case err != nil && strings.Contains(err.Error(), "wJalr"):
			t.Errorf("Check: error shows the secret: %v", err)
		}
	}
}

func TestOpenFS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	missing := filepath.Join(dir, "new")

	cfg := target.DefaultConfig()
	cfg.MustExist = true
	cfg.Targets = map[string]target.Target{"local": {Type: "fs", Path: dir}}
	if _, err := target.Open(ctx, missing, cfg); !errors.Is(err, storage.ErrNotExist) || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("Open(missing, MustExist) = %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("MustExist created %s", missing)
	}
	// A bare name that is neither configured nor a directory.
	t.Chdir(dir)
	if _, err := target.Open(ctx, "prod", cfg); err == nil || !strings.Contains(err.Error(), "the configuration has no [target.prod]") {
		t.Errorf("Open(prod) = %v", err)
	}

	cfg.MustExist = false
	b, err := target.Open(ctx, "file://"+missing, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "k", strings.NewReader("v"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(storage.ConditionalPutter); !ok {
		t.Errorf("fs target lost PutIfAbsent")
	}
	b, err = target.Open(ctx, "local", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "new/k"); err != nil {
		t.Errorf("named target does not see the object: %v", err)
	}
}

func TestOpenHTTP(t *testing.T) {
	b, err := target.Open(context.Background(), "http://127.0.0.1:1/repo/", target.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(context.Background(), "k", strings.NewReader("v"), 1, storage.PutOptions{}); !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("Put = %v, want ErrReadOnly", err)
	}
}

func TestOpenS3(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no MinIO integration tests")
	}
	srv := miniotest.Shared(t)
	bucket := srv.Bucket(t)
	ctx := context.Background()
	spec := fmt.Sprintf("s3://%s/el9?endpoint=%s&region=%s&path-style=1&tls=0", bucket, srv.Endpoint, srv.Region)

	// Credentials from the environment...
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	b, err := target.Open(ctx, spec, target.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(storage.ConditionalPutter); !ok {
		t.Errorf("s3 target lost PutIfAbsent")
	}
	if err := b.Put(ctx, "repodata/repomd.xml", strings.NewReader("x"), 1, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Client().StatObject(ctx, bucket, "el9/repodata/repomd.xml", minio.StatObjectOptions{}); err != nil {
		t.Errorf("object not under the prefix: %v", err)
	}

	// ...or from the configuration, which wins; a named target too.
	t.Setenv("AWS_ACCESS_KEY_ID", "wrong")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	cfg := target.DefaultConfig()
	cfg.Targets = map[string]target.Target{"minio": {Type: "s3", Endpoint: srv.Endpoint, Region: srv.Region,
		Bucket: bucket, Prefix: "el9", TLS: ptr(false), PathStyle: ptr(true),
		AccessKey: srv.AccessKey, SecretKey: s3.Secret(srv.SecretKey)}}
	for _, spec := range []string{"minio", spec} {
		c := cfg
		if spec != "minio" {
			c.S3.AccessKey, c.S3.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
		}
		b, err := target.Open(ctx, spec, c)
		if err != nil {
			t.Fatalf("Open(%s): %v", spec, err)
		}
		if o, err := b.Stat(ctx, "repodata/repomd.xml"); err != nil || o.Size != 1 {
			t.Errorf("Open(%s): Stat = %+v, %v", spec, o, err)
		}
	}
	// Wrong credentials from the environment fail, and say so.
	if _, err := target.Open(ctx, spec, target.DefaultConfig()); err == nil {
		t.Errorf("Open with wrong credentials succeeded")
	} else if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error shows the secret: %v", err)
	}
	// A missing bucket is an error, not a usage error.
	missing := strings.Replace(spec, bucket, "no-such-bucket-rpmirror", 1)
	cfg.S3.AccessKey, cfg.S3.SecretKey = srv.AccessKey, s3.Secret(srv.SecretKey)
	cfg.NoRetry = true
	if _, err := target.Open(ctx, missing, cfg); err == nil || errors.Is(err, target.ErrInvalidSpec) {
		t.Errorf("Open(missing bucket) = %v", err)
	}
}
