package disk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"trawl/parse"
	"trawl/store"
)

// TestDiskForgetsRaisedIntervals is TestMemoryForgetsRaisedIntervals for
// Frontier: the hosts leave RAM, and their stored records leave the store.
func TestDiskForgetsRaisedIntervals(t *testing.T) {
	const n, delay = 10_000, 10 * time.Second
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	d, err := Open(t.TempDir(), Options{FrontierOptions: store.FrontierOptions{Interval: time.Second, Now: func() time.Time { return now }}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	settleRaised(t, d, n, delay)
	// check claims nothing, checkpoints, and checks the hosts in RAM and
	// the host records in the store.
	check := func(when string, want int) {
		t.Helper()
		if ls, _, err := d.Claim(ctx, 1); err != nil || len(ls) != 0 {
			t.Fatalf("Claim = %d leases, %v; want none", len(ls), err)
		}
		if err := d.Checkpoint(ctx, nil); err != nil {
			t.Fatal(err)
		}
		records := 0
		if err := d.scan([]byte{tagHost}, func(k, v []byte) ([]byte, error) {
			records++
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if d.hosts.Len() != want || d.hosts.Idle() != want || records != want {
			t.Fatalf("%s: %d hosts in RAM (%d idle), %d host records stored; want %d of each",
				when, d.hosts.Len(), d.hosts.Idle(), records, want)
		}
	}
	now = now.Add(delay - time.Millisecond)
	check("before their next-allowed time", n)
	now = now.Add(time.Millisecond)
	check("after it", 0)
}

// TestEntryCodec checks that every field of an entry survives
// encodeEntry and decodeEntry.
func TestEntryCodec(t *testing.T) {
	entries := []store.Entry{
		{URL: "http://a.test/", Key: "http://a.test/", Host: "a.test"},
		{URL: "http://a.test/x?b=1&a=2", Key: "http://a.test/x?a=2&b=1", Host: "a.test", Depth: 3, Parent: "http://a.test/", Attempt: 2},
		{URL: "http://a.test/r", Key: "http://a.test/r", Host: "a.test", Depth: 1, Redirects: 1},
		{URL: "http://a.test/r2", Key: "http://a.test/R2", Host: "a.test", Parent: "http://b.test/", Attempt: 1, Redirects: 10},
		{URL: "http://a.test/s.css", Key: "http://a.test/s.css", Host: "a.test", Depth: 2, Parent: "http://a.test/", Kind: parse.KindAsset},
		{URL: "http://a.test/q?x", Key: "http://a.test/q", Host: "a.test", Attempt: 3, Redirects: 1, Kind: parse.KindForm},
		{URL: "http://a.test/sitemap.xml", Key: "http://a.test/sitemap.xml", Host: "a.test", Redirects: 2, Kind: parse.KindSitemap},
	}
	for _, e := range entries {
		b := encodeEntry(nil, &e)
		got, err := decodeEntry(b, e.Host)
		if err != nil {
			t.Errorf("decodeEntry(encodeEntry(%+v)): %v", e, err)
			continue
		}
		if got != e {
			t.Errorf("got %+v, want %+v", got, e)
		}
	}
}

// TestEntryCodecKind checks that an entry of every kind comes back with
// it, and that a page entry, the usual one, takes no byte for it.
func TestEntryCodecKind(t *testing.T) {
	page := store.Entry{URL: "http://a.test/x", Key: "http://a.test/x", Host: "a.test", Depth: 1, Redirects: 1}
	pageLen := len(encodeEntry(nil, &page))
	for _, k := range []parse.Kind{parse.KindPage, parse.KindAsset, parse.KindForm, parse.KindSitemap} {
		e := page
		e.Kind = k
		b := encodeEntry(nil, &e)
		got, err := decodeEntry(b, e.Host)
		if err != nil || got != e {
			t.Errorf("kind %v: decodeEntry(%q) = %+v, %v; want %+v", k, b, got, err, e)
		}
		if wantLen := pageLen + min(int(k), 1); len(b) != wantLen {
			t.Errorf("kind %v: %d bytes %q, want %d", k, len(b), b, wantLen)
		}
	}
}

// TestEntryCodecOldFormat checks that records written before Redirects
// and Kind were stored (flags 0 or 1) still decode, that entries without
// redirects of kind page are still written that way, and that corrupted
// records fail with ErrCorrupt.
func TestEntryCodecOldFormat(t *testing.T) {
	cases := []struct {
		name string
		rec  string
		want store.Entry
	}{
		{
			name: "key is URL",
			rec:  "\x01\x0ehttp://a.test/\x06\x00\x00",
			want: store.Entry{URL: "http://a.test/", Key: "http://a.test/", Host: "a.test", Depth: 3},
		},
		{
			name: "key apart",
			rec:  "\x00\x0ehttp://a.test/\x0dhttp://a.test\x02\x0ehttp://p.test/\x04",
			want: store.Entry{URL: "http://a.test/", Key: "http://a.test", Host: "a.test", Depth: 1, Parent: "http://p.test/", Attempt: 2},
		},
		{
			name: "redirects, from before Kind",
			rec:  "\x03\x0ehttp://a.test/\x06\x00\x00\x04",
			want: store.Entry{URL: "http://a.test/", Key: "http://a.test/", Host: "a.test", Depth: 3, Redirects: 2},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeEntry([]byte(tc.rec), "a.test")
			if err != nil {
				t.Fatalf("decodeEntry: %v", err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if b := encodeEntry(nil, &tc.want); string(b) != tc.rec {
				t.Errorf("encodeEntry = %q, want the old form %q", b, tc.rec)
			}
		})
	}
	for _, bad := range []string{
		"",
		"\x09\x0ehttp://a.test/\x06\x00\x00",         // an unknown flag
		"\x81\x0ehttp://a.test/\x06\x00\x00",         // another
		"\x03\x0ehttp://a.test/\x06\x00\x00",         // Redirects flagged, missing
		"\x05\x0ehttp://a.test/\x06\x00\x00",         // Kind flagged, missing
		"\x07\x0ehttp://a.test/\x06\x00\x00\x02",     // Redirects and Kind flagged, Kind missing
		"\x05\x0ehttp://a.test/\x06\x00\x00\x04",     // an unknown kind
		"\x05\x0ehttp://a.test/\x06\x00\x00\xff",     // another
		"\x05\x0ehttp://a.test/\x06\x00\x00\x01\x00", // a byte too many after Kind
		"\x01\x0ehttp://a.test/\x06\x00\x00\x02",     // a byte too many
	} {
		if e, err := decodeEntry([]byte(bad), "a.test"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeEntry(%q) = %+v, %v; want ErrCorrupt", bad, e, err)
		}
	}
	_, err := decodeEntry([]byte("\x05\x0ehttp://a.test/\x06\x00\x00\x09"), "a.test")
	if want := "store: state directory corrupted: bad entry record: unknown link kind 9"; err == nil || err.Error() != want {
		t.Errorf("decodeEntry of kind 9 = %v, want %s", err, want)
	}
}

// settleRaised pushes one entry for each of n hosts, claims them all,
// sets each host's interval to iv while its lease is held, as a crawler
// that read a Crawl-delay does, and acks them (as store's test of the same
// name does for Memory).
func settleRaised(t *testing.T, f *Frontier, n int, iv time.Duration) {
	t.Helper()
	ctx := context.Background()
	entries := make([]store.Entry, n)
	for i := range entries {
		h := fmt.Sprintf("h%d.test", i)
		entries[i] = store.Entry{URL: "http://" + h + "/", Key: "http://" + h + "/", Host: h}
	}
	if added, err := f.Push(ctx, entries); err != nil || added != n {
		t.Fatalf("Push = %d, %v; want %d", added, err, n)
	}
	ls, _, err := f.Claim(ctx, n)
	if err != nil || len(ls) != n {
		t.Fatalf("Claim = %d leases, %v; want %d", len(ls), err, n)
	}
	for _, l := range ls {
		if err := f.SetHostInterval(ctx, l.Host, iv); err != nil {
			t.Fatal(err)
		}
		if err := f.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
}
