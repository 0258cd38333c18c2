package fetch

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestTTFB: Response.TTFB is the last hop's time to first byte: at least
// what that hop's server waited before answering, and no more than what is
// left of the fetch once the hops before it were answered.
func TestTTFB(t *testing.T) {
	const wait = 100 * time.Millisecond
	pause := func(r *http.Request) {
		select {
		case <-time.After(wait):
		case <-r.Context().Done():
		}
	}
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow-redirect":
			pause(r)
			http.Redirect(w, r, "/fast", http.StatusFound)
		case "/fast-redirect":
			http.Redirect(w, r, "/slow", http.StatusFound)
		case "/slow":
			pause(r)
			w.Write([]byte("slow"))
		default:
			w.Write([]byte("fast"))
		}
	})
	c := newClient(t, Config{Rate: -1})
	tests := []struct {
		path string
		// the last hop waits before answering, or the hops before it do
		lastWaits bool
	}{
		{"/slow", true},
		{"/fast-redirect", true},
		{"/slow-redirect", false},
	}
	for _, tc := range tests {
		t.Run(tc.path[1:], func(t *testing.T) {
			resp, err := c.Fetch(context.Background(), Request{URL: ts.URL + tc.path})
			if err != nil {
				t.Fatal(err)
			}
			if resp.TTFB <= 0 || resp.TTFB > resp.Duration {
				t.Fatalf("got TTFB %v, want in (0, Duration %v]", resp.TTFB, resp.Duration)
			}
			if tc.lastWaits && resp.TTFB < wait {
				t.Errorf("got TTFB %v, want at least the last hop's wait %v", resp.TTFB, wait)
			}
			if !tc.lastWaits && resp.TTFB > resp.Duration-wait {
				t.Errorf("got TTFB %v of a %v fetch, want the last hop's, after the first hop's wait %v", resp.TTFB, resp.Duration, wait)
			}
		})
	}
}
