package store_test

import (
	"context"
	"io"
	"testing"
	"time"

	"trawl/store"
)

// benchRecord is a typical fetched page: every field a crawl without a
// page hook fills in.
var benchRecord = store.Record{
	URL:         "https://www.example.com/docs/guide/getting-started?lang=en",
	FinalURL:    "https://www.example.com/docs/guide/getting-started/?lang=en",
	Status:      200,
	Depth:       3,
	Parent:      "https://www.example.com/docs/guide/",
	ContentType: "text/html; charset=utf-8",
	Bytes:       48213,
	Title:       "Getting started – Example Docs: install, configure & run <fast>",
	Canonical:   "https://www.example.com/docs/guide/getting-started/",
	Description: "How to install Example, write a first config file and run it against a test site in five minutes.",
	Lang:        "en",
	Links:       87,
	FetchedAt:   time.Date(2025, 3, 4, 5, 6, 7, 890_123_456, time.UTC),
	DurationMS:  143,
	Attempts:    1,
}

func BenchmarkJSONLPut(b *testing.B) {
	ctx := context.Background()
	b.Run("fetched", func(b *testing.B) {
		s := store.NewJSONL(io.Discard)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Put(ctx, benchRecord); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("data", func(b *testing.B) {
		s := store.NewJSONL(io.Discard)
		r := benchRecord
		r.Data = map[string]any{"price": 3.5, "sku": "A-1234", "tags": []string{"new", "sale"}}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Put(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("skipped", func(b *testing.B) {
		s := store.NewJSONL(io.Discard)
		r := store.Record{URL: benchRecord.URL, Depth: 4, Parent: benchRecord.Parent, Skipped: "robots"}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Put(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		s := store.NewJSONL(io.Discard)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Put(ctx, benchRecord); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkCSVPut(b *testing.B) {
	ctx := context.Background()
	s := store.NewCSV(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Put(ctx, benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}
