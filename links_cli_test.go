package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trawl/fixtures"
	"trawl/parse"
)

// TestLinksDemo: trawl demo --site links with --links and --assets
// writes each page's out-links with kind and source, fetches the assets,
// and the summary counts links by kind.
func TestLinksDemo(t *testing.T) {
	for _, assets := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "links.jsonl")
		args := []string{"demo", "--site", "links", "--rate", "-1", "--links", "-o", out}
		if assets {
			args = append(args, "--assets")
		}
		_, stderr, code := trawl(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr:\n%s", args, code, stderr)
		}
		if !strings.Contains(stderr, "found    page: ") || !strings.Contains(stderr, "asset: ") {
			t.Errorf("summary without links by kind:\n%s", stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		fetchedAssets, outAssets := 0, 0
		for _, r := range readRecords(t, data) {
			if r.Kind == parse.KindAsset && r.Status != 0 {
				fetchedAssets++
			}
			for _, l := range r.OutLinks {
				if l.Kind == parse.KindAsset && l.Source != "" {
					outAssets++
				}
			}
		}
		if outAssets == 0 {
			t.Errorf("assets=%v: no asset among the out-links of %d bytes of records", assets, len(data))
		}
		if want := len(fixtures.LinksFetched(true)) - len(fixtures.LinksFetched(false)); assets != (fetchedAssets > 0) || assets && fetchedAssets < want {
			t.Errorf("assets=%v: %d asset records fetched, want %d", assets, fetchedAssets, want)
		}
	}
}

// TestSitemapFlag: --sitemap alone is a crawl: the sitemap and the URLs
// it lists are fetched; --no-sitemaps leaves /sitemap.xml alone.
func TestSitemapFlag(t *testing.T) {
	srv := fixtures.NewServer(fixtures.Links())
	defer srv.Close()
	seed := "http://" + fixtures.LinksHost + fixtures.LinksSeedSitemap
	args := append(resolveAll(srv, fixtures.LinksHost), "--rate", "-1", "--no-sitemaps", "--sitemap", seed)
	stdout, stderr, code := trawl(t, args...)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	recs := readRecords(t, []byte(stdout))
	if len(recs) != 2 || recs[0].URL != seed || recs[0].Kind != parse.KindSitemap || recs[1].Parent != seed || recs[1].Status != 200 {
		t.Errorf("records %+v, want the sitemap then its one URL", recs)
	}
	for _, r := range srv.Requests() {
		if r.Path == "/sitemap.xml" {
			t.Errorf("--no-sitemaps: %s requested", r.URL())
		}
	}
	if _, stderr, code := trawl(t, "--sitemap", "ftp://x/"); code != 2 || !strings.Contains(stderr, "ftp://x/") {
		t.Errorf("--sitemap ftp://x/: exit %d, stderr %q; want 2 and a message naming it", code, stderr)
	}
}
