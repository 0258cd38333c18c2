package redis

import (
	"context"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
)

// errTODO marks the skeleton's methods until they are written.
var errTODO = errors.New("redis: not implemented yet")

// Frontier is a crawl frontier in Redis shared by any number of workers.
// It satisfies crawler.Frontier, crawler.Outbox and fetch.RobotsCache
// (the workers share robots.txt files). Its methods are safe for
// concurrent use. Close it to stop its background work (lease extension,
// heartbeat); Close does not close the client it was opened with.
type Frontier struct {
	c    goredis.UniversalClient
	opts Options
}

// Dial connects to the Redis server at rawURL (redis://[:PASSWORD@]HOST:PORT/DB,
// or rediss:// for TLS) and opens crawl opts.Crawl there. A server that
// does not answer gives an error wrapping ErrUnreachable. Close closes the
// connection too.
func Dial(ctx context.Context, rawURL string, opts Options) (*Frontier, error) {
	return nil, errTODO
}

// Open opens crawl opts.Crawl with client c, creating it if it does not
// exist, and registers this process as one of its workers.
func Open(ctx context.Context, c goredis.UniversalClient, opts Options) (*Frontier, error) {
	return nil, errTODO
}

func (f *Frontier) Push(ctx context.Context, entries []store.Entry) (int, error) { return 0, errTODO }
func (f *Frontier) MarkSeen(ctx context.Context, key string) (bool, error)      { return false, errTODO }
func (f *Frontier) Claim(ctx context.Context, max int) ([]store.Lease, time.Time, error) {
	return nil, time.Time{}, errTODO
}
func (f *Frontier) Ack(ctx context.Context, l store.Lease, o store.Outcome) error { return errTODO }
func (f *Frontier) Retry(ctx context.Context, l store.Lease, notBefore time.Time, hostBackoff bool) error {
	return errTODO
}
func (f *Frontier) Release(ctx context.Context, l store.Lease, notBefore time.Time) error {
	return errTODO
}
func (f *Frontier) SetHostInterval(ctx context.Context, host string, d time.Duration) error {
	return errTODO
}
func (f *Frontier) Stats(ctx context.Context) (store.FrontierStats, error) {
	return store.FrontierStats{}, errTODO
}
func (f *Frontier) Close() error { return errTODO }

func (f *Frontier) AckRecord(ctx context.Context, l store.Lease, o store.Outcome, rec []byte) error {
	return errTODO
}
func (f *Frontier) MarkSeenRecord(ctx context.Context, key string, rec []byte) (bool, error) {
	return false, errTODO
}
func (f *Frontier) Join(ctx context.Context, meta []byte) ([]byte, error) { return nil, errTODO }

// Export moves the crawl's records into out (see crawler.Outbox and the
// package doc). It is the function Export with this frontier's client.
func (f *Frontier) Export(ctx context.Context, name string, out store.Output, stop <-chan struct{}) error {
	return Export(ctx, f.c, f.opts.Crawl, name, out, stop)
}

func (f *Frontier) LoadRobots(origin string) (body []byte, fetched time.Time, ok bool) {
	return nil, time.Time{}, false
}
func (f *Frontier) StoreRobots(origin string, body []byte, fetched time.Time) error { return errTODO }

// Status is what trawl state shows of a crawl on Redis.
type Status struct {
	Crawl    string
	Meta     []byte // the crawl's identity, as Join stored it; nil if none yet
	Frontier store.FrontierStats
	// Failed and Skipped count the acks whose outcome had an Error or a
	// Skipped reason; Done counts all.
	Failed, Skipped int64
	// Outbox is the number of records not yet exported; Exported those
	// committed by every output, by name.
	Outbox   int64
	Exported map[string]int64
	Hosts    []HostStatus // the hosts with queued or in-flight entries, most queued first, at most 20
	Workers  []Worker     // the workers seen in the last minute
	Now      time.Time    // Redis's time when read
}

// HostStatus is one host's share of a crawl.
type HostStatus struct {
	Host             string
	Queued, InFlight int
	NextAllowed      time.Time
}

// Worker is a process working on a crawl.
type Worker struct {
	Name     string
	LastSeen time.Time
	InFlight int // leases it holds
}

// Inspect reads crawl's status without joining it. A crawl that does not
// exist gives ErrNoCrawl.
func Inspect(ctx context.Context, c goredis.UniversalClient, crawl string) (Status, error) {
	return Status{}, errTODO
}
