package s3

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/rpmirror/rpmirror/storage"
	"github.com/rpmirror/rpmirror/storage/retry"
)

func TestErrorClassification(t *testing.T) {
	refused := &url.Error{Op: "Put", URL: "http://127.0.0.1:1/b/k", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	resp := func(code string, status int) error {
		return minio.ErrorResponse{Code: code, StatusCode: status, Message: "message of " + code}
	}
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
		notExist  bool
	}{
		{"NoSuchKey", resp("NoSuchKey", 404), false, true},
		{"404 without code (HEAD)", resp("", 404), false, true},
		{"NoSuchBucket", resp("NoSuchBucket", 404), false, false},
		{"NoSuchUpload", resp("NoSuchUpload", 404), false, false},
		{"AccessDenied", resp("AccessDenied", 403), false, false},
		{"SignatureDoesNotMatch", resp("SignatureDoesNotMatch", 403), false, false},
		{"InvalidArgument", resp("InvalidArgument", 400), false, false},
		{"PreconditionFailed", resp("PreconditionFailed", 412), false, false},
		{"NotImplemented", resp("NotImplemented", 501), false, false},
		{"SlowDown", resp("SlowDown", 503), true, false},
		{"SlowDownWrite", resp("SlowDownWrite", 503), true, false},
		{"InternalError", resp("InternalError", 500), true, false},
		{"ServiceUnavailable", resp("ServiceUnavailable", 503), true, false},
		{"bad gateway without code", resp("", 502), true, false},
		{"gateway timeout", resp("", 504), true, false},
		{"too many requests", resp("", 429), true, false},
		{"RequestTimeout", resp("RequestTimeout", 400), true, false},
		{"ConditionalRequestConflict", resp("ConditionalRequestConflict", 409), true, false},
		{"XMinioServerNotInitialized", resp("XMinioServerNotInitialized", 503), true, false},
		{"connection refused", refused, true, false},
		{"connection closed (minio-go's rewrite)", &url.Error{Op: "Get", URL: "u", Err: errors.New("Connection closed by foreign host u. Retry again.")}, true, false},
		{"HTTPS to an HTTP port", &url.Error{Op: "Get", URL: "u", Err: errors.New("http: server gave HTTP response to HTTPS client")}, false, false},
		{"reset", syscall.ECONNRESET, true, false},
		{"canceled", context.Canceled, false, false},
		{"deadline", context.DeadlineExceeded, false, false},
		{"other", errors.New("boom"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Backend{}).wrap(context.Background(), "stat", "k", tc.err)
			if got := retry.Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%v) = %v, want %v", err, got, tc.retryable)
			}
			if got := errors.Is(err, storage.ErrNotExist); got != tc.notExist {
				t.Errorf("errors.Is(%v, ErrNotExist) = %v, want %v", err, got, tc.notExist)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap its cause", err)
			}
			if !strings.HasPrefix(err.Error(), "s3: stat k: ") {
				t.Errorf("message %q", err)
			}
		})
	}
	// A cancelled call wraps the context's error whatever minio-go said.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Backend{}).wrap(ctx, "put", "k", refused)
	if !errors.Is(err, context.Canceled) || retry.Retryable(err) {
		t.Errorf("cancelled: %v (retryable %v)", err, retry.Retryable(err))
	}
}
