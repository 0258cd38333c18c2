package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sync"
	"sync/atomic"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/store"
)

// maxSeedLines is how many seeds a crawl that fetched nothing explains,
// one line each.
const maxSeedLines = 5

// seedWatch keeps what a crawl that fetches nothing needs to say why: the
// records of the first maxSeedLines seeds and the last fetch error of
// each. Its memory is bounded by maxSeedLines, however many seeds and
// URLs. It also counts the records written. It is safe for concurrent
// use.
type seedWatch struct {
	order []string       // the first seeds, as the crawler writes their URLs
	total int            // distinct seeds
	watch map[string]int // order's URLs -> index

	mu   sync.Mutex
	recs []*store.Record // by index in order
	errs []error         // by index in order: the last fetch error

	responded atomic.Bool  // a seed got an HTTP response, whatever its status
	kept      atomic.Int64 // records passed on to the output
}

// newSeedWatch returns a watch over seeds (command-line URLs).
func newSeedWatch(seeds []string) *seedWatch {
	w := &seedWatch{watch: map[string]int{}}
	seen := map[string]bool{}
	for _, s := range seeds {
		u := seedURL(s)
		if seen[u] {
			continue
		}
		seen[u] = true
		w.total++
		if len(w.order) < maxSeedLines {
			w.watch[u] = len(w.order)
			w.order = append(w.order, u)
		}
	}
	w.recs = make([]*store.Record, len(w.order))
	w.errs = make([]error, len(w.order))
	return w
}

// seedURL is a seed as the crawler writes it in records: without
// credentials and fragment.
func seedURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// isSeed reports whether r is the record of a seed: depth 0 and no parent
// (a seed's redirect target has the seed as parent).
func isSeed(r *store.Record) bool { return r.Depth == 0 && r.Parent == "" }

// keep returns the output filter: it notes the seeds' records, then keeps
// what sel keeps (all if sel is nil) and counts it.
func (w *seedWatch) keep(sel func(store.Record) bool) func(store.Record) bool {
	return func(r store.Record) bool {
		if isSeed(&r) {
			if r.Status != 0 {
				w.responded.Store(true)
			}
			if i, ok := w.watch[r.URL]; ok {
				w.mu.Lock()
				w.recs[i] = &r
				w.mu.Unlock()
			}
		}
		if sel != nil && !sel(r) {
			return false
		}
		w.kept.Add(1)
		return true
	}
}

// onError returns a crawler.Config.OnError that notes the seeds' fetch
// errors and then calls next, if set.
func (w *seedWatch) onError(next func(ctx context.Context, url string, err error) error) func(ctx context.Context, url string, err error) error {
	return func(ctx context.Context, u string, err error) error {
		if i, ok := w.watch[u]; ok {
			w.mu.Lock()
			w.errs[i] = err
			w.mu.Unlock()
		}
		if next != nil {
			return next(ctx, u, err)
		}
		return nil
	}
}

// written is the number of records passed on to the output.
func (w *seedWatch) written() int64 { return w.kept.Load() }

// nothingFetched reports whether a crawl that ran fetched nothing: no URL
// got an HTTP response (any status counts), and it did not continue a
// saved crawl that had done work.
func nothingFetched(s crawler.Stats, w *seedWatch) bool {
	if s.Fetched > 0 || w.responded.Load() {
		return false
	}
	return s.Resumed == nil || s.Resumed.Done == 0
}

// explain prints, for each of the first seeds, one line with why it was
// not fetched and what to do.
func (w *seedWatch) explain(out io.Writer, s crawler.Stats, opts *options) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, u := range w.order {
		fmt.Fprintf(out, "trawl: %s: %s\n", u, seedCause(u, w.recs[i], w.errs[i], s, opts))
	}
	if more := w.total - len(w.order); more > 0 {
		fmt.Fprintf(out, "trawl: and %d more seeds, none fetched\n", more)
	}
}

// robotsStatus finds the status of a robots.txt answer in an error.
var robotsStatus = regexp.MustCompile(`\(status (\d{3})\)`)

// seedCause says why a seed was not fetched, from its record and its last
// fetch error, and what to do about it.
func seedCause(seed string, rec *store.Record, ferr error, s crawler.Stats, opts *options) string {
	host, hostPort := seed, seed
	if u, err := url.Parse(seed); err == nil {
		host, hostPort = u.Hostname(), u.Host
		if u.Port() == "" {
			hostPort += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
		}
	}
	if rec == nil {
		switch s.Stopped {
		case crawler.StopMaxTime:
			return "not reached before --max-time: give the crawl more time"
		case crawler.StopMaxBytes:
			return "not reached before --max-bytes: give the crawl more bytes"
		}
		return "no record: the crawl ended before it was decided"
	}
	switch rec.Skipped {
	case "":
	case crawler.SkipRobots:
		return "robots.txt disallows it: use --ignore-robots if you may"
	case crawler.SkipBlockedAddress:
		return "is a private address (loopback, private or link-local): use --allow-private if you mean to crawl it"
	default:
		return fmt.Sprintf("skipped (%s)", rec.Skipped)
	}
	kind := fetch.KindOf(ferr)
	robots := ferr != nil && errors.Is(ferr, fetch.ErrRobotsUnavailable)
	what := ""
	if robots {
		what = " (fetching robots.txt)"
	}
	switch kind {
	case fetch.KindRobotsUnavailable:
		status := "an error"
		if m := robotsStatus.FindStringSubmatch(rec.Error); m != nil {
			status = m[1]
		}
		return fmt.Sprintf("robots.txt of %s answered %s: the host is held back; retry later, or use --ignore-robots if you may", host, status)
	case fetch.KindRefused:
		return fmt.Sprintf("connection refused%s: nothing listens on %s; check the host and port", what, hostPort)
	case fetch.KindDNS:
		return fmt.Sprintf("%s does not resolve (DNS)%s: check the host name, or use --resolve %s:ADDR", host, what, hostPort)
	case fetch.KindTimeout:
		limit := opts.cfg.Timeout
		if limit == 0 {
			limit = crawler.DefaultTimeout
		}
		return fmt.Sprintf("timed out%s (--timeout %v): the server did not answer in time; retry later, or raise --timeout", what, limit)
	case fetch.KindTLS:
		return fmt.Sprintf("TLS failed%s: %v: check the certificate, or the URL's scheme", what, innermost(ferr))
	case fetch.KindReset:
		return fmt.Sprintf("the connection broke%s: %v: retry later", what, innermost(ferr))
	case fetch.KindBlockedAddress:
		return "is a private address (loopback, private or link-local): use --allow-private if you mean to crawl it"
	case fetch.KindTooLarge:
		return fmt.Sprintf("the response headers%s were too large", what)
	}
	if ferr != nil {
		return cleanError(ferr)
	}
	return rec.Error
}
