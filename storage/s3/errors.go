package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/rpmirror/rpmirror/storage"
)

// requestError is the error of a failed S3 operation. It wraps
// storage.ErrNotExist for a missing object, the context's error when the
// call was cancelled, and the cause (a minio.ErrorResponse, a network
// error); Retryable classifies the cause for storage/retry.
type requestError struct {
	op, key string
	err     error
	extra   []error // sentinels wrapped besides err
}

func (e *requestError) Error() string {
	var sb strings.Builder
	sb.WriteString("s3: ")
	sb.WriteString(e.op)
	if e.key != "" {
		sb.WriteString(" ")
		sb.WriteString(e.key)
	}
	sb.WriteString(": ")
	for _, x := range e.extra {
		sb.WriteString(x.Error())
		sb.WriteString(": ")
	}
	var er minio.ErrorResponse
	if errors.As(e.err, &er) && er.Code != "" {
		fmt.Fprintf(&sb, "%s (HTTP %d): ", er.Code, er.StatusCode)
	}
	sb.WriteString(e.err.Error())
	return sb.String()
}

func (e *requestError) Unwrap() []error { return append(e.extra[:len(e.extra):len(e.extra)], e.err) }

// Retryable reports whether trying the operation again may succeed.
func (e *requestError) Retryable() bool { return retryable(e.err) }

// wrap makes the error of a failed operation.
func (b *Backend) wrap(ctx context.Context, op, key string, err error) error {
	e := &requestError{op: op, key: key, err: err}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		e.extra = append(e.extra, cerr)
	}
	if isNotExist(err) {
		e.extra = append(e.extra, storage.ErrNotExist)
	}
	return e
}

// isNotExist reports a missing object. A missing bucket is not: that is a
// configuration error, not an object to create.
func isNotExist(err error) bool {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	return er.Code == minio.NoSuchKey || er.Code == "NoSuchVersion" ||
		(er.StatusCode == http.StatusNotFound && er.Code != minio.NoSuchBucket && er.Code != "NoSuchUpload")
}

func isPreconditionFailed(err error) bool {
	var er minio.ErrorResponse
	return errors.As(err, &er) && (er.Code == minio.PreconditionFailed || er.StatusCode == http.StatusPreconditionFailed)
}

// retryableCodes are the S3 error codes of transient conditions.
var retryableCodes = map[string]bool{
	"InternalError": true, "ServiceUnavailable": true, "SlowDown": true, "SlowDownRead": true,
	"SlowDownWrite": true, "Throttling": true, "ThrottlingException": true, "RequestThrottled": true,
	"RequestLimitExceeded": true, "RequestTimeout": true, "OperationTimedOut": true,
	"XMinioServerNotInitialized": true,
	// AWS: a concurrent conditional write or multipart completion on the
	// same key; the retry then succeeds or gets a definite answer.
	"ConditionalRequestConflict": true, "OperationAborted": true,
}

// retryable classifies the cause of a failed request.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.Code != "" || er.StatusCode != 0) {
		if retryableCodes[er.Code] {
			return true
		}
		s := er.StatusCode
		return s == http.StatusRequestTimeout || s == http.StatusTooManyRequests ||
			(s >= 500 && s != http.StatusNotImplemented && s != http.StatusHTTPVersionNotSupported)
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &recordHeader) {
		return false
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// Every failed round trip is worth another try (refused, reset or
		// closed connections; minio-go rewrites the latter without their
		// cause), except the misconfiguration of HTTPS to an HTTP port.
		return !strings.Contains(urlErr.Err.Error(), "server gave HTTP response to HTTPS client")
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF)
}
