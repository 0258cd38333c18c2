package redis

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"trawl/store"
)

// Robots files are kept under robots:<origin> as the fetch time in Unix
// milliseconds, "|" and the body, for robotsKeep: a fetcher takes one
// for a day (fetch's robotsTTL), so older ones are dropped by Redis.
const (
	robotsKeep    = 25 * time.Hour
	robotsTimeout = 2 * time.Second // bounds LoadRobots and StoreRobots
)

// LoadRobots returns the robots.txt body that a worker of the crawl
// fetched for origin (such as "https://example.com") and when; ok is
// false if none is kept, or if Redis does not answer within two seconds
// (the caller then fetches the file itself).
func (f *Frontier) LoadRobots(origin string) (body []byte, fetched time.Time, ok bool) {
	if f.isClosed() {
		return nil, time.Time{}, false
	}
	ctx, cancel := context.WithTimeout(f.bg, robotsTimeout)
	defer cancel()
	v, err := f.c.Get(ctx, f.p+"robots:"+origin).Bytes()
	if err != nil {
		return nil, time.Time{}, false
	}
	at, body, found := bytes.Cut(v, []byte{'|'})
	n, err := strconv.ParseInt(string(at), 10, 64)
	if !found || err != nil {
		return nil, time.Time{}, false
	}
	return body, time.UnixMilli(n), true
}

// StoreRobots keeps body, fetched at fetched, for origin, for every
// worker of the crawl.
func (f *Frontier) StoreRobots(origin string, body []byte, fetched time.Time) error {
	if f.isClosed() {
		return store.ErrClosed
	}
	ctx, cancel := context.WithTimeout(f.bg, robotsTimeout)
	defer cancel()
	v := strconv.AppendInt(make([]byte, 0, 20+len(body)), fetched.UnixMilli(), 10)
	v = append(append(v, '|'), body...)
	if err := f.c.Set(ctx, f.p+"robots:"+origin, v, robotsKeep).Err(); err != nil {
		return fmt.Errorf("redis: store robots.txt of %s: %w", origin, err)
	}
	return nil
}
