package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsFlag runs a demo crawl slow enough to be watched (--rate 5:
// a few seconds) with --metrics on a free loopback port, reads the
// address from stderr, scrapes /metrics while the crawl runs, and checks
// the numbers against the records the crawl wrote.
func TestMetricsFlag(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo", "--rate", "5", "--metrics", "127.0.0.1:0", "-o", out)
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read stderr to its end, handing on the metrics URL.
	var stderr strings.Builder
	found := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		re := regexp.MustCompile(`^trawl: metrics on (http://\S+/metrics)$`)
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stderrPipe)
	})
	var url string
	select {
	case url = <-found:
	case <-ctx.Done():
		t.Fatal("no metrics address on stderr")
	}

	// Scrape until the crawl has fetched a few pages, while it runs.
	var fams map[string]*dto.MetricFamily
	for {
		fams = scrapeURL(ctx, t, url)
		if f := fams["trawl_records_total"]; f != nil && counterOf(f, "outcome", "fetched") >= 5 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the crawl did not get under way")
		case <-time.After(100 * time.Millisecond):
		}
	}

	wg.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("trawl demo: %v; stderr:\n%s", err, stderr.String())
	}
	if _, err := (&net.Dialer{}).DialContext(ctx, "tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics")); err == nil {
		t.Error("the metrics server still listens after trawl exited")
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fetched float64
	for _, r := range readRecords(t, data) {
		if r.Skipped == "" && r.Error == "" {
			fetched++
		}
	}
	during := counterOf(fams["trawl_records_total"], "outcome", "fetched")
	if during >= fetched {
		t.Errorf("scraped %v fetched records during the crawl, want fewer than the %v at its end", during, fetched)
	}
	if f := fams["trawl_fetch_duration_seconds"]; f == nil || float64(f.GetMetric()[0].GetHistogram().GetSampleCount()) > fetched {
		t.Errorf("trawl_fetch_duration_seconds: got %v, want a histogram of at most %v fetches", f, fetched)
	}
	for _, name := range []string{"trawl_pages_total", "trawl_frontier_urls", "trawl_robots_fetches_total", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

// scrapeURL gets url and parses it as the Prometheus text format.
func scrapeURL(ctx context.Context, t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// counterOf returns the value of f's counter whose label is value.
func counterOf(f *dto.MetricFamily, label, value string) float64 {
	for _, m := range f.GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label && lp.GetValue() == value {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestMetricsFlagErrors: a --metrics value that is not HOST:PORT is bad
// usage (exit 2), an address in use a failure (exit 1); each is one line,
// and nothing is created.
func TestMetricsFlagErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		addr string
		code int
		want string
	}{
		{"nonsense", exitUsage, `invalid argument "nonsense" for "--metrics" flag: want HOST:PORT`},
		{"127.0.0.1:99999", exitUsage, "want HOST:PORT"},
		{"localhost", exitUsage, "want HOST:PORT"},
		{busy.Addr().String(), exitFailure, "--metrics " + busy.Addr().String() + ": bind: address already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			_, stderr, code := trawl(t, "demo", "--metrics", tc.addr, "-o", out)
			if code != tc.code {
				t.Errorf("got exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("got stderr %q, want one line with %q", stderr, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("-o %s: got %v, want no file", out, err)
			}
		})
	}
}
