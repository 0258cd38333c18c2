package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"syscall"
)

// Retryable reports whether err, as returned by Fetch or Robots, is a
// transient failure worth another attempt later. It answers from the
// error's Kind (see KindOf; an error that is no *Error is classified by its
// chain the same way):
//
//   - true: KindTimeout (the client's own Timeout, network timeouts),
//     KindRefused, KindReset (reset, aborted, broken pipe, EOF or
//     unexpected EOF mid-response), KindRobotsUnavailable (robots.txt
//     answered with 5xx), KindDNS when the failure is temporary (a DNS
//     timeout or server failure), and KindOther when it is a socket-level
//     failure (host or network unreachable, any *net.OpError).
//   - false: nil, KindCanceled (the caller's ctx cancelled or past its
//     deadline), KindBadURL, KindDecode, KindBlockedAddress (also for
//     robots.txt), KindVetoed, KindTLS (certificate and handshake-protocol
//     errors), KindTooLarge, KindTooManyRedirects, KindDNS "no such host",
//     and anything unrecognised.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var fe *Error
	var kind ErrorKind
	if errors.As(err, &fe) {
		kind = fe.Kind
	} else {
		kind = causeKind(err)
	}
	switch kind {
	case KindTimeout, KindRefused, KindReset, KindRobotsUnavailable:
		return true
	case KindDNS:
		var dnsErr *net.DNSError
		return errors.As(err, &dnsErr) && !dnsErr.IsNotFound && (dnsErr.IsTimeout || dnsErr.IsTemporary)
	case KindOther:
		var opErr *net.OpError
		return errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
			errors.As(err, &opErr) // other socket-level failures
	}
	return false
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
