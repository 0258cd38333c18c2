package crawler_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"trawl/crawler"
	"trawl/fixtures"
	"trawl/parse"
	"trawl/store"
)

// linksCrawl crawls the Links fixture site with out-links recorded and
// returns its records by key and its stats.
func linksCrawl(t *testing.T, assets bool, sitemaps []string, seeds ...string) (map[string]store.Record, crawler.Stats) {
	t.Helper()
	srv := fixtures.NewServer(fixtures.Links())
	t.Cleanup(srv.Close)
	sink := &records{}
	stats, err := runCrawl(t, crawler.Config{
		Resolve:     srv.Resolve(fixtures.LinksHost),
		Rate:        -1,
		PerHost:     4,
		Assets:      assets,
		Sitemaps:    sitemaps,
		RecordLinks: true,
		Sink:        sink,
	}, seeds...)
	if err != nil {
		t.Fatal(err)
	}
	return sink.byKey(t), stats
}

// brief shows a record without its out-links.
func brief(r store.Record) string {
	return fmt.Sprintf("{%s status %d depth %d parent %q kind %v error %q skipped %q, %d out-links}",
		r.URL, r.Status, r.Depth, r.Parent, r.Kind, r.Error, r.Skipped, len(r.OutLinks))
}

// linksTarget returns the absolute URL of a LinkSource path.
func linksTarget(p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return "http://" + fixtures.LinksHost + p
}

// TestDiscoverEverySource crawls the Links fixture site, whose pages each
// link one unique target in one of the ways HTML, CSS, headers, robots.txt
// and sitemaps can, and checks that every target is discovered with the
// right kind, source and method, and fetched exactly when it should be:
// pages, sitemaps and GET forms by default, assets only with Assets, POST
// endpoints and out-of-scope URLs never.
func TestDiscoverEverySource(t *testing.T) {
	sources := fixtures.LinkSources()
	for _, assets := range []bool{false, true} {
		t.Run(fmt.Sprintf("assets=%v", assets), func(t *testing.T) {
			recs, stats := linksCrawl(t, assets, nil, "http://"+fixtures.LinksHost+"/")
			// found[target key] lists the out-links to it, by the page
			// that has them.
			type seen struct {
				page string
				link store.Link
			}
			found := map[string][]seen{}
			for _, r := range recs {
				for _, l := range r.OutLinks {
					k := key(t, l.URL)
					found[k] = append(found[k], seen{r.URL, l})
				}
			}
			for _, s := range sources {
				if s.Fetch == "seed" {
					continue // TestDiscoverSitemapSeed
				}
				target := key(t, s.URL(fixtures.LinksHost))
				reachable := s.Fetch == "default" || s.Fetch == "never" || assets
				if s.Page != "" && strings.HasPrefix(s.Page, "/t/") && !assets {
					reachable = false // a file only an assets crawl fetches
				}
				switch s.Source {
				case "robots.txt", "default":
					// Queued by the crawl itself: the sitemap's record says so.
					r, ok := recs[target]
					if !ok || r.Kind != parse.KindSitemap || r.Status != http.StatusOK {
						t.Errorf("%s: sitemap %s: record %s, want a fetched sitemap", s.Name, target, brief(r))
					}
					if s.Source == "robots.txt" && !strings.HasSuffix(r.Parent, "/robots.txt") {
						t.Errorf("%s: parent %q, want the robots.txt", s.Name, r.Parent)
					}
					continue
				}
				if !reachable {
					continue
				}
				var match bool
				var got []string
				for _, f := range found[target] {
					got = append(got, fmt.Sprintf("%s %s %s %q on %s", f.link.Kind, f.link.Source, f.link.Method, f.link.URL, f.page))
					if f.link.Kind.String() == s.Kind && f.link.Source == s.Source && f.link.Method == s.Method &&
						key(t, f.page) == key(t, s.PageURL(fixtures.LinksHost)) {
						match = true
					}
				}
				if !match {
					t.Errorf("%s: %s not found as %s %s %s on %s; found as %v", s.Name, target, s.Kind, s.Source, s.Method, s.Page, got)
				}
				r, fetched := recs[target]
				fetched = fetched && r.Skipped == ""
				wantFetched := s.Fetch == "default" || s.Fetch == "assets" && assets
				if fetched != wantFetched {
					t.Errorf("%s: %s fetched = %v, want %v (record %s)", s.Name, target, fetched, wantFetched, brief(r))
				}
			}
			for _, k := range []parse.Kind{parse.KindPage, parse.KindAsset, parse.KindForm, parse.KindSitemap} {
				if stats.Links[k] == 0 {
					t.Errorf("Stats.Links[%v] = 0, want the links found of that kind (%v)", k, stats.Links)
				}
			}
			t.Logf("assets=%v: %d records, %d fetched, links by kind %v", assets, len(recs), stats.Fetched, stats.Links)
		})
	}
}

// TestDiscoverSitemapSeed: a sitemap given as a seed is read, its URLs
// fetched one hop from it, and the crawl needs no page seed.
func TestDiscoverSitemapSeed(t *testing.T) {
	seed := linksTarget(fixtures.LinksSeedSitemap)
	recs, _ := linksCrawl(t, false, []string{seed})
	if sm, ok := recs[key(t, seed)]; !ok || sm.Kind != parse.KindSitemap || sm.Depth != 0 || sm.Status != http.StatusOK {
		t.Errorf("sitemap seed record %s, want a fetched sitemap at depth 0", brief(sm))
	}
	n := 0
	for _, s := range fixtures.LinkSources() {
		if s.Fetch != "seed" || s.Page == "" {
			continue
		}
		n++
		r, ok := recs[key(t, s.URL(fixtures.LinksHost))]
		if !ok || r.Status != http.StatusOK || r.Depth != 1 || r.Parent != seed {
			t.Errorf("%s: %s: record %s, want fetched at depth 1 with the sitemap as parent", s.Name, s.Target, brief(r))
		}
	}
	if n == 0 {
		t.Error("the fixture lists no URL of the seed sitemap")
	}
}

// TestDiscoverSitemapLimits: the oversized sitemap's record says it was
// cut at the protocol's limit, and the URL listed before the cut is
// fetched; the URLs of another host listed in sitemaps are not.
func TestDiscoverSitemapLimits(t *testing.T) {
	recs, stats := linksCrawl(t, false, nil, "http://"+fixtures.LinksHost+"/")
	huge, ok := recs[key(t, linksTarget("/sitemaps/huge.xml"))]
	if !ok || !strings.Contains(strings.ReplaceAll(huge.Error, ",", ""), "50000") {
		t.Errorf("huge sitemap record %s, want an error naming the 50,000-URL limit", brief(huge))
	}
	if r := recs[key(t, linksTarget("/t/sitemap-huge"))]; r.Status != http.StatusOK {
		t.Errorf("the URL before the limit: record %s, want it fetched", brief(r))
	}
	for k, r := range recs {
		if strings.Contains(k, fixtures.LinksElsewhere) {
			t.Errorf("out-of-scope URL recorded: %s", brief(r))
		}
	}
	if stats.OutOfScope < 1 {
		t.Errorf("OutOfScope = %d, want the other host's URLs counted", stats.OutOfScope)
	}
}

// TestNoSitemaps: with NoSitemaps the crawl neither probes /sitemap.xml
// nor reads robots.txt's Sitemap lines.
func TestNoSitemaps(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Links())
	defer srv.Close()
	if _, err := runCrawl(t, crawler.Config{
		Resolve:    srv.Resolve(fixtures.LinksHost),
		Rate:       -1,
		NoSitemaps: true,
		MaxDepth:   -1,
	}, "http://"+fixtures.LinksHost+"/"); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "/sitemap") {
			t.Errorf("requested %s with NoSitemaps", r.URL())
		}
	}
}

// TestSitemapProbeUnrecorded: a host without a sitemap gets its
// /sitemap.xml probed, like robots.txt, without a record, and so does the
// probe's redirect; the probe is outside the MaxPages budget.
func TestSitemapProbeUnrecorded(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/", "/a":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/a">a</a>`)
		case "/sitemap.xml":
			// Redirected, as some hosts redirect every path, to nothing.
			http.Redirect(w, r, "/sitemap_index.xml", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()
	sink := &records{}
	stats, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve("p.trawl.test"), Rate: -1, MaxPages: 2, Sink: sink}, "http://p.trawl.test/")
	if err != nil {
		t.Fatal(err)
	}
	probed := map[string]bool{}
	for _, r := range srv.Requests() {
		probed[r.Path] = true
	}
	if !probed["/sitemap.xml"] || !probed["/sitemap_index.xml"] {
		t.Errorf("requests %v: want /sitemap.xml probed and its redirect followed", probed)
	}
	recs := sink.byKey(t)
	if _, ok := recs[key(t, "http://p.trawl.test/sitemap.xml")]; ok || len(recs) != 2 || stats.Fetched != 2 {
		t.Errorf("%d records (%d fetched): %v; want / and /a, no record of the probe", len(recs), stats.Fetched, recs)
	}
}

// TestGuessLinks: with GuessLinks, URLs written as text in an inline
// script and in a fetched JSON file are followed; without it they are not.
func TestGuessLinks(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<script>fetch("/api/items.json").then(r => r.json())</script>`)
		case "/api/items.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"next":"http:\/\/g.trawl.test\/items\/2.html"}`)
		case "/items/2.html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<title>two</title>`)
		default:
			http.NotFound(w, r)
		}
	})
	for _, guess := range []bool{false, true} {
		srv := fixtures.NewServer(mux)
		sink := &records{}
		if _, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve("g.trawl.test"), Rate: -1, GuessLinks: guess, NoSitemaps: true, Sink: sink}, "http://g.trawl.test/"); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		recs := sink.byKey(t)
		want := 1
		if guess {
			want = 3
		}
		if len(recs) != want {
			var got []string
			for _, r := range recs {
				got = append(got, brief(r))
			}
			t.Errorf("GuessLinks %v: %d records, want %d: %v", guess, len(recs), want, got)
		}
		if r := recs[key(t, "http://g.trawl.test/items/2.html")]; guess && (r.Title != "two" || r.Parent != "http://g.trawl.test/api/items.json") {
			t.Errorf("the page named in the JSON: %s, want fetched with the JSON as parent", brief(r))
		}
	}
}

// TestAssetsPolicy: with Assets, a page's assets are fetched even past
// MaxDepth and from a page whose robots meta says nofollow (which still
// stops its page links); without Assets none is.
func TestAssetsPolicy(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, `<a href="/p">p</a><img src="/i0.png">`)
		case "/p":
			fmt.Fprint(w, `<meta name="robots" content="nofollow"><a href="/q">q</a><img src="/i1.png">`)
		case "/q":
			fmt.Fprint(w, `q`)
		case "/i0.png", "/i1.png":
			w.Header().Set("Content-Type", "image/png")
			fmt.Fprint(w, "png")
		default:
			http.NotFound(w, r)
		}
	})
	for _, assets := range []bool{false, true} {
		srv := fixtures.NewServer(mux)
		sink := &records{}
		stats, err := runCrawl(t, crawler.Config{Resolve: srv.Resolve("a.trawl.test"), Rate: -1, MaxDepth: 1,
			Assets: assets, NoSitemaps: true, Sink: sink}, "http://a.trawl.test/")
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		recs := sink.byKey(t)
		var got []string
		for _, r := range recs {
			got = append(got, brief(r))
		}
		for _, p := range []string{"/i0.png", "/i1.png"} {
			r, ok := recs[key(t, "http://a.trawl.test"+p)]
			if ok != assets || assets && (r.Status != http.StatusOK || r.Kind != parse.KindAsset) {
				t.Errorf("assets=%v: %s record %s (present %v), want it fetched as an asset only with Assets; records %v", assets, p, brief(r), ok, got)
			}
		}
		if _, ok := recs[key(t, "http://a.trawl.test/q")]; ok || stats.NoFollow != 1 {
			t.Errorf("assets=%v: /q recorded %v, %d nofollow; want the nofollow page's link counted, not followed", assets, ok, stats.NoFollow)
		}
	}
}
