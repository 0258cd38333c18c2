package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// remote is the control of a site served by another process (Serve).
type remote struct {
	base string // "http://127.0.0.1:PORT"
	hc   *http.Client
}

func newRemote(addr string) *remote {
	return &remote{
		base: "http://" + addr,
		hc: &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
			Timeout:   30 * time.Second,
		},
	}
}

func (r *remote) close() { r.hc.CloseIdleConnections() }

// do makes one control request and decodes a JSON answer into out, if
// out is not nil.
func (r *remote) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, nil)
	if err != nil {
		return fmt.Errorf("bench: site %s: %w", r.base, err)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("bench: site %s (is \"trawl bench --serve\" running there?): %w", r.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("bench: site %s: %s %s: status %d (not a \"trawl bench --serve\" site?)", r.base, method, path, resp.StatusCode)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("bench: site %s: %s %s: %w", r.base, method, path, err)
	}
	return nil
}

func (r *remote) reset(ctx context.Context) error {
	return r.do(ctx, http.MethodPost, pathReset, nil)
}

func (r *remote) hits(ctx context.Context) (hitsInfo, error) {
	var h hitsInfo
	err := r.do(ctx, http.MethodGet, pathHits, &h)
	return h, err
}

// checkSite fails unless the site serves exactly the site o describes.
func (r *remote) checkSite(ctx context.Context, o Options) error {
	var got siteInfo
	if err := r.do(ctx, http.MethodGet, pathSite, &got); err != nil {
		return err
	}
	if want := infoOf(o); got != want {
		return fmt.Errorf("bench: site %s serves %s, but this run asks for %s: give both sides the same --pages, --links, --size, --hosts, --seed and --latency",
			r.base, got, want)
	}
	return nil
}

// String names the site's parameters as the command-line flags spell them.
func (s siteInfo) String() string {
	return fmt.Sprintf("--pages %d --links %d --size %d --hosts %d --seed %d --latency %v",
		s.Pages, s.Links, s.Size, s.Hosts, s.Seed, time.Duration(s.LatencyNS))
}
