package crawler

import (
	"context"
	"testing"

	"trawl/fetch"
	"trawl/internal/bufpool"
)

// Every crawl in these tests poisons the page bodies it releases (see
// run.releaseBodies), so that a record, link or count that kept a piece of
// a body shows the poison instead of the page.
func init() { bufpool.Poison.Store(true) }

// TestReleasesBodies: a plain crawl gives its page bodies back (which
// TestReleasedBodiesLoseNothing relies on), and one where a hook, the
// renderer or another Fetcher could keep a body does not.
func TestReleasesBodies(t *testing.T) {
	own := fetch.New(fetch.Config{})
	defer own.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"plain", Config{}, true},
		{"OnResponse", Config{OnResponse: func(context.Context, *fetch.Response) error { return nil }}, false},
		{"OnPage", Config{OnPage: func(context.Context, *Page) error { return nil }}, false},
		{"Render", Config{Render: &RenderConfig{}}, false},
		{"Fetcher", Config{Fetcher: own}, false},
		{"WrapFetcher", Config{WrapFetcher: func(f Fetcher) Fetcher { return f }}, false},
	} {
		if got := releasesBodies(tc.cfg); got != tc.want {
			t.Errorf("%s: releasesBodies = %v, want %v", tc.name, got, tc.want)
		}
	}
}
