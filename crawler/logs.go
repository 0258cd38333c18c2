package crawler

import (
	"cmp"
	"context"
	"log/slog"
	"time"

	"trawl/parse"
	"trawl/store"
)

// This file holds what a crawl writes to Config.Logger: the lines, their
// levels, messages and attribute keys, which the Logger field's comment
// documents. Every helper checks that its level is enabled before it
// builds an attribute, so that a crawl without a Logger (whose handler
// discards and is never enabled) pays one call per line and allocates
// nothing.

// discardLogger is the Logger of a Config that sets none.
var discardLogger = slog.New(slog.DiscardHandler)

// Attribute keys, the same on every line that carries the value.
const (
	keyURL      = "url"
	keyHost     = "host"
	keyStatus   = "status"
	keyDuration = "duration" // a time.Duration
	keyError    = "error"
	keyWait     = "wait" // a time.Duration
	keyReason   = "reason"
	keyAttempt  = "attempt"  // the attempt just made, from 1
	keyAttempts = "attempts" // the attempts a URL took in all
)

// Retry and back-off reasons.
const (
	reasonRetryAfter = "retry-after" // the server sent Retry-After
	reason429        = "429"         // Too Many Requests, without Retry-After
	reason5xx        = "5xx"         // a server error, without Retry-After
	reasonNetwork    = "network"     // no response: timeout, refused, reset
	reasonRobots     = "robots"      // the host's robots.txt could not be fetched
)

// retryReason names why the attempt of rec is tried again or its host
// pauses: the server asked (Retry-After), its status, or no response, to
// the page's request or (the page never requested) to robots.txt's.
func retryReason(rec *result, retryAfter time.Duration) string {
	switch {
	case retryAfter > 0:
		return reasonRetryAfter
	case rec.Status == 429:
		return reason429
	case rec.Status >= 500:
		return reason5xx
	case rec.FetchedAt.IsZero():
		return reasonRobots
	}
	return reasonNetwork
}

// logFetch writes the Debug line of a request made for l: its answer, or
// the record's error. It writes nothing for a URL whose page was not
// requested (a robots.txt failure, a skip).
func (r *run) logFetch(ctx context.Context, l store.Lease, rec *result) {
	if rec.FetchedAt.IsZero() || rec.Skipped != "" || !r.cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String(keyURL, l.URL),
		slog.String(keyHost, l.Host),
		slog.Int(keyStatus, rec.Status),
		slog.Duration(keyDuration, cmp.Or(rec.fetchTime, time.Duration(rec.DurationMS)*time.Millisecond)),
		slog.Int64("bytes", rec.Bytes),
		slog.Int(keyAttempt, l.Attempt+1),
		slog.Int("depth", l.Depth))
	if l.Kind != parse.KindPage {
		attrs = append(attrs, slog.String("kind", l.Kind.String()))
	}
	if rec.Location != "" {
		attrs = append(attrs, slog.String("location", rec.Location))
	}
	if rec.Error != "" {
		attrs = append(attrs, slog.String(keyError, rec.Error))
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "fetch", attrs...)
}

// logSettled writes the lines of a URL whose record was just written:
// its fetch at Debug and, when it ended in an error, an Info line. A
// probe of /sitemap.xml that found nothing is not an error (it has no
// record).
func (r *run) logSettled(ctx context.Context, l store.Lease, rec *result) {
	r.logFetch(ctx, l, rec)
	if rec.Error == "" || rec.Skipped != "" || unrecorded(l, rec) || !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String(keyURL, l.URL),
		slog.String(keyHost, l.Host),
		slog.String(keyError, rec.Error),
		slog.Int(keyAttempts, rec.Attempts),
	}
	if rec.Status != 0 {
		attrs = append(attrs, slog.Int(keyStatus, rec.Status))
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "error", attrs...)
}

// logRetry writes the lines of an attempt at l that is tried again after
// wait: its fetch at Debug, and at Info a "retry" line, or with hostWide
// a "back-off" line (the whole host pauses, the URL with it). netErr is
// the failure of an attempt that got no response.
func (r *run) logRetry(ctx context.Context, l store.Lease, rec *result, netErr string, wait, retryAfter time.Duration, hostWide bool) {
	r.logFetch(ctx, l, rec)
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	msg := "retry"
	if hostWide {
		msg = "back-off"
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, msg, r.waitAttrs(l, rec, netErr, wait, retryAfter)...)
}

// logPause writes the "back-off" line of a host that pauses for wait
// while the URL at hand, l, is not retried: the server asked for a longer
// pause than the crawl waits.
func (r *run) logPause(ctx context.Context, l store.Lease, rec *result, netErr string, wait, retryAfter time.Duration) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "back-off", r.waitAttrs(l, rec, netErr, wait, retryAfter)...)
}

// waitAttrs are the attributes of a "retry" or "back-off" line.
func (r *run) waitAttrs(l store.Lease, rec *result, netErr string, wait, retryAfter time.Duration) []slog.Attr {
	attrs := []slog.Attr{
		slog.String(keyURL, l.URL),
		slog.String(keyHost, l.Host),
		slog.Duration(keyWait, wait),
		slog.String(keyReason, retryReason(rec, retryAfter)),
		slog.Int(keyAttempt, l.Attempt+1),
	}
	if rec.Status != 0 {
		attrs = append(attrs, slog.Int(keyStatus, rec.Status))
	}
	if retryAfter > 0 {
		attrs = append(attrs, slog.Duration("retry_after", retryAfter))
	}
	if netErr != "" {
		attrs = append(attrs, slog.String(keyError, netErr))
	}
	return attrs
}

// logRobots writes the Info line of a failure to fetch the robots.txt of
// l's host, which holds l (and the host) back.
func (r *run) logRobots(ctx context.Context, l store.Lease, err error) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "robots.txt failed",
		slog.String(keyURL, l.URL), slog.String(keyHost, l.Host), slog.String(keyError, err.Error()),
		slog.Int(keyAttempt, l.Attempt+1))
}

// logCapped writes the Info line of a host whose robots.txt Crawl-delay,
// asked, is capped to wait by MaxCrawlDelay. The crawler calls it when it
// hands the host's spacing to the frontier, once per host as long as the
// frontier keeps the host.
func (r *run) logCapped(ctx context.Context, host string, asked, wait time.Duration) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "crawl-delay capped",
		slog.String(keyHost, host), slog.Duration("crawl_delay", asked), slog.Duration(keyWait, wait))
}

// logUnreachable writes the Info line of a host declared unreachable
// after failures connection failures in a row, the last one err: its
// URLs claimed from now on are skipped.
func (r *run) logUnreachable(ctx context.Context, host string, failures int, err error) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "host unreachable",
		slog.String(keyHost, host), slog.Int("failures", failures), slog.String(keyError, err.Error()))
}

// logMaxBytes writes the Info line of a crawl that stops because the
// bytes kept, n over all its runs, reached MaxBytes.
func (r *run) logMaxBytes(ctx context.Context, n int64) {
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "max bytes reached",
		slog.Int64("bytes", n), slog.Int64("max_bytes", r.cfg.MaxBytes))
}

// logStart writes the Info lines of a crawl that starts: "resume" when it
// continues a saved state, then "start". It runs once the frontier took
// the seeds, so a start that is refused (another crawl's state, an output
// in the way) logs nothing; Run logs "end" only after it.
func (r *run) logStart(ctx context.Context, seeds []store.Entry) {
	r.began = true
	if !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	if res := r.resumed.Load(); res != nil {
		r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "resume",
			slog.Int64("done", res.Done), slog.Int("queued", res.Queued), slog.Int("runs", res.Runs))
	}
	attrs := []slog.Attr{
		slog.Int("seeds", len(seeds)),
		slog.String("scope", r.cfg.Scope.String()),
		slog.Int("concurrency", r.cfg.Concurrency),
		slog.Int("per_host", r.cfg.PerHost),
		slog.Float64("rate", r.cfg.Rate),
	}
	if len(seeds) > 0 {
		attrs = append(attrs, slog.String(keyURL, seeds[0].URL)) // the first seed
	}
	if r.cfg.MaxDepth != 0 {
		attrs = append(attrs, slog.Int("max_depth", r.cfg.MaxDepth))
	}
	if r.cfg.MaxPages != 0 {
		attrs = append(attrs, slog.Int("max_pages", r.cfg.MaxPages))
	}
	if r.cfg.MaxBytes != 0 {
		attrs = append(attrs, slog.Int64("max_bytes", r.cfg.MaxBytes))
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "start", attrs...)
}

// logEnd writes the Info line of a crawl that ended, with the summary's
// numbers and Run's error, if the crawl started (logStart).
func (r *run) logEnd(ctx context.Context, s Stats, err error) {
	if !r.began || !r.cfg.Logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	var skipped int64
	for _, n := range s.Skipped {
		skipped += n
	}
	attrs := []slog.Attr{
		slog.Int64("records", s.Records()),
		slog.Int64("fetched", s.Fetched),
		slog.Int64("errors", s.Errors),
		slog.Int64("skipped", skipped),
		slog.Int64("retries", s.Retries),
		slog.Int64("bytes", s.Bytes),
		slog.Duration(keyDuration, s.Elapsed),
		slog.Float64("pages_per_second", s.PagesPerSecond()),
		slog.Int("queued", s.Queued),
		slog.Int("in_flight", s.InFlight),
	}
	if s.Stopped != "" {
		attrs = append(attrs, slog.String("stopped", s.Stopped))
	}
	if err != nil {
		attrs = append(attrs, slog.String(keyError, err.Error()))
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "end", attrs...)
}

// logStop writes the Warn line of a failure that stops the crawl: the
// sink, the archive or the frontier failed, or a hook returned an error.
func (r *run) logStop(ctx context.Context, err error) {
	r.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "stopping", slog.String(keyError, err.Error()))
}

// logCommit writes the Error line of a checkpoint (sync) or flush that
// failed; the crawl stops with that error.
func (r *run) logCommit(ctx context.Context, sync bool, err error) {
	if err == nil {
		return
	}
	msg := "flush failed"
	if sync {
		msg = "checkpoint failed"
	}
	r.cfg.Logger.LogAttrs(ctx, slog.LevelError, msg, slog.String(keyError, err.Error()))
}
