package redis

import (
	"context"
	"fmt"
	"sync"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Client is a connection to a Redis server, as Connect makes it; Open,
// Export, Pending and Inspect take one. It is go-redis's client, so that
// a program that uses the frontier need not import go-redis itself.
type Client = goredis.UniversalClient

// CheckURL reports whether rawURL is a Redis URL that Connect and Dial
// accept: redis://[:PASSWORD@]HOST:PORT/DB, or rediss:// for TLS.
func CheckURL(rawURL string) error {
	if _, err := goredis.ParseURL(rawURL); err != nil {
		return fmt.Errorf("redis: want redis://HOST:PORT/DB (or rediss:// for TLS): %w", err)
	}
	return nil
}

// Connect connects to the Redis server at rawURL (see CheckURL) and checks
// that it answers within a few seconds. A server that does not gives an
// error wrapping ErrUnreachable that names its address. The caller closes
// the client.
func Connect(ctx context.Context, rawURL string) (Client, error) {
	o, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: want redis://HOST:PORT/DB (or rediss:// for TLS): %w", err)
	}
	o.DialTimeout = dialTimeout
	// RESP2 and no maintenance notifications: the frontier subscribes to
	// nothing, and RESP3's push notifications cost a check of every
	// reply (and maintenance notifications a hook on every call).
	o.Protocol = 2
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	c := goredis.NewClient(o)
	pctx, cancel := context.WithTimeout(ctx, dialTimeout)
	err = c.Ping(pctx).Err()
	cancel()
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, o.Addr, err)
	}
	return c, nil
}

// QuietClientLogs stops go-redis's own log, which by default writes a line
// to stderr each time a connection fails or is retried. A program that
// reports errors itself, such as the trawl command, calls it once; it
// affects every go-redis client of the process.
func QuietClientLogs() {
	quiet.Do(func() { goredis.SetLogger(discardLog{}) })
}

var quiet sync.Once

// discardLog is a go-redis logger that writes nothing.
type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}
