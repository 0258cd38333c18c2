package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"trawl/store"
)

func ExampleMemory() {
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f := store.NewMemory(store.FrontierOptions{PerHost: 2, Interval: time.Second, Now: func() time.Time { return now }})
	defer f.Close()

	added, _ := f.Push(ctx, []store.Entry{
		{URL: "http://a.test/1", Key: "http://a.test/1", Host: "a.test"},
		{URL: "http://a.test/2", Key: "http://a.test/2", Host: "a.test"},
		{URL: "http://a.test/1", Key: "http://a.test/1", Host: "a.test"}, // duplicate
	})
	fmt.Println("added", added)

	leases, next, _ := f.Claim(ctx, 10)
	fmt.Println("claimed", len(leases), leases[0].URL, "next in", next.Sub(now))
	_ = f.Ack(ctx, leases[0], store.Outcome{Status: 200})

	now = now.Add(time.Second)
	leases, _, _ = f.Claim(ctx, 10)
	fmt.Println("claimed", len(leases), leases[0].URL)
	// Output:
	// added 2
	// claimed 1 http://a.test/1 next in 1s
	// claimed 1 http://a.test/2
}

func ExampleJSONL() {
	s := store.NewJSONL(os.Stdout)
	_ = s.Put(context.Background(), store.Record{URL: "http://a.test/", Status: 200, Title: "Home & away"})
	_ = s.Put(context.Background(), store.Record{URL: "http://a.test/private", Depth: 1, Skipped: "robots"})
	if err := s.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"url":"http://a.test/","status":200,"depth":0,"title":"Home & away"}
	// {"url":"http://a.test/private","depth":1,"skipped":"robots"}
}

func ExampleCSV() {
	s := store.NewCSV(os.Stdout)
	_ = s.Put(context.Background(), store.Record{URL: "http://a.test/", Status: 200, Title: "Hello, world"})
	if err := s.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// url,final_url,location,status,depth,parent,content_type,bytes,truncated,title,links,fetched_at,duration_ms,attempts,error,skipped
	// http://a.test/,,,200,0,,,,,"Hello, world",,,,,,
}

func ExampleFilter() {
	dir, _ := os.MkdirTemp("", "trawl-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "out.jsonl")
	f, err := store.OpenFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()

	// Only fetched and failed URLs in the output: the skipped ones are
	// still done as far as the crawl is concerned, but not written.
	out := store.Filter(store.NewJSONL(f), func(r store.Record) bool { return r.Skipped == "" })
	ctx := context.Background()
	for _, r := range []store.Record{
		{URL: "http://a.test/", Status: 200},
		{URL: "http://a.test/private", Depth: 1, Skipped: "robots"},
		{URL: "http://a.test/gone", Depth: 1, Status: 404},
		{URL: "http://b.test/", Depth: 1, Error: "connection refused"},
	} {
		if err := out.Put(ctx, r); err != nil {
			fmt.Println(err)
		}
	}

	// The filter keeps the sink's Sync, Mark, Verify and Rewind: with a
	// checkpointing frontier, the crawler still writes each URL once
	// however often the crawl is killed and resumed.
	type syncSink interface {
		Sync() (int64, error)
		Mark() (store.Span, error)
		Verify(store.Span) error
		Rewind(pos int64) error
	}
	if s, ok := out.(syncSink); ok {
		n, err := s.Sync()
		fmt.Println("synced", n, "bytes", err)
	}
	b, _ := os.ReadFile(path)
	fmt.Print(string(b))
	// Output:
	// synced 164 bytes <nil>
	// {"url":"http://a.test/","status":200,"depth":0}
	// {"url":"http://a.test/gone","status":404,"depth":1}
	// {"url":"http://b.test/","depth":1,"error":"connection refused"}
}

func ExampleFetched() {
	out := store.Filter(store.NewJSONL(os.Stdout), store.Fetched)
	ctx := context.Background()
	_ = out.Put(ctx, store.Record{URL: "http://a.test/", Status: 200})
	_ = out.Put(ctx, store.Record{URL: "http://a.test/gone", Depth: 1, Status: 404})
	_ = out.Put(ctx, store.Record{URL: "http://a.test/busy", Depth: 1, Status: 429, Error: "server asked to retry after 1h0m0s"})
	_ = out.Put(ctx, store.Record{URL: "http://a.test/private", Depth: 1, Skipped: "robots"})
	// The filter has Flush because JSONL has it.
	if f, ok := out.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// {"url":"http://a.test/","status":200,"depth":0}
	// {"url":"http://a.test/gone","status":404,"depth":1}
}
