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

// exampleRecords are one record of each kind: fetched, failed, skipped.
var exampleRecords = []store.Record{
	{
		URL: "http://a.test/", Status: 200, ContentType: "text/html", Bytes: 5120, Title: "Home & away, again",
		Links: 12, FetchedAt: time.Date(2025, 3, 4, 5, 6, 7, 80_000_000, time.UTC), DurationMS: 0, Attempts: 1,
	},
	{URL: "http://b.test/", Depth: 1, Parent: "http://a.test/", Attempts: 3, Error: "connection refused"},
	{URL: "http://a.test/private", Depth: 1, Parent: "http://a.test/", Skipped: "robots"},
}

func ExampleJSONL() {
	s := store.NewJSONL(os.Stdout)
	for _, r := range exampleRecords {
		if err := s.Put(context.Background(), r); err != nil {
			fmt.Println(err)
		}
	}
	if err := s.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"url":"http://a.test/","status":200,"depth":0,"content_type":"text/html","bytes":5120,"title":"Home & away, again","links":12,"fetched_at":"2025-03-04T05:06:07.080Z","duration_ms":0,"attempts":1}
	// {"url":"http://b.test/","depth":1,"parent":"http://a.test/","duration_ms":0,"attempts":3,"error":"connection refused"}
	// {"url":"http://a.test/private","depth":1,"parent":"http://a.test/","skipped":"robots"}
}

func ExampleCSV() {
	s := store.NewCSV(os.Stdout)
	for _, r := range exampleRecords {
		if err := s.Put(context.Background(), r); err != nil {
			fmt.Println(err)
		}
	}
	if err := s.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// url,final_url,location,status,depth,parent,content_type,bytes,truncated,title,canonical,description,lang,links,rendered,render_requests,render_clicks,fetched_at,duration_ms,attempts,error,skipped,kind,outlinks,warc_file,warc_offset,data
	// http://a.test/,,,200,0,,text/html,5120,,"Home & away, again",,,,12,,,,2025-03-04T05:06:07.080Z,0,1,,,,,,,
	// http://b.test/,,,,1,http://a.test/,,,,,,,,,,,,,0,3,connection refused,,,,,,
	// http://a.test/private,,,,1,http://a.test/,,,,,,,,,,,,,,,,robots,,,,,
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
		{URL: "http://a.test/", Status: 200, DurationMS: 3, Attempts: 1},
		{URL: "http://a.test/private", Depth: 1, Skipped: "robots"},
		{URL: "http://a.test/gone", Depth: 1, Status: 404, DurationMS: 1, Attempts: 1},
		{URL: "http://b.test/", Depth: 1, Attempts: 3, Error: "connection refused"},
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
	// synced 251 bytes <nil>
	// {"url":"http://a.test/","status":200,"depth":0,"duration_ms":3,"attempts":1}
	// {"url":"http://a.test/gone","status":404,"depth":1,"duration_ms":1,"attempts":1}
	// {"url":"http://b.test/","depth":1,"duration_ms":0,"attempts":3,"error":"connection refused"}
}

func ExampleFetched() {
	out := store.Filter(store.NewJSONL(os.Stdout), store.Fetched)
	ctx := context.Background()
	_ = out.Put(ctx, store.Record{URL: "http://a.test/", Status: 200, DurationMS: 3, Attempts: 1})
	_ = out.Put(ctx, store.Record{URL: "http://a.test/gone", Depth: 1, Status: 404, DurationMS: 1, Attempts: 1})
	_ = out.Put(ctx, store.Record{URL: "http://a.test/busy", Depth: 1, Status: 429, Attempts: 1, Error: "server asked to retry after 1h0m0s"})
	_ = out.Put(ctx, store.Record{URL: "http://a.test/private", Depth: 1, Skipped: "robots"})
	// The filter has Flush because JSONL has it.
	if f, ok := out.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			fmt.Println(err)
		}
	}
	// Output:
	// {"url":"http://a.test/","status":200,"depth":0,"duration_ms":3,"attempts":1}
	// {"url":"http://a.test/gone","status":404,"depth":1,"duration_ms":1,"attempts":1}
}
