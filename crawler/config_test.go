package crawler

import (
	"testing"
	"time"

	"trawl/store"
)

// TestZeroValues holds Config to its convention, one row per knob: zero
// is the documented default, -1 is "off" (no limit, or none), and what
// the crawl reads (after withDefaults, or handed to the frontier) says so.
func TestZeroValues(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want func(c Config, fo store.FrontierOptions) bool
		says string
	}{
		{"Concurrency 0", Config{}, func(c Config, _ store.FrontierOptions) bool { return c.Concurrency == DefaultConcurrency }, "16 workers"},
		{"PerHost 0", Config{}, func(c Config, fo store.FrontierOptions) bool { return fo.PerHost == DefaultPerHost }, "2 per host"},
		{"Rate 0", Config{}, func(c Config, fo store.FrontierOptions) bool { return fo.Interval == 500*time.Millisecond }, "2 per second: 500ms spacing"},
		{"Rate -1", Config{Rate: -1}, func(c Config, fo store.FrontierOptions) bool { return fo.Interval < 0 }, "no spacing (the frontier's -1)"},
		{"Retries 0", Config{}, func(c Config, _ store.FrontierOptions) bool { return c.Retries == DefaultRetries }, "2 retries"},
		{"Retries -1", Config{Retries: -1}, func(c Config, _ store.FrontierOptions) bool { return c.Retries == 0 }, "no retries"},
		{"RetryBackoff -1", Config{RetryBackoff: -1}, func(c Config, _ store.FrontierOptions) bool { return c.RetryBackoff == 0 }, "no back-off"},
		{"MaxRedirects 0", Config{}, func(c Config, _ store.FrontierOptions) bool { return c.MaxRedirects == DefaultMaxRedirects }, "10 redirects"},
		{"MaxRedirects -1", Config{MaxRedirects: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxRedirects < 0 }, "none followed"},
		{"MaxDepth 0", Config{}, func(c Config, _ store.FrontierOptions) bool { return c.MaxDepth == 0 }, "no limit"},
		{"MaxDepth -1", Config{MaxDepth: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxDepth < 0 }, "seeds only"},
		{"MaxPages -1", Config{MaxPages: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxPages == 0 }, "no limit"},
		{"MaxTime -1", Config{MaxTime: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxTime == 0 }, "no limit"},
		{"MaxRetryWait 0", Config{}, func(c Config, _ store.FrontierOptions) bool { return c.MaxRetryWait == DefaultMaxRetryWait }, "60s"},
		{"MaxRetryWait -1", Config{MaxRetryWait: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxRetryWait < 0 }, "no limit"},
		{"MaxCrawlDelay -1", Config{MaxCrawlDelay: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxCrawlDelay < 0 }, "no cap"},
		{"MaxURLLength -1", Config{MaxURLLength: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxURLLength < 0 }, "no limit"},
		{"MaxLinks -1", Config{MaxLinks: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxLinks < 0 }, "no limit"},
		{"CheckpointInterval 0", Config{}, func(c Config, _ store.FrontierOptions) bool { return c.CheckpointInterval == time.Second }, "1s"},
		{"CheckpointInterval -1", Config{CheckpointInterval: -1}, func(c Config, _ store.FrontierOptions) bool { return c.CheckpointInterval < 0 }, "every group"},
		{"LeaseTTL 0", Config{}, func(c Config, fo store.FrontierOptions) bool { return fo.LeaseTTL == DefaultLeaseTTL }, "10 minutes"},
		{"Timeout -1", Config{Timeout: -1}, func(c Config, _ store.FrontierOptions) bool { return c.Timeout < 0 }, "handed to fetch as its no limit"},
		{"MaxBody -1", Config{MaxBody: -1}, func(c Config, _ store.FrontierOptions) bool { return c.MaxBody < 0 }, "handed to fetch as its no limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.validate(); err != nil {
				t.Fatal(err)
			}
			c := tc.cfg.withDefaults()
			if fo := c.frontierOptions(); !tc.want(c, fo) {
				t.Errorf("got %+v and frontier options %+v, want %s", c, fo, tc.says)
			}
		})
	}
	for _, bad := range []Config{{Concurrency: -1}, {PerHost: -1}} {
		if err := bad.validate(); err == nil {
			t.Errorf("validate(%+v) = nil, want an error", bad)
		}
	}
}
