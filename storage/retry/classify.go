package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"

	"github.com/rpmirror/rpmirror/storage"
)

// Retryable reports whether an operation that failed with err may succeed
// when tried again. In order:
//
//   - storage.ErrNotExist, ErrExist, ErrInvalidKey, ErrSizeMismatch and
//     context.Canceled: no.
//   - An error with a method Retryable() bool decides for itself: storage/s3
//     answers yes for HTTP 5xx (but 501), 408, 429 and S3's throttling and
//     internal-error codes, no for other 4xx.
//   - context.DeadlineExceeded: no; the deadline is the caller's.
//   - TLS certificate errors: no; they do not go away.
//   - Network errors (timeouts, refused or reset connections, unreachable
//     hosts, temporary DNS failures, a connection closed mid-response) and
//     other failures of an HTTP round trip: yes.
//   - Anything else (a full disk, a permission error): no.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	for _, final := range []error{storage.ErrNotExist, storage.ErrExist, storage.ErrInvalidKey, storage.ErrSizeMismatch, context.Canceled} {
		if errors.Is(err, final) {
			return false
		}
	}
	var self interface{ Retryable() bool }
	if errors.As(err, &self) {
		return self.Retryable()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verification) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	for _, transient := range []error{
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN, syscall.ENETRESET,
		io.ErrUnexpectedEOF,
	} {
		if errors.Is(err, transient) {
			return true
		}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr)
}
