// Package metrics exposes a crawl's statistics (crawler.Stats) to
// Prometheus. A program that does not want Prometheus does not import it,
// and so does not link the client library.
//
// NewCollector returns a prometheus.Collector that a program registers in
// its own registry; Handler serves /metrics from a registry of its own
// (never the global default) that also holds the Go and process
// collectors:
//
//	c, _ := crawler.New(cfg)
//	http.Handle("/metrics", metrics.Handler(c))
//	stats, err := c.Run(ctx, seeds...)
//
// At each scrape the collector takes one c.Stats() snapshot and turns it
// into constant metrics: it keeps no state, and the crawl pays nothing
// between scrapes. Counters start from zero at each Run of the Crawler, as
// they do when a process restarts.
//
// # Metrics
//
// Counters (records, one per URL decided about, each in one outcome):
//
//	trawl_records_total{outcome}         fetched, error or skipped
//	trawl_pages_total{class}             fetched records by HTTP status class: 1xx … 5xx (other)
//	trawl_skipped_total{reason}          skipped records by reason (robots, depth, max-pages, …)
//	trawl_errors_total{kind}             error records by kind (timeout, dns, refused, …: see crawler.Stats.ErrorKinds)
//	trawl_bytes_total                    decoded body bytes kept
//	trawl_retries_total                  attempts put back for a later try
//	trawl_robots_fetches_total           robots.txt rules obtained by fetching robots.txt
//	trawl_robots_cache_hits_total        robots.txt rules found already known
//	trawl_links_found_total{kind}        links found, by kind (page, asset, sitemap, form)
//	trawl_links_not_followed_total{reason}  out-of-scope, nofollow or max-links
//	trawl_duplicates_total               links and redirects to URLs already seen
//
// Gauges, at the scrape:
//
//	trawl_frontier_urls{state}           queued or in_flight
//	trawl_frontier_hosts                 hosts with URLs queued or in flight
//	trawl_hosts_paused                   hosts paused by Retry-After or back-off
//	trawl_crawl_delay_hosts              hosts spaced by a robots.txt Crawl-delay longer than the rate allows
//	trawl_hosts_unreachable              hosts given up after MaxHostFailures connection failures in a row
//	trawl_hosts_throttled                hosts the adaptive throttle (AutoThrottle) slows
//	trawl_throttle_delay_max_seconds     the longest spacing it gives a host now (each host's: in Stats and the summary)
//	trawl_crawl_start_time_seconds       when the crawl started, Unix time
//
// Histograms, in seconds:
//
//	trawl_fetch_duration_seconds         fetch time of the fetched records (count = fetched)
//	trawl_ttfb_seconds                   their time to first byte
//	trawl_checkpoint_duration_seconds    state checkpoints (only with a checkpointing frontier: trawl --state)
//	trawl_flush_duration_seconds         state flushes between checkpoints (the same)
//
// # Cardinality
//
// Every label takes its values from a small fixed set: there are no
// per-URL labels and no per-host labels at all, so the number of series
// does not grow with the crawl. Per-host figures (the hosts paused, the
// hosts politeness held back longest, the hosts whose Crawl-delay was
// capped) are in crawler.Stats and in trawl's summary.
//
// The frontier does not tell hosts ready from hosts waiting on their next
// turn (store.FrontierStats has no such counts), so neither is exported;
// trawl_frontier_hosts counts both.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"trawl/crawler"
)

// Collector is a prometheus.Collector of one Crawler's statistics. Create
// it with NewCollector. It is safe for concurrent use, as the registry
// requires.
type Collector struct {
	c *crawler.Crawler
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector that reads c.Stats() at each scrape.
func NewCollector(c *crawler.Crawler) *Collector {
	return &Collector{c: c}
}

// Handler returns an http.Handler serving the metrics of c, and those of
// the Go runtime and the process, in the Prometheus exposition formats,
// from a registry of its own.
func Handler(c *crawler.Crawler) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewCollector(c),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("trawl_"+name, help, labels, nil)
}

var (
	recordsDesc       = desc("records_total", "Records written, one per URL decided about, by outcome: fetched, error or skipped.", "outcome")
	pagesDesc         = desc("pages_total", "Fetched records by HTTP status class (1xx to 5xx, or other).", "class")
	skippedDesc       = desc("skipped_total", "Skipped records by reason.", "reason")
	errorsDesc        = desc("errors_total", "Error records by kind.", "kind")
	bytesDesc         = desc("bytes_total", "Decoded body bytes kept.")
	retriesDesc       = desc("retries_total", "Attempts put back for a later try.")
	robotsFetchesDesc = desc("robots_fetches_total", "Times a host's robots.txt rules were obtained by fetching robots.txt.")
	robotsHitsDesc    = desc("robots_cache_hits_total", "Times a host's robots.txt rules were found already known.")
	linksDesc         = desc("links_found_total", "Links found in responses, by kind.", "kind")
	notFollowedDesc   = desc("links_not_followed_total", "Links not followed and not recorded, by reason: out-of-scope, nofollow or max-links.", "reason")
	duplicatesDesc    = desc("duplicates_total", "Links and redirects to URLs already seen.")
	renderedDesc      = desc("renders_total", "Pages loaded in the browser (rendering on), by outcome: rendered, or failed (the URL was tried again or recorded with an error of kind render).", "outcome")
	browserDesc       = desc("browser_requests_total", "Requests of the browser (rendering on) by outcome: sent to a server, cached (answered from memory) or refused (never left the machine).", "outcome")

	frontierURLsDesc  = desc("frontier_urls", "URLs in the frontier, by state: queued or in_flight.", "state")
	frontierHostsDesc = desc("frontier_hosts", "Hosts with URLs queued or in flight.")
	pausedDesc        = desc("hosts_paused", "Hosts paused now by a server's Retry-After or by the back-off after errors.")
	delayedDesc       = desc("crawl_delay_hosts", "Hosts spaced by a robots.txt Crawl-delay longer than the rate allows.")
	unreachableDesc   = desc("hosts_unreachable", "Hosts declared unreachable after too many connection failures in a row; their URLs are skipped host-unreachable.")
	throttledDesc     = desc("hosts_throttled", "Hosts the adaptive throttle spaces more than the rate and their Crawl-delay ask.")
	throttleMaxDesc   = desc("throttle_delay_max_seconds", "The longest spacing the adaptive throttle gives a host now.")
	startDesc         = desc("crawl_start_time_seconds", "When the crawl started, in seconds since the Unix epoch.")

	fetchDesc      = desc("fetch_duration_seconds", "Fetch time of the fetched records, from the request to the end of the body.")
	ttfbDesc       = desc("ttfb_seconds", "Time to first byte of the fetched records' last response.")
	checkpointDesc = desc("checkpoint_duration_seconds", "Time a checkpoint of the crawl state took.")
	flushDesc      = desc("flush_duration_seconds", "Time a flush of the crawl state took.")
)

var allDescs = []*prometheus.Desc{
	recordsDesc, pagesDesc, skippedDesc, errorsDesc, bytesDesc, retriesDesc,
	robotsFetchesDesc, robotsHitsDesc, linksDesc, notFollowedDesc, duplicatesDesc, renderedDesc, browserDesc,
	frontierURLsDesc, frontierHostsDesc, pausedDesc, delayedDesc, unreachableDesc, throttledDesc, throttleMaxDesc, startDesc,
	fetchDesc, ttfbDesc, checkpointDesc, flushDesc,
}

// Describe sends the descriptors of every metric Collect may send.
func (col *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect sends the metrics of one snapshot of the crawler's statistics.
func (col *Collector) Collect(ch chan<- prometheus.Metric) {
	s := col.c.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	var skipped int64
	for reason, n := range s.Skipped {
		counter(skippedDesc, n, reason)
		skipped += n
	}
	counter(recordsDesc, s.Fetched, "fetched")
	counter(recordsDesc, s.Errors, "error")
	counter(recordsDesc, skipped, "skipped")
	classes := s.StatusClasses()
	for _, class := range []string{"1xx", "2xx", "3xx", "4xx", "5xx"} {
		counter(pagesDesc, classes[class], class) // zero included: a series from the start
	}
	if n := classes["other"]; n > 0 {
		counter(pagesDesc, n, "other")
	}
	for kind, n := range s.ErrorKinds {
		counter(errorsDesc, n, kind)
	}
	counter(bytesDesc, s.Bytes)
	counter(retriesDesc, s.Retries)
	counter(robotsFetchesDesc, s.RobotsFetches)
	counter(robotsHitsDesc, s.RobotsCacheHits)
	for k, n := range s.Links {
		counter(linksDesc, n, k.String())
	}
	counter(notFollowedDesc, s.OutOfScope, "out-of-scope")
	counter(notFollowedDesc, s.NoFollow, "nofollow")
	counter(notFollowedDesc, s.LinksDropped, "max-links")
	counter(duplicatesDesc, s.Duplicates)
	counter(renderedDesc, s.Rendered, "rendered")
	counter(renderedDesc, s.RenderFailures, "failed")
	counter(browserDesc, s.BrowserRequests, "sent")
	counter(browserDesc, s.BrowserCached, "cached")
	counter(browserDesc, s.BrowserRefused, "refused")

	gauge(frontierURLsDesc, float64(s.Queued), "queued")
	gauge(frontierURLsDesc, float64(s.InFlight), "in_flight")
	gauge(frontierHostsDesc, float64(s.Hosts))
	gauge(pausedDesc, float64(s.PausedHosts))
	gauge(delayedDesc, float64(s.CrawlDelayHosts))
	gauge(unreachableDesc, float64(s.UnreachableHosts))
	gauge(throttledDesc, float64(s.AutoThrottledHosts))
	var longest time.Duration
	if len(s.AutoThrottled) > 0 {
		longest = s.AutoThrottled[0].Delay
	}
	gauge(throttleMaxDesc, longest.Seconds())
	if !s.Started.IsZero() {
		gauge(startDesc, float64(s.Started.UnixNano())/1e9)
	}

	histogram(ch, fetchDesc, s.FetchDuration)
	histogram(ch, ttfbDesc, s.TTFB)
	histogram(ch, checkpointDesc, s.CheckpointDuration)
	histogram(ch, flushDesc, s.FlushDuration)
}

// histogram sends h as a Prometheus histogram, with cumulative buckets
// in seconds; nothing for a histogram without buckets (before the crawl,
// or the state's without a checkpointing frontier).
func histogram(ch chan<- prometheus.Metric, d *prometheus.Desc, h crawler.Histogram) {
	if len(h.Bounds) == 0 {
		return
	}
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += uint64(h.Counts[i])
		buckets[b.Seconds()] = cum
	}
	ch <- prometheus.MustNewConstHistogram(d, uint64(h.Count), h.Sum.Seconds(), buckets)
}
