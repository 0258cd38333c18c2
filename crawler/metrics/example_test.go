package metrics_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"trawl/crawler"
	"trawl/crawler/metrics"
	"trawl/fixtures"
)

// A program registers the collector in its own registry (here one that
// it gathers itself, rather than serving it over HTTP).
func ExampleNewCollector() {
	srv := fixtures.NewServer(fixtures.SiteHandler(fixtures.Basic()))
	defer srv.Close()
	c, err := crawler.New(crawler.Config{
		Resolve:       srv.Resolve(fixtures.WWW, fixtures.Blog),
		Rate:          -1,
		MaxCrawlDelay: 10 * time.Millisecond,
		Scope:         crawler.ScopeDomain,
	})
	if err != nil {
		log.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(c))

	if _, err := c.Run(context.Background(), "http://"+fixtures.WWW+"/"); err != nil {
		log.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "trawl_records_total" && f.GetName() != "trawl_pages_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			fmt.Printf("%s{%s=%q} %v\n", f.GetName(), m.GetLabel()[0].GetName(), m.GetLabel()[0].GetValue(), m.GetCounter().GetValue())
		}
	}
	// Output:
	// trawl_pages_total{class="1xx"} 0
	// trawl_pages_total{class="2xx"} 56
	// trawl_pages_total{class="3xx"} 3
	// trawl_pages_total{class="4xx"} 2
	// trawl_pages_total{class="5xx"} 0
	// trawl_records_total{outcome="error"} 0
	// trawl_records_total{outcome="fetched"} 61
	// trawl_records_total{outcome="skipped"} 3
}
