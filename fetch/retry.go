package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// Retryable reports whether err, as returned by Fetch or Robots, is a
// transient failure worth another attempt later:
//
//   - true: the client's own Timeout (ErrTimeout), connection refused, reset
//     or aborted, broken pipe, network timeouts, EOF or unexpected EOF
//     mid-response, temporary DNS failures, robots.txt answered with 5xx.
//   - false: nil, the caller's ctx cancelled or past its deadline
//     (context.Canceled, context.DeadlineExceeded without ErrTimeout), a bad
//     URL, an undecodable body, an address the guard refused
//     (ErrBlockedAddress, also for robots.txt), DNS "no such host", TLS
//     certificate and handshake-protocol errors, and anything unrecognised.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTimeout) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrBadURL) || errors.Is(err, ErrDecode) || errors.Is(err, ErrBlockedAddress) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return !dnsErr.IsNotFound && (dnsErr.IsTimeout || dnsErr.IsTemporary)
	}
	if isTLSFailure(err) {
		return false
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH,
		io.EOF, io.ErrUnexpectedEOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, ErrRobotsUnavailable) {
		return true // robots.txt answered 5xx: the server may recover
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) // other socket-level failures
}

// isTLSFailure reports certificate and TLS protocol errors, which another
// attempt will not fix.
func isTLSFailure(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
		alert     tls.AlertError
	)
	return errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record) || errors.As(err, &alert)
}
