package disk_test

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"trawl/store"
	"trawl/store/disk"
	"trawl/store/storetest"
)

// TestDiskConformanceFlushed runs the suite with a crash after a Flush as
// the reopen: the journal must bring back everything a clean stop would.
func TestDiskConformanceFlushed(t *testing.T) {
	dirs := map[storetest.Frontier]string{}
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			dir := t.TempDir()
			d := openDisk(t, dir, opts)
			dirs[d] = dir
			return d
		},
		Reopen: func(t *testing.T, f storetest.Frontier, opts store.FrontierOptions) storetest.Frontier {
			d := f.(*disk.Frontier)
			if err := d.Flush([]byte("flushed")); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if err := d.Close(); err != nil { // no Checkpoint: a crash
				t.Fatalf("Close: %v", err)
			}
			d2 := openDisk(t, dirs[f], opts)
			dirs[d2] = dirs[f]
			if got := string(d2.FlushMeta()); got != "flushed" {
				t.Fatalf("FlushMeta after reopen = %q, want %q", got, "flushed")
			}
			return d2
		},
	})
}

// journalState builds a state with a checkpoint and three flushes after
// it, then crashes it (Close without Checkpoint): a.test/1 is checkpointed,
// and each flush "fN" adds a.test/N+1 seen and queued; a.test/5 is pushed
// but never flushed.
func journalState(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	d := openDisk(t, dir, store.FrontierOptions{})
	mustPush(t, d, 1, ent("a.test", "1"))
	if err := d.Checkpoint(context.Background(), []byte("c0")); err != nil {
		t.Fatal(err)
	}
	for i, meta := range []string{"f1", "f2", "f3"} {
		mustPush(t, d, 1, ent("a.test", string(rune('2'+i))))
		if err := d.Flush([]byte(meta)); err != nil {
			t.Fatal(err)
		}
	}
	mustPush(t, d, 1, ent("a.test", "5"))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkJournal opens dir with accept and checks that the pages up to
// a.test/last of a.test/1-5 are seen and the others not, and the meta and
// replay count; other more pages are queued and seen.
func checkJournal(t *testing.T, dir string, accept func([]byte) bool, last, other int, meta string, replayed int) *disk.Frontier {
	t.Helper()
	d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{AcceptFlush: accept}})
	if err != nil {
		t.Fatalf("OpenDisk: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	// The last flush's meta, or the checkpoint's if no flush is kept.
	got, ckpt := d.FlushMeta(), d.Meta()
	if replayed == 0 && got != nil {
		t.Errorf("FlushMeta = %q, want nil", got)
	}
	if got == nil {
		got = ckpt
	}
	if string(got) != meta {
		t.Errorf("meta = %q, want %q", got, meta)
	}
	if got, _ := d.Replayed(); got != replayed {
		t.Errorf("Replayed = %d, want %d", got, replayed)
	}
	for i := 1; i <= 5; i++ {
		want := disk.KeyState{Seen: i <= last}
		mustLookup(t, d, ent("a.test", string(rune('0'+i))).Key, want)
	}
	s, err := d.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Queued != last+other || s.Seen != int64(last+other) {
		t.Errorf("Stats = %+v, want %d queued and seen", s, last+other)
	}
	return d
}

func TestDiskJournalReplay(t *testing.T) {
	dir := journalState(t)
	d := checkJournal(t, dir, nil, 4, 0, "f3", 3)
	if got := string(d.Meta()); got != "c0" {
		t.Errorf("Meta = %q, want the checkpoint's %q", got, "c0")
	}
	if _, dropped := d.Replayed(); dropped != 0 {
		t.Errorf("%d journal bytes dropped, want none", dropped)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// Replaying again, with nothing written in between, gives the same.
	checkJournal(t, dir, nil, 4, 0, "f3", 3)
}

// TestDiskJournalRefused: a refused flush and the ones after it are
// dropped, and the next Flush writes over them for good.
func TestDiskJournalRefused(t *testing.T) {
	dir := journalState(t)
	var asked []string
	d := checkJournal(t, dir, func(meta []byte) bool {
		asked = append(asked, string(meta))
		return string(meta) != "f2"
	}, 2, 0, "f1", 1)
	if len(asked) != 2 || asked[0] != "f1" || asked[1] != "f2" {
		t.Errorf("AcceptFlush was asked about %q, want [f1 f2]", asked)
	}
	mustPush(t, d, 1, ent("a.test", "6"))
	if err := d.Flush([]byte("g1")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = checkJournal(t, dir, nil, 2, 1, "g1", 2)
	mustLookup(t, d, ent("a.test", "6").Key, disk.KeyState{Seen: true})
}

// TestDiskJournalDamaged: a torn last frame, a damaged middle one and
// frames from before the last checkpoint are all left out.
func TestDiskJournalDamaged(t *testing.T) {
	t.Run("torn", func(t *testing.T) {
		dir := journalState(t)
		path := filepath.Join(dir, "journal")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()-3); err != nil {
			t.Fatal(err)
		}
		d := checkJournal(t, dir, nil, 3, 0, "f2", 2)
		if _, dropped := d.Replayed(); dropped != fi.Size()-3-journalPrefix(t, path, 2) {
			t.Errorf("%d journal bytes dropped, want the torn frame's", dropped)
		}
	})
	t.Run("flipped", func(t *testing.T) {
		dir := journalState(t)
		path := filepath.Join(dir, "journal")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0x40 // in the second of three similar frames
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		d := checkJournal(t, dir, nil, 2, 0, "f1", 1)
		if _, dropped := d.Replayed(); dropped != int64(len(b))-journalPrefix(t, path, 1) {
			t.Errorf("%d journal bytes dropped, want those of the last two frames", dropped)
		}
	})
	t.Run("stale", func(t *testing.T) {
		dir := journalState(t)
		path := filepath.Join(dir, "journal")
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d := checkJournal(t, dir, nil, 4, 0, "f3", 3)
		if err := d.Checkpoint(context.Background(), []byte("c1")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
			t.Fatalf("journal after Checkpoint: %v, %v; want empty", fi.Size(), err)
		}
		d.Close()
		// As if the checkpoint's truncation of the journal was lost.
		if err := os.WriteFile(path, old, 0o644); err != nil {
			t.Fatal(err)
		}
		d = checkJournal(t, dir, nil, 4, 0, "c1", 0)
		if _, dropped := d.Replayed(); dropped != int64(len(old)) {
			t.Errorf("%d journal bytes dropped, want all %d", dropped, len(old))
		}
	})
}

// TestDiskJournalKeepsEverything: acks, retries, host intervals and
// robots.txt files come back from the journal, not only pushes.
func TestDiskJournalKeepsEverything(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	opts := store.FrontierOptions{PerHost: 2, Interval: -1, Now: clock.Now}
	dir := t.TempDir()
	d := openDisk(t, dir, opts)
	a1, a2, a3 := ent("a.test", "1"), ent("a.test", "2"), ent("a.test", "3")
	mustPush(t, d, 3, a1, a2, a3)
	if err := d.Checkpoint(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ls, _ := mustClaim(t, d, 2)
	if err := d.Ack(ctx, ls[0], store.Outcome{Status: 200}); err != nil {
		t.Fatal(err)
	}
	if err := d.Retry(ctx, ls[1], storetest.Start.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if err := d.SetHostInterval(ctx, "b.test", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := d.StoreRobots("http://a.test", []byte("User-agent: *\n"), storetest.Start); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush([]byte("f")); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d = openDisk(t, dir, opts)
	mustLookup(t, d, ls[0].Key, disk.KeyState{Seen: true, Done: true, Outcome: "fetched", Status: 200})
	s, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.FrontierStats{Queued: 2, Seen: 3, Done: 1, Retries: 1, Hosts: 1}); s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	if f, _, _ := d.Outcomes(); f != 1 {
		t.Errorf("Outcomes: %d fetched, want 1", f)
	}
	if body, _, ok := d.LoadRobots("http://a.test"); !ok || string(body) != "User-agent: *\n" {
		t.Errorf("LoadRobots = %q, %v", body, ok)
	}
	// a.test is backed off for an hour by the retry: nothing before that.
	if got, next := mustClaim(t, d, 5); len(got) != 0 || !next.Equal(storetest.Start.Add(time.Hour)) {
		t.Errorf("Claim = %v, next %v; want nothing before %v", leaseKeys(got), next, storetest.Start.Add(time.Hour))
	}
}

// journalPrefix returns the size of the first n frames of the journal at
// path, read from their length fields.
func journalPrefix(t *testing.T, path string, n int) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for range n {
		off += 8 + int(binary.LittleEndian.Uint32(b[off:]))
	}
	return int64(off)
}
