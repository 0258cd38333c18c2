package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"trawl/crawler/bench"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// small is a quick site: 500 pages of ~3 KB on 4 hosts.
var small = bench.Options{Pages: 500, Links: 20, Size: 3000, Hosts: 4, Seed: 7, Concurrency: 8}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve starts a site server for the test and stops it at cleanup.
func serve(t *testing.T, o bench.Options) *bench.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := bench.Serve(ctx, "127.0.0.1:0", o)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := srv.Wait(); err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return srv
}

// checkResult checks that every field of a verified run is sensible.
func checkResult(t *testing.T, r *bench.Result, o bench.Options, inProcess bool) {
	t.Helper()
	if !r.Verify.OK {
		t.Fatalf("verification failed: %s", r.Verify)
	}
	n := int64(o.Pages)
	want := bench.Verification{Pages: o.Pages, Requested: o.Pages, Records: o.Pages, OK: true}
	if r.Verify != want {
		t.Errorf("Verify = %+v, want %+v", r.Verify, want)
	}
	if r.Pages != n || r.Records != n {
		t.Errorf("Pages, Records = %d, %d, want %d, %d", r.Pages, r.Records, n, n)
	}
	if r.InProcess != inProcess {
		t.Errorf("InProcess = %v, want %v", r.InProcess, inProcess)
	}
	if r.Options.Pages != o.Pages || r.Options.Concurrency != o.Concurrency || r.Options.Links != o.Links {
		t.Errorf("Options = %+v, want the run's %+v", r.Options, o)
	}
	if r.Bytes < n*int64(o.Size)*9/10 {
		t.Errorf("Bytes = %d, want about %d", r.Bytes, n*int64(o.Size))
	}
	positive := map[string]float64{
		"Elapsed": r.Elapsed.Seconds(), "PagesPerSec": r.PagesPerSec, "MBPerSec": r.MBPerSec,
		"CPU": r.CPU.Seconds(), "CPUPer1000": r.CPUPer1000,
		"AllocsPerPage": r.AllocsPerPage, "AllocBytesPerPage": r.AllocBytesPerPage,
		"GOMAXPROCS": float64(r.GOMAXPROCS), "NumCPU": float64(r.NumCPU),
	}
	if runtime.GOOS == "linux" {
		positive["PeakRSS"] = float64(r.PeakRSS)
	}
	if o.Baselines {
		if r.Bare == nil || r.Parse == nil {
			t.Fatalf("Bare, Parse = %v, %v, want both", r.Bare, r.Parse)
		}
		for name, b := range map[string]*bench.Baseline{"Bare": r.Bare, "Parse": r.Parse} {
			if b.Pages != n {
				t.Errorf("%s.Pages = %d, want %d", name, b.Pages, n)
			}
			positive[name+".PagesPerSec"] = b.PagesPerSec
			positive[name+".Elapsed"] = b.Elapsed.Seconds()
			positive[name+".Ratio"] = b.Ratio
			if got, want := b.Ratio, r.PagesPerSec/b.PagesPerSec; got != want {
				t.Errorf("%s.Ratio = %v, want %v", name, got, want)
			}
		}
	} else if r.Bare != nil || r.Parse != nil {
		t.Errorf("baselines measured without Options.Baselines")
	}
	if o.State {
		if r.Memory == nil || r.Memory.Pages != n {
			t.Fatalf("Memory = %+v, want the in-memory crawl of %d pages", r.Memory, n)
		}
		positive["Memory.PagesPerSec"] = r.Memory.PagesPerSec
		if got, want := r.Memory.Ratio, r.PagesPerSec/r.Memory.PagesPerSec; got != want {
			t.Errorf("Memory.Ratio = %v, want %v", got, want)
		}
	} else if r.Memory != nil {
		t.Errorf("in-memory comparison measured without Options.State")
	}
	for name, v := range positive {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if got, want := r.PagesPerSec, float64(r.Pages)/r.Elapsed.Seconds(); got != want {
		t.Errorf("PagesPerSec = %v, want %v", got, want)
	}

	var text bytes.Buffer
	r.WriteText(&text)
	for _, s := range []string{"pages/s", "MB/s", "per 1000 pages", "allocs/page", "peak RSS", "verified    OK"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("WriteText output lacks %q:\n%s", s, text.String())
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Verify != r.Verify || back.Pages != r.Pages || back.Elapsed != r.Elapsed || back.Options.Pages != r.Options.Pages {
		t.Errorf("JSON round trip: got %+v, want %+v", back, *r)
	}
}

func TestRunInProcess(t *testing.T) {
	o := small
	o.Baselines = true
	r, err := bench.Run(testContext(t), o)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, o, true)
	if !strings.HasPrefix(r.SiteAddr, "127.0.0.1:") {
		t.Errorf("SiteAddr = %q, want 127.0.0.1:PORT", r.SiteAddr)
	}
}

// TestRunState: the crawl with its state on disk verifies like the
// in-memory one, and leaves no temporary files behind.
func TestRunState(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	o := small
	o.State = true
	r, err := bench.Run(testContext(t), o)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, o, true)
	if left, _ := os.ReadDir(os.Getenv("TMPDIR")); len(left) != 0 {
		t.Errorf("left behind in TMPDIR: %v", left)
	}
}

func TestRunExternal(t *testing.T) {
	srv := serve(t, small)
	ctx := testContext(t)
	o := small
	o.Site = srv.Addr().String()
	for _, baselines := range []bool{false, true} { // twice: the counters are reset between runs
		o.Baselines = baselines
		r, err := bench.Run(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, r, o, false)
		if r.SiteAddr != o.Site {
			t.Errorf("SiteAddr = %q, want %q", r.SiteAddr, o.Site)
		}
	}
}

func TestRunSiteMismatch(t *testing.T) {
	srv := serve(t, small)
	tests := []struct {
		name string
		edit func(*bench.Options)
		want string
	}{
		{"pages", func(o *bench.Options) { o.Pages = 400 }, "--pages 400"},
		{"seed", func(o *bench.Options) { o.Seed = 8 }, "--seed 8"},
		{"latency", func(o *bench.Options) { o.Latency = time.Millisecond }, "--latency 1ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := small
			o.Site = srv.Addr().String()
			tc.edit(&o)
			_, err := bench.Run(testContext(t), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "same") {
				t.Errorf("Run with %s changed: got error %v, want one naming %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestNotLoopbackRefused(t *testing.T) {
	for _, addr := range []string{
		"10.0.0.1:18080", "192.168.1.1:80", "8.8.8.8:80", "0.0.0.0:18080", "[::]:18080",
		"example.com:80", "localhost:18080", "127.0.0.1", ":18080", "127.0.0.1:http", "127.0.0.1:99999",
	} {
		t.Run(addr, func(t *testing.T) {
			o := small
			o.Site = addr
			if _, err := bench.Run(testContext(t), o); err == nil {
				t.Errorf("Run with Site %q: got no error, want a refusal", addr)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv, err := bench.Serve(ctx, addr, small)
			if err == nil {
				cancel()
				_ = srv.Wait()
				t.Errorf("Serve on %q: got no error, want a refusal", addr)
			}
		})
	}
	o := small
	o.Site = "10.0.0.1:18080"
	_, err := bench.Run(testContext(t), o)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("got error %v, want one saying loopback", err)
	}
}

func TestRunCatchesDuplicate(t *testing.T) {
	o := bench.WithDuplicateHits(small, 123)
	t.Run("in-process", func(t *testing.T) {
		r, err := bench.Run(testContext(t), o)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verify.OK || r.Verify.Duplicates != 1 || r.Verify.Missing != 0 {
			t.Errorf("Verify = %+v, want not OK with 1 duplicate, 0 missing", r.Verify)
		}
		var text bytes.Buffer
		r.WriteText(&text)
		if !strings.Contains(text.String(), "FAILED") {
			t.Errorf("WriteText does not say FAILED:\n%s", text.String())
		}
	})
	t.Run("external", func(t *testing.T) {
		srv := serve(t, o)
		c := small
		c.Site = srv.Addr().String()
		r, err := bench.Run(testContext(t), c)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verify.OK || r.Verify.Duplicates != 1 {
			t.Errorf("Verify = %+v, want not OK with 1 duplicate", r.Verify)
		}
	})
}

func TestCheck(t *testing.T) {
	ones := func(n int) []uint32 {
		s := make([]uint32, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	with := func(s []uint32, i int, v uint32) []uint32 { s[i] = v; return s }
	tests := []struct {
		name    string
		hits    []uint32
		other   int64
		records []uint32
		bad     int64
		want    bench.Verification
	}{
		{"exactly once", ones(5), 0, ones(5), 0,
			bench.Verification{Pages: 5, Requested: 5, Records: 5, OK: true}},
		{"duplicate request", with(ones(5), 2, 3), 0, ones(5), 0,
			bench.Verification{Pages: 5, Requested: 5, Duplicates: 2, Records: 5}},
		{"missing page", with(ones(5), 4, 0), 0, with(ones(5), 4, 0), 0,
			bench.Verification{Pages: 5, Requested: 4, Missing: 1, Records: 4}},
		{"other request", ones(5), 1, ones(5), 0,
			bench.Verification{Pages: 5, Requested: 5, Other: 1, Records: 5}},
		{"two records for a page", ones(5), 0, with(ones(5), 0, 2), 0,
			bench.Verification{Pages: 5, Requested: 5, Records: 4, BadRecords: 1}},
		{"a bad record", ones(5), 0, ones(5), 1,
			bench.Verification{Pages: 5, Requested: 5, Records: 5, BadRecords: 1}},
		{"no record", ones(5), 0, with(ones(5), 1, 0), 0,
			bench.Verification{Pages: 5, Requested: 5, Records: 4}},
		{"empty site", nil, 0, nil, 0, bench.Verification{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := bench.Check(tc.hits, tc.other, tc.records, tc.bad); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOptionsInvalid(t *testing.T) {
	tests := []struct {
		name string
		o    bench.Options
		want string
	}{
		{"pages", bench.Options{Pages: -1}, "pages -1"},
		{"concurrency", bench.Options{Concurrency: -2}, "concurrency -2"},
		{"latency", bench.Options{Latency: -time.Second}, "latency -1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bench.Run(testContext(t), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: got error %v, want one naming %q", err, tc.want)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if srv, err := bench.Serve(ctx, "127.0.0.1:0", tc.o); err == nil {
				cancel()
				_ = srv.Wait()
				t.Errorf("Serve: got no error, want one naming %q", tc.want)
			}
		})
	}
}

// TestServeCounts checks the site server's counting and control paths
// directly.
func TestServeCounts(t *testing.T) {
	srv := serve(t, small)
	base := "http://" + srv.Addr().String()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	do := func(method, path, host string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(testContext(t), method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	type hits struct {
		Hits  []uint32
		Other int64
	}
	get := func() hits {
		t.Helper()
		code, body := do("GET", "/_bench/hits", "")
		var h hits
		if err := json.Unmarshal([]byte(body), &h); code != 200 || err != nil {
			t.Fatalf("GET /_bench/hits: %d %v", code, err)
		}
		return h
	}

	if code, body := do("GET", "/_bench/site", ""); code != 200 || !strings.Contains(body, `"pages":500`) || !strings.Contains(body, `"seed":7`) {
		t.Errorf("GET /_bench/site: %d %s", code, body)
	}
	requests := []struct {
		path, host string
		code       int
	}{
		{"/p/3", "h3.bench.test", 200},
		{"/p/3", "h3.bench.test:80", 200},
		{"/p/7", "h3.bench.test", 200},
		{"/p/5", "h2.bench.test", 404}, // wrong host: other
		{"/p/500", "h0.bench.test", 404},
		{"/p/03", "h3.bench.test", 404},
		{"/robots.txt", "h0.bench.test", 404},
	}
	for _, r := range requests {
		if code, _ := do("GET", r.path, r.host); code != r.code {
			t.Errorf("GET %s on %s: status %d, want %d", r.path, r.host, code, r.code)
		}
	}
	h := get()
	if len(h.Hits) != 500 || h.Hits[3] != 2 || h.Hits[7] != 1 || h.Hits[5] != 0 || h.Other != 4 {
		t.Errorf("after the requests: hits[3], hits[7], hits[5], other = %d, %d, %d, %d; want 2, 1, 0, 4",
			h.Hits[3], h.Hits[7], h.Hits[5], h.Other)
	}
	if code, _ := do("GET", "/_bench/reset", ""); code != 404 {
		t.Errorf("GET /_bench/reset: status %d, want 404 (POST only)", code)
	}
	if code, _ := do("POST", "/_bench/reset", ""); code != 204 {
		t.Errorf("POST /_bench/reset: status %d, want 204", code)
	}
	h = get()
	for i, n := range h.Hits {
		if n != 0 {
			t.Fatalf("after reset: hits[%d] = %d, want 0", i, n)
		}
	}
	if h.Other != 0 {
		t.Errorf("after reset: other = %d, want 0", h.Other)
	}
}
