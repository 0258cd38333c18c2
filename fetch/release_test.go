package fetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strconv"
	"testing"

	"trawl/internal/bufpool"
)

func init() { bufpool.Poison.Store(true) } // a use of a released body reads 0xEE

// TestRelease checks that bodies of known and unknown length, plain and
// decoded, read whole and cut at MaxBody, come back right from a pooled
// buffer, one after another, and that Release empties the Response and
// gives the buffer back (the old slice then reads the poison). A body that
// Capture shares with the Exchanges is not pooled: Release leaves it.
func TestRelease(t *testing.T) {
	page := bytes.Repeat([]byte("<p>trawl pools page bodies</p>\n"), 1000) // 31 KB
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(page); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	ts := serve(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/known":
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.Write(page)
		case "/chunked":
			for i := 0; i < len(page); i += 4000 {
				w.Write(page[i:min(i+4000, len(page))])
				w.(http.Flusher).Flush()
			}
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		}
	})
	for _, maxBody := range []int64{0, 20_000} {
		want := page
		if maxBody > 0 {
			want = page[:maxBody]
		}
		plain := newClient(t, Config{Rate: -1, MaxBody: maxBody})
		captured := newClient(t, Config{Rate: -1, MaxBody: maxBody, Capture: true})
		for range 3 { // later rounds read into released buffers
			for _, path := range []string{"/known", "/chunked", "/gzip"} {
				resp, err := plain.Fetch(context.Background(), Request{URL: ts.URL + path})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(resp.Body, want) || resp.Truncated != (maxBody > 0) {
					t.Fatalf("%s (MaxBody %d): body of %d bytes, truncated %v; want %d bytes", path, maxBody, len(resp.Body), resp.Truncated, len(want))
				}
				body := resp.Body
				resp.Release()
				if resp.Body != nil {
					t.Errorf("%s: Body after Release has %d bytes", path, len(resp.Body))
				}
				resp.Release() // a second Release does nothing
				if body[0] != 0xEE {
					t.Errorf("%s: the released body was not given back to the pool", path)
				}

				resp, err = captured.Fetch(context.Background(), Request{URL: ts.URL + path})
				if err != nil {
					t.Fatal(err)
				}
				resp.Release()
				if path != "/gzip" && !bytes.Equal(resp.Body, want) {
					t.Errorf("%s: Release emptied a body Capture shares", path)
				}
				if p := resp.Exchanges[len(resp.Exchanges)-1].Payload; len(p) == 0 || p[0] == 0xEE {
					t.Errorf("%s: the captured payload was released", path)
				}
			}
		}
	}
	foreign := &Response{Body: []byte("x")} // a Response the Client did not make
	foreign.Release()
	if string(foreign.Body) != "x" {
		t.Errorf("Release changed the body of a Response the Client did not make: %q", foreign.Body)
	}
}
