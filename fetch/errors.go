package fetch

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"

	"trawl/internal/urlpath"
)

var (
	// ErrTooManyRedirects is wrapped by Response.RedirectErr when a redirect
	// chain is longer than Config.MaxRedirects.
	ErrTooManyRedirects = errors.New("fetch: too many redirects")
	// ErrRobotsUnavailable is wrapped by Robots' error when robots.txt could
	// not be obtained (5xx status, network error, vetoed request). The
	// convention is to treat the host as disallowed for now and to try
	// again later.
	ErrRobotsUnavailable = errors.New("fetch: robots.txt unavailable")
	// ErrBadURL is wrapped when the request cannot be made as given: the
	// URL is unparsable, not http or https, or without a host, or
	// Request.Method is neither GET nor HEAD. Not retryable.
	ErrBadURL = errors.New("fetch: bad url")
	// ErrDecode is wrapped when the body does not decode as its
	// Content-Encoding says (corrupt gzip, deflate or br), or declares more
	// content codings than are decoded. Not retryable.
	ErrDecode = errors.New("fetch: cannot decode body")
	// ErrTimeout is wrapped when Config.Timeout expired during a fetch. It
	// matches context.DeadlineExceeded with errors.Is, and Retryable reports
	// true for it (unlike the caller's own deadline or cancellation).
	ErrTimeout error = timeoutError{}
	// ErrBlockedAddress is wrapped when the address guard refused to
	// connect: the host resolved to (or is) a loopback, private,
	// link-local, CGNAT, multicast, unspecified or reserved address, and
	// the host was not named in Config.AllowHosts or Config.Resolve (see
	// Config.AllowPrivate). The message names the address and the reason.
	// Not retryable, also when Robots wraps it with ErrRobotsUnavailable.
	ErrBlockedAddress = errors.New("fetch: blocked address")
	// ErrVetoed is wrapped, together with the hook's own error, when
	// Config.OnRequest refused a request. Not retryable.
	ErrVetoed = errors.New("fetch: request vetoed")
)

type timeoutError struct{}

func (timeoutError) Error() string        { return "fetch: timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Error is the error of a failed fetch: its kind, the URL, and the cause.
//
// Every error Fetch and Robots return is a *Error, and so is
// Response.RedirectErr when the client itself declined a redirect (too
// many, unsupported scheme). Use errors.As to get at it, or KindOf for the
// kind alone. The sentinel errors of this package (ErrTimeout,
// ErrBlockedAddress, ...) and the causes (context.Canceled, a
// *net.DNSError, syscall.ECONNREFUSED, ...) are in its chain, so errors.Is
// and errors.As work through it.
//
// An Error is not modified once returned; the same *Error may be returned
// to several callers (Robots caches its failures).
type Error struct {
	Kind ErrorKind
	URL  string // redacted
	Err  error  // the cause
	// InBody is set when the server had answered (the response's headers
	// had come) and the fetch failed while its body was read or decoded:
	// the host was reached.
	InBody bool
}

// Error returns "fetch <URL>: <cause>".
func (e *Error) Error() string {
	if e.Err == nil {
		return "fetch " + e.URL + ": " + e.Kind.String()
	}
	// A cause that is one of this package's sentinels, or wraps one,
	// already says "fetch: ": say it once.
	return "fetch " + e.URL + ": " + strings.TrimPrefix(e.Err.Error(), "fetch: ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorKind says what went wrong in a failed fetch. The zero value is
// KindOther.
type ErrorKind int

// The kinds of Error.
const (
	// KindOther is anything not listed below (a malformed HTTP response,
	// a host or network unreachable, ...).
	KindOther ErrorKind = iota
	// KindTimeout: Config.Timeout expired (wraps ErrTimeout), or a network
	// operation timed out (connect, TLS handshake) with no Timeout set.
	KindTimeout
	// KindDNS: the host name did not resolve (wraps a *net.DNSError).
	KindDNS
	// KindRefused: the connection was refused (ECONNREFUSED).
	KindRefused
	// KindReset: the connection broke: reset or aborted by the peer, a
	// broken pipe, or the server hung up before the response was whole
	// (EOF, unexpected EOF mid-body).
	KindReset
	// KindTLS: certificate verification or the TLS handshake failed.
	KindTLS
	// KindTooLarge: the response headers exceeded the transport's limit
	// (1 MiB for the transport New builds).
	KindTooLarge
	// KindTooManyRedirects: Response.RedirectErr when the redirect chain
	// was longer than Config.MaxRedirects (wraps ErrTooManyRedirects).
	// Fetch returns the 3xx Response with a nil error in that case.
	KindTooManyRedirects
	// KindBlockedAddress: the address guard refused to connect (wraps
	// ErrBlockedAddress).
	KindBlockedAddress
	// KindDecode: the body did not decode (wraps ErrDecode).
	KindDecode
	// KindBadURL: the request cannot be made as given (wraps ErrBadURL).
	KindBadURL
	// KindVetoed: Config.OnRequest refused the request (wraps ErrVetoed
	// and the hook's error).
	KindVetoed
	// KindRobotsUnavailable: robots.txt was answered with a 5xx status
	// (wraps ErrRobotsUnavailable). A robots.txt fetch that failed
	// otherwise keeps the kind of its failure, and also wraps
	// ErrRobotsUnavailable.
	KindRobotsUnavailable
	// KindCanceled: the caller's ctx was cancelled or passed its deadline
	// (wraps context.Canceled or context.DeadlineExceeded, without
	// ErrTimeout).
	KindCanceled
)

var kindNames = [...]string{
	KindOther:             "other",
	KindTimeout:           "timeout",
	KindDNS:               "dns",
	KindRefused:           "refused",
	KindReset:             "reset",
	KindTLS:               "tls",
	KindTooLarge:          "too-large",
	KindTooManyRedirects:  "too-many-redirects",
	KindBlockedAddress:    "blocked-address",
	KindDecode:            "decode",
	KindBadURL:            "bad-url",
	KindVetoed:            "vetoed",
	KindRobotsUnavailable: "robots-unavailable",
	KindCanceled:          "canceled",
}

// String returns the kind's name as used in records: "timeout", "dns",
// "refused", "reset", "tls", "too-large", "too-many-redirects",
// "blocked-address", "decode", "bad-url", "vetoed", "robots-unavailable",
// "canceled" or "other" (also for values out of range).
func (k ErrorKind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return kindNames[KindOther]
	}
	return kindNames[k]
}

// KindOf returns the Kind of the first *Error in err's chain, and
// KindOther when there is none (including for a nil err).
func KindOf(err error) ErrorKind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return KindOther
}

// newError makes the *Error of a fetch of rawURL, its URL redacted.
func newError(kind ErrorKind, rawURL string, err error) *Error {
	return &Error{Kind: kind, URL: redactURL(rawURL), Err: err}
}

// causeKind returns the kind of a cause err found in its chain. It does not
// tell the client's Timeout apart from the caller's deadline (fail does);
// an error matching context.DeadlineExceeded without ErrTimeout is
// KindCanceled.
func causeKind(err error) ErrorKind {
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case err == nil:
		return KindOther
	case errors.Is(err, ErrTimeout):
		return KindTimeout
	case errors.Is(err, ErrVetoed):
		return KindVetoed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.Is(err, ErrBlockedAddress):
		return KindBlockedAddress
	case errors.Is(err, ErrBadURL):
		return KindBadURL
	case errors.Is(err, ErrDecode):
		return KindDecode
	case errors.As(err, &dnsErr):
		return KindDNS
	case isTLSFailure(err):
		return KindTLS
	case strings.Contains(err.Error(), "server response headers exceeded"):
		// net/http's error for MaxResponseHeaderBytes is not exported.
		return KindTooLarge
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindReset
	case errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, ErrTooManyRedirects):
		return KindTooManyRedirects
	case errors.Is(err, ErrRobotsUnavailable):
		return KindRobotsUnavailable
	}
	return KindOther
}

// redactURL returns rawURL with the password of its userinfo hidden, as
// url.URL.Redacted does, or all of its userinfo when it does not parse.
// A URL without "@" is returned as is, without parsing.
func redactURL(rawURL string) string {
	if !strings.Contains(rawURL, "@") {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err == nil {
		if u.User == nil {
			return rawURL
		}
		return u.Redacted()
	}
	i := strings.Index(rawURL, "//")
	if i < 0 {
		return rawURL
	}
	auth := rawURL[i+2:]
	if end := strings.IndexAny(auth, "/?#"); end >= 0 {
		auth = auth[:end]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return rawURL
	}
	return rawURL[:i+2] + "xxxxx" + rawURL[i+2+at:]
}

// finalURL is urlString(u) for the URL of a fetch's last request, which
// was asked for as rawURL: rawURL itself when that is what u.String()
// would give (no redirect, and rawURL in the form url.URL.String writes),
// which spares building the string again for most fetches.
func finalURL(rawURL string, u *url.URL) string {
	if urlpath.StringIs(u, rawURL) {
		return rawURL
	}
	return urlString(u)
}

// urlString is u.String() with the password hidden.
func urlString(u *url.URL) string {
	if u.User != nil {
		return u.Redacted()
	}
	return u.String()
}
