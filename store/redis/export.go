package redis

import (
	"context"

	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
)

// Export moves crawl's records from its outbox into out under name,
// exactly once across every output of the crawl. It first cuts out back
// to the size name last committed (so records written after that commit
// by a process that was then killed are dropped, to be taken again), then
// repeatedly takes records, writes them to out, syncs it and commits the
// records taken together with out's new size. It returns when ctx ends,
// or when stop is closed (nil: at once) and no record is left to take.
func Export(ctx context.Context, c goredis.UniversalClient, crawl, name string, out store.Output, stop <-chan struct{}) error {
	return errTODO
}
