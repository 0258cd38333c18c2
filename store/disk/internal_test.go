package disk

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
		if len(d.hosts) != want || len(d.idle) != want || records != want {
			t.Fatalf("%s: %d hosts in RAM (%d idle), %d host records stored; want %d of each",
				when, len(d.hosts), len(d.idle), records, want)
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

// TestEntryCodecOldFormat checks that records written before Redirects
// was stored (flags 0 or 1) still decode, and that entries without
// redirects are still written that way.
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
		"\x05\x0ehttp://a.test/\x06\x00\x00",     // an unknown flag
		"\x03\x0ehttp://a.test/\x06\x00\x00",     // Redirects flagged, missing
		"\x01\x0ehttp://a.test/\x06\x00\x00\x02", // a byte too many
	} {
		if e, err := decodeEntry([]byte(bad), "a.test"); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeEntry(%q) = %+v, %v; want ErrCorrupt", bad, e, err)
		}
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
