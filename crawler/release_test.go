package crawler_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/fixtures"
	"trawl/parse"
	"trawl/store"
)

// TestReleasedBodiesLoseNothing crawls two fixture sites (every kind of
// link, sitemaps, charsets, extraction) once as a plain crawl, which gives
// each page's body back to the fetcher's pool once the page is handled,
// and once with a response hook, which makes the crawl keep the bodies.
// The tests poison released bodies (poison_internal_test.go), so a record
// that kept a piece of a body would differ.
func TestReleasedBodiesLoseNothing(t *testing.T) {
	links := fixtures.NewServer(fixtures.Links())
	defer links.Close()
	basic := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer basic.Close()
	for _, site := range []struct {
		name string
		cfg  crawler.Config
		seed string
	}{
		{"links", crawler.Config{Resolve: links.Resolve(fixtures.LinksHost), Assets: true}, "http://" + fixtures.LinksHost + "/"},
		{"basic", crawler.Config{Resolve: basic.Resolve(fixtures.WWW, fixtures.Blog), Scope: crawler.ScopeDomain}, "http://" + fixtures.WWW + "/"},
	} {
		t.Run(site.name, func(t *testing.T) {
			crawl := func(keep bool) map[string]store.Record {
				cfg := site.cfg
				cfg.Rate = -1
				cfg.RecordLinks, cfg.ExtractJSONLD = true, true
				for _, spec := range []string{"h1=h1", "links=a@href"} {
					x, err := parse.ParseExtractor(spec, true)
					if err != nil {
						t.Fatal(err)
					}
					cfg.Extract = append(cfg.Extract, x)
				}
				if keep {
					cfg.OnResponse = func(context.Context, *fetch.Response) error { return nil }
				}
				sink := &records{}
				cfg.Sink = sink
				if _, err := runCrawl(t, cfg, site.seed); err != nil {
					t.Fatal(err)
				}
				recs := sink.byKey(t)
				for k, r := range recs {
					// Which page found a URL first may vary.
					r.FetchedAt, r.DurationMS, r.Depth, r.Parent = time.Time{}, 0, 0, ""
					recs[k] = r
				}
				return recs
			}
			kept, released := crawl(true), crawl(false)
			if len(kept) < 20 {
				t.Fatalf("only %d records", len(kept))
			}
			titled := 0
			for k, want := range kept {
				got, ok := released[k]
				if !ok {
					t.Errorf("%s: no record when bodies are released", k)
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: released bodies give\n  %+v\nkept bodies give\n  %+v", k, got, want)
				}
				if want.Title != "" {
					titled++
				}
			}
			for k := range released {
				if _, ok := kept[k]; !ok {
					t.Errorf("%s: a record only when bodies are released", k)
				}
			}
			if titled == 0 {
				t.Error("no record has a title: the comparison would not see a poisoned page")
			}
		})
	}
}
