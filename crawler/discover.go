package crawler

import (
	"cmp"
	"context"
	"hash/maphash"
	"net/url"
	"slices"
	"strings"
	"sync"

	"trawl/fetch"
	"trawl/parse"
	"trawl/store"
)

// This file holds link discovery: what the crawler reads in a response
// (HTML, a stylesheet, a sitemap or feed, the headers), the sitemaps it
// looks for by itself, and which of the links found it follows.

// content reads a 2xx response for links, by what it holds and what its
// URL was found as: a sitemap (or a feed, whatever found it) as a
// sitemap, HTML as a page unless it was found as an asset, a stylesheet
// as CSS, and with GuessLinks, text for URLs; the headers always. stop
// reports that the page hook returned ErrStop.
func (r *run) content(ctx context.Context, l store.Lease, rec *result, resp *fetch.Response) (stop bool, err error) {
	final, err := url.Parse(resp.FinalURL)
	if err != nil {
		final, _ = url.Parse(l.URL)
	}
	links := parse.Headers(resp.Header, resp.Status, final)
	if len(resp.Body) == 0 {
		if isProbe(l.Entry) {
			rec.Skipped = skipNoSitemap
			return false, nil
		}
		return false, r.found(ctx, l, rec, links, l.Depth+1, false)
	}
	mt := mediaType(resp.ContentType)
	if l.Kind == parse.KindSitemap || isFeedType(mt) {
		sm, serr := parse.Sitemap(resp.Body, resp.ContentType, final)
		switch {
		case sm != nil && sm.Format != "" && !(isProbe(l.Entry) && sm.Format == "text" && len(sm.Links) == 0):
			// (A probe answered with text that lists no URL found a
			// page that is not there, not an empty text sitemap.)
			if serr != nil {
				rec.Error = serr.Error()
			}
			// A sitemap's URLs are one hop from a seed, wherever the
			// sitemap was found; a feed found as a page is a page.
			depth := l.Depth + 1
			if l.Kind == parse.KindSitemap {
				depth = 1
			}
			return false, r.found(ctx, l, rec, parse.MergeLinks(sm.Links, links), depth, false)
		case isProbe(l.Entry):
			rec.Skipped = skipNoSitemap
			return false, nil
		case l.Kind == parse.KindSitemap && !parse.IsHTML(resp.ContentType, resp.Body):
			// Not a sitemap, nor a soft-404 page to read as one.
			rec.Error = serr.Error()
			return false, r.found(ctx, l, rec, links, l.Depth+1, false)
		}
	}
	switch {
	case l.Kind != parse.KindAsset && parse.IsHTML(resp.ContentType, resp.Body):
		return r.page(ctx, l, rec, resp, final, links)
	case mt == "text/css":
		links = parse.MergeLinks(links, parse.CSS(resp.Body, resp.ContentType, final))
	case r.cfg.GuessLinks && l.Kind != parse.KindAsset && isTextType(mt):
		links = parse.MergeLinks(links, parse.GuessLinks(resp.Body, final, "text"))
	}
	return false, r.found(ctx, l, rec, links, l.Depth+1, false)
}

// page parses an HTML response, runs the page hook and queues the links
// (those of the headers, hdr, after the page's own); a rendered page
// (rec.rendered) is read as the browser rendered it (see renderedLinks).
// stop reports that the hook returned ErrStop: the page's record keeps its
// Data, and its links are not queued.
func (r *run) page(ctx context.Context, l store.Lease, rec *result, resp *fetch.Response, final *url.URL, hdr []parse.Link) (stop bool, err error) {
	doc, err := parse.HTMLWith(resp.Body, resp.ContentType, final, parse.Options{GuessLinks: r.cfg.GuessLinks})
	if err != nil {
		rec.Error = err.Error()
		return false, r.found(ctx, l, rec, hdr, l.Depth+1, false)
	}
	links, noFollow := parse.MergeLinks(doc.Links, hdr), doc.NoFollow
	if rec.rendered != nil {
		doc, links, noFollow = r.renderedLinks(rec.rendered, doc, links, final)
	}
	rec.Title = doc.Title
	rec.Canonical = doc.Canonical
	rec.Description = doc.Description
	rec.Lang = doc.Lang

	rec.Links = len(links)
	if n := r.cfg.MaxLinks; n >= 0 && len(links) > n {
		r.counters.linksDropped.Add(int64(len(links) - n))
		links = links[:n]
	}
	if len(r.cfg.Extract) > 0 || r.cfg.ExtractJSONLD {
		if d := doc.Document(); d != nil {
			rec.Data = parse.Extract(d, r.cfg.Extract, r.cfg.ExtractJSONLD, nil)
		}
	}
	if r.cfg.OnPage != nil {
		p := &Page{URL: final, Depth: l.Depth, Response: resp, HTML: doc, Links: links, Data: rec.Data, Rendered: rec.rendered}
		stop, err := r.hook(true, func() error { return r.cfg.OnPage(ctx, p) }, "page hook for "+resp.FinalURL)
		if err != nil {
			return false, err
		}
		links, rec.Data = p.Links, p.Data
		if stop {
			r.keepLinks(rec, links)
			return true, nil
		}
	}
	return false, r.found(ctx, l, rec, links, l.Depth+1, noFollow)
}

// found counts the links of l's response by kind, keeps them in its
// record with RecordLinks, and considers for queueing, at depth, those
// the crawl follows: pages, sitemaps and GET forms, and assets with
// Config.Assets. With noFollow (the page's robots meta says nofollow)
// only assets, which the page needs to be shown, are followed.
func (r *run) found(ctx context.Context, l store.Lease, rec *result, links []parse.Link, depth int, noFollow bool) error {
	if rec.Links == 0 {
		rec.Links = len(links)
	}
	r.keepLinks(rec, links)
	if len(links) == 0 {
		return nil
	}
	parent := cmp.Or(rec.FinalURL, rec.URL)
	ep := entryPool.Get().(*[]store.Entry)
	entries := slices.Grow(*ep, len(links))
	for _, ln := range links {
		if int(ln.Kind) < len(r.counters.links) {
			r.counters.links[ln.Kind].Add(1)
		}
		if !parse.Follows(ln.Kind, ln.Method, r.cfg.Assets) {
			continue
		}
		if ln.Kind != parse.KindAsset && (noFollow || ln.NoFollow) {
			r.counters.noFollow.Add(1)
			continue
		}
		entries = append(entries, store.Entry{URL: ln.URL, Key: ln.Key, Host: ln.Host, Depth: depth, Parent: parent, Kind: ln.Kind})
	}
	err := r.consider(ctx, entries, false)
	clear(entries) // drop the strings
	*ep = entries[:0]
	entryPool.Put(ep)
	return err
}

// entryPool holds the slices found builds a page's entries in: the
// frontier does not keep them (see Frontier.Push), and a page's links
// would otherwise cost an allocation of a few KB per page.
var entryPool = sync.Pool{New: func() any { return new([]store.Entry) }}

// keepLinks puts links into rec when the crawl records them.
func (r *run) keepLinks(rec *result, links []parse.Link) {
	if !r.cfg.RecordLinks || len(links) == 0 {
		return
	}
	rec.OutLinks = make([]store.Link, len(links))
	for i, ln := range links {
		rec.OutLinks[i] = store.Link{URL: ln.URL, Kind: ln.Kind, Source: ln.Source, Method: ln.Method, NoFollow: ln.NoFollow}
	}
}

// hostSitemaps queues the sitemaps of the host of u, which the crawl has
// just met: the Sitemap lines of its robots.txt rob (nil without one)
// and /sitemap.xml, at depth 1, unless Config.NoSitemaps is set or the
// crawl follows no links (negative MaxDepth). Scope, filters and
// deduplication apply as to any link.
func (r *run) hostSitemaps(ctx context.Context, u *url.URL, rob *fetch.Robots) error {
	if r.cfg.NoSitemaps || r.cfg.MaxDepth < 0 {
		return nil
	}
	robotsURL := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
	var entries []store.Entry
	add := func(ref, parent string) {
		t, err := robotsURL.Parse(strings.TrimSpace(ref))
		if err != nil || (t.Scheme != "http" && t.Scheme != "https") {
			return
		}
		t.Fragment, t.RawFragment = "", ""
		key, host, err := parse.Normalize(t)
		if err != nil {
			return
		}
		entries = append(entries, store.Entry{URL: t.String(), Key: key, Host: host, Depth: 1, Parent: parent, Kind: parse.KindSitemap})
	}
	for _, s := range rob.Sitemaps() {
		r.counters.links[parse.KindSitemap].Add(1) // found in robots.txt; the probe is not found anywhere
		add(s, robotsURL.String())
	}
	add("/sitemap.xml", "") // the probe (see isProbe)
	return r.consider(ctx, entries, false)
}

// isProbe reports whether e is the probe of a host's /sitemap.xml that
// the crawl queued by itself (hostSitemaps): a sitemap with no parent
// that is not a seed. Like robots.txt, a probe is outside the MaxPages
// budget, and one that finds no sitemap (it is filtered out, fails, is
// skipped, answers other than 2xx, or holds no sitemap) is not recorded;
// one that finds a sitemap is recorded as any sitemap is.
// The target of a probe's redirect is queued as a probe too (with no
// parent), so that a host redirecting every path to its home page, or
// one host to another, records no sitemap that is not there.
func isProbe(e store.Entry) bool {
	return e.Kind == parse.KindSitemap && e.Depth > 0 && e.Parent == ""
}

// skipNoSitemap marks the record of a probe that found no sitemap, which
// is not written.
const skipNoSitemap = "no-sitemap"

// unrecorded reports whether the record of l is not written: l is a
// probe that found no sitemap.
func unrecorded(l store.Lease, rec *result) bool {
	return isProbe(l.Entry) && (rec.Skipped != "" || rec.Status < 200 || rec.Status > 299)
}

// metHost reports whether host is met for the first time in this run.
// It is how a crawl without robots.txt knows when to look for a host's
// sitemaps; a crawl with robots.txt knows from fetching it.
func (r *run) metHost(host string) bool {
	if r.cfg.NoSitemaps || r.cfg.MaxDepth < 0 {
		return false
	}
	h := maphash.String(metSeed, host)
	r.met.mu.Lock()
	defer r.met.mu.Unlock()
	if _, ok := r.met.m[h]; ok {
		return false
	}
	if r.met.m == nil {
		r.met.m = make(map[uint64]struct{})
	}
	r.met.m[h] = struct{}{}
	return true
}

// metHosts is the set metHost keeps. It holds a 64-bit hash of each host,
// not its name, so that a crawl of many hosts pays 8 bytes (and the map's
// overhead) per host: two hosts whose hashes collide (odds of 2^-64 per
// pair) share one look for sitemaps.
type metHosts struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

var metSeed = maphash.MakeSeed()

// mediaType returns the media type of a Content-Type header value,
// lower-cased, without parameters (allocating only when it has upper
// case: this runs for every response).
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// isFeedType reports whether a media type may hold a sitemap or a feed
// (parse.Sitemap tells from the content).
func isFeedType(mt string) bool {
	switch mt {
	case "application/xml", "text/xml", "application/rss+xml", "application/atom+xml", "application/rdf+xml":
		return true
	}
	return false
}

// isTextType reports whether a media type is text that GuessLinks reads.
func isTextType(mt string) bool {
	switch {
	case mt == "text/plain", mt == "application/json", mt == "text/javascript", mt == "application/javascript",
		mt == "application/ld+json", strings.HasSuffix(mt, "+json"):
		return true
	}
	return false
}
