// Package fetch is trawl's HTTP layer: one polite request at a time,
// reported precisely.
//
// Most programs make one Client with New and call Client.Fetch for pages
// and Client.Robots for the robots.txt rules of their origins; a Client is
// safe for concurrent use and is closed with Client.Close.
//
// A Client follows redirects up to a limit, caps the time of a fetch and the
// size of the decoded body, negotiates and decodes gzip, deflate and brotli
// itself, fetches and caches robots.txt per origin, and refuses to connect
// to addresses of its own network (loopback, private, link-local, ...)
// unless told otherwise. It applies a per-host rate limit to every request
// it makes (pages, robots.txt, redirect hops), 2 per second unless
// Config.Rate says otherwise, or none when the caller schedules requests
// itself, as trawl's crawler does.
//
// # Zero values and -1
//
// Every number in Config follows one convention, the same in all of trawl's
// configuration and on its command line: zero means the documented default,
// and -1 (any negative value) means "off": no limit for a limit, none for
// an optional action. So Timeout: 0 is 30 seconds and -1 no time limit;
// MaxBody: 0 is 10 MiB and -1 no limit; MaxRedirects: 0 is 10 and -1 no
// redirect followed; Rate: 0 is 2 requests per second per host and -1 no
// limiting by the Client; MaxConnsPerHost: 0 (as in net/http) and -1 are
// no limit. A nil func, map or interface means the feature is not used,
// except where its field says otherwise.
//
// # Shaping requests
//
// Request.Method asks for HEAD instead of GET. Config.Header and
// Request.Header add or replace headers (Accept-Encoding is the client's
// own). Config.Jar keeps cookies (NewJar makes one), Config.Credentials
// sends basic auth to exactly the host and port it is given for, and
// Config.Proxy picks a proxy. Config.OnRequest is called before each
// request goes on the wire, pages, redirect hops and robots.txt alike: it
// may change the request's headers or veto it.
//
// # Archiving
//
// With Config.Capture set, every Response carries its Exchanges: each
// request and response of the fetch, redirect hops first, as they went over
// the wire (request line and header fields as sent, status line and header
// fields as received, in their order and case) with the body as received
// before content decoding, which is what a WARC archive stores. Robots
// keeps those of the robots.txt it fetched for Robots.TakeExchanges. The
// client then speaks HTTP/1.1 to HTTPS servers it connects to itself, so
// that the bytes it archives are the bytes exchanged; where it cannot see
// them (HTTPS through a proxy, HTTP/2, a custom Config.Transport) the
// messages are rebuilt from their parsed form and Exchange.Raw is false.
//
// # Errors
//
// Fetch makes exactly one attempt. Whether and when to retry is the caller's
// decision, made from Response.Status, Response.RetryAfter and Retryable(err).
// An HTTP error status is a Response, never an error.
//
// Every error Fetch and Robots return is a *Error: its Kind (timeout, dns,
// refused, reset, tls, ...), the URL (password hidden) and the cause. Its
// message reads "fetch <url>: <cause>", and the package's sentinel errors
// (ErrTimeout, ErrBlockedAddress, ErrVetoed, ...) and the causes are in its
// chain, for errors.Is and errors.As.
//
// fetch imports no other trawl package but trawl/internal/urlpath, where
// URL paths are normalized as trawl/parse normalizes them.
package fetch
