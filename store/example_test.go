package store_test

import (
	"context"
	"fmt"
	"os"
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
