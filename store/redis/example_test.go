package redis_test

import (
	"context"
	"fmt"
	"log"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
	"trawl/store/redis"
)

// Two workers share a crawl: what one pushes the other claims, and a
// host's per-host limit holds for both together.
func Example() {
	mr, err := miniredis.Run() // a real server: redis.Dial(ctx, "redis://HOST:6379/0", ...)
	if err != nil {
		log.Fatal(err)
	}
	defer mr.Close()
	ctx := context.Background()
	opts := redis.Options{Crawl: "example", FrontierOptions: store.FrontierOptions{PerHost: 1}}
	a, err := redis.Dial(ctx, "redis://"+mr.Addr()+"/0", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := redis.Dial(ctx, "redis://"+mr.Addr()+"/0", opts)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	var es []store.Entry
	for _, u := range []string{"http://a.test/", "http://a.test/x", "http://a.test/"} {
		es = append(es, store.Entry{URL: u, Key: u, Host: "a.test"})
	}
	added, _ := a.Push(ctx, es)
	fmt.Println("added", added)

	ls, _, _ := b.Claim(ctx, 10)
	fmt.Println("b claimed", ls[0].URL)
	more, _, _ := a.Claim(ctx, 10)
	fmt.Println("a claimed", len(more), "(a.test has one lease at a time)")
	if err := b.AckRecord(ctx, ls[0], store.Outcome{Status: 200}, []byte(`{"url":"http://a.test/","status":200}`)); err != nil {
		log.Fatal(err)
	}

	// trawl state: the crawl as any process sees it.
	c := goredis.NewClient(&goredis.Options{Addr: mr.Addr()})
	defer c.Close()
	st, err := redis.Inspect(ctx, c, "example")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("queued %d, done %d, records to export %d, workers %d\n", st.Frontier.Queued, st.Frontier.Done, st.Outbox, len(st.Workers))
	// Output:
	// added 2
	// b claimed http://a.test/
	// a claimed 0 (a.test has one lease at a time)
	// queued 1, done 1, records to export 1, workers 2
}
