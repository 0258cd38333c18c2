package disk_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"trawl/store"
	"trawl/store/disk"
	"trawl/store/storetest"
)

// fileState is what TestDiskReadOnly compares of each file before and
// after a read-only open.
type fileState struct {
	size  int64
	mtime time.Time
	mode  fs.FileMode
	sum   [sha256.Size]byte
}

// snapshot returns the state of dir and of every file under it, by path.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	files := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		st := fileState{size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode()}
		if de.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.sum = sha256.Sum256(b)
		}
		files[path] = st
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// backdate sets the times of dir and of every file under it to a day in
// 2020, so that any write, however soon, shows in the mtime.
func backdate(t *testing.T, dir string) {
	t.Helper()
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(path, old, old)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// diffSnapshots reports how after differs from before.
func diffSnapshots(t *testing.T, before, after map[string]fileState) {
	t.Helper()
	for _, p := range slices.Sorted(maps.Keys(before)) {
		b := before[p]
		a, ok := after[p]
		switch {
		case !ok:
			t.Errorf("%s was removed", p)
		case a.sum != b.sum || a.size != b.size:
			t.Errorf("%s changed: %d bytes, want %d unchanged", p, a.size, b.size)
		case !a.mtime.Equal(b.mtime):
			t.Errorf("%s modified at %v, want %v unchanged", p, a.mtime, b.mtime)
		case a.mode != b.mode:
			t.Errorf("%s has mode %v, want %v", p, a.mode, b.mode)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
}

// roView is what a Frontier shows of its state without changing it.
type roView struct {
	stats                    store.FrontierStats
	meta, fmeta              string
	fetched, failed, skipped int64
	statuses                 map[int]int64
	lastCkpt                 time.Time
	replayed                 int
	dropped                  int64
	keys                     map[string]disk.KeyState
	robots                   string
}

func view(t *testing.T, d *disk.Frontier, keys []string) roView {
	t.Helper()
	ctx := context.Background()
	v := roView{meta: string(d.Meta()), fmeta: string(d.FlushMeta()), statuses: d.Statuses(),
		lastCkpt: d.LastCheckpoint(), keys: map[string]disk.KeyState{}}
	var err error
	if v.stats, err = d.Stats(ctx); err != nil {
		t.Fatalf("Stats: %v", err)
	}
	v.fetched, v.failed, v.skipped = d.Outcomes()
	v.replayed, v.dropped = d.Replayed()
	for _, k := range keys {
		if v.keys[k], err = d.Lookup(ctx, k); err != nil {
			t.Fatalf("Lookup(%s): %v", k, err)
		}
	}
	body, _, ok := d.LoadRobots("http://a.test")
	if !ok {
		t.Fatal("LoadRobots found nothing")
	}
	v.robots = string(body)
	return v
}

func (v roView) equal(w roView) bool {
	return v.stats == w.stats && v.meta == w.meta && v.fmeta == w.fmeta &&
		v.fetched == w.fetched && v.failed == w.failed && v.skipped == w.skipped &&
		maps.Equal(v.statuses, w.statuses) && v.lastCkpt.Equal(w.lastCkpt) &&
		v.replayed == w.replayed && v.dropped == w.dropped && maps.Equal(v.keys, w.keys) && v.robots == w.robots
}

// readOnlyState builds a stopped crawl's state in a new directory: a
// checkpoint, then two flushes in the journal and a torn frame after
// them, and Pebble's write-ahead log holding what was committed. It
// returns the directory and keys to look up.
func readOnlyState(t *testing.T, clock *storetest.Clock) (string, []string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{PerHost: 2, Interval: time.Second, Now: clock.Now}})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, h := range []string{"a.test", "b.test", "c.test"} {
		for _, p := range []string{"1", "2", "3"} {
			e := ent(h, p)
			e.Redirects = 1
			mustPush(t, d, 1, e)
			keys = append(keys, e.Key)
		}
	}
	if _, err := d.MarkSeen(ctx, "http://x.test/"); err != nil {
		t.Fatal(err)
	}
	keys = append(keys, "http://x.test/", "http://never.test/")
	settle := func(outcomes ...store.Outcome) {
		t.Helper()
		ls, _ := mustClaim(t, d, 10)
		for i, l := range ls {
			var err error
			switch {
			case i >= len(outcomes):
			case outcomes[i].Status == 0 && outcomes[i].Error == "":
				err = d.Retry(ctx, l, clock.Now().Add(time.Minute), false)
			default:
				err = d.Ack(ctx, l, outcomes[i])
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(time.Second)
	}
	settle(store.Outcome{Status: 200}, store.Outcome{Status: 404}, store.Outcome{})
	if err := d.SetHostInterval(ctx, "c.test", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.StoreRobots("http://a.test", []byte("User-agent: *\n"), clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(ctx, []byte("checkpoint")); err != nil {
		t.Fatal(err)
	}
	settle(store.Outcome{Status: 200}, store.Outcome{Error: "timeout"})
	if err := d.Flush([]byte("flush 1")); err != nil {
		t.Fatal(err)
	}
	settle(store.Outcome{Status: 500, Skipped: "robots"})
	if err := d.Flush([]byte("flush 2")); err != nil {
		t.Fatal(err)
	}
	mustPush(t, d, 1, ent("d.test", "lost")) // never flushed
	if err := d.Close(); err != nil {        // no checkpoint: a crash
		t.Fatal(err)
	}
	// A write that a crash cut short.
	j, err := os.OpenFile(filepath.Join(dir, "journal"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Write([]byte{200, 0, 0, 0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	wal := false
	for _, f := range files(t, dir, "*.log") {
		if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
			wal = true
		}
	}
	if !wal {
		t.Fatal("the state has no Pebble write-ahead log to replay")
	}
	return dir, keys
}

// TestDiskReadOnly checks that a read-only open of a state with a journal
// to replay and a Pebble write-ahead log changes no file, shows what a
// read-write open shows, and refuses every change with ErrReadOnly.
func TestDiskReadOnly(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	dir, keys := readOnlyState(t, clock)
	clock.Advance(time.Hour) // past every host's next-allowed time
	backdate(t, dir)
	before := snapshot(t, dir)

	ro := disk.Options{FrontierOptions: store.FrontierOptions{Now: clock.Now}, ReadOnly: true}
	d, err := disk.Open(dir, ro)
	if err != nil {
		t.Fatalf("OpenDisk read-only: %v", err)
	}
	got := view(t, d, keys)
	if got.replayed != 2 || got.dropped != 6 || got.fmeta != "flush 2" || got.meta != "checkpoint" {
		t.Errorf("read-only open replayed %d flushes (%d bytes dropped), meta %q, flush meta %q; want 2 (6), %q, %q",
			got.replayed, got.dropped, got.meta, got.fmeta, "checkpoint", "flush 2")
	}

	// Read-only opens share the state, and keep read-write ones out.
	d2, err := disk.Open(dir, ro)
	if err != nil {
		t.Fatalf("second read-only OpenDisk: %v", err)
	}
	if v := view(t, d2, keys); !v.equal(got) {
		t.Errorf("second read-only open shows %+v, want %+v", v, got)
	}
	if _, err := disk.Open(dir, disk.Options{}); !errors.Is(err, disk.ErrLocked) {
		t.Errorf("read-write OpenDisk during a read-only one = %v, want ErrLocked", err)
	}
	if err := d2.Close(); err != nil {
		t.Fatal(err)
	}

	l := store.Lease{Entry: ent("a.test", "3"), ID: 1}
	writes := []struct {
		name string
		call func() error
	}{
		{"Push", func() error { _, err := d.Push(ctx, []store.Entry{ent("e.test", "1")}); return err }},
		{"MarkSeen", func() error { _, err := d.MarkSeen(ctx, "http://e.test/2"); return err }},
		{"Claim", func() error { _, _, err := d.Claim(ctx, 10); return err }},
		{"Ack", func() error { return d.Ack(ctx, l, store.Outcome{Status: 200}) }},
		{"Retry", func() error { return d.Retry(ctx, l, time.Time{}, false) }},
		{"Release", func() error { return d.Release(ctx, l, time.Time{}) }},
		{"SetHostInterval", func() error { return d.SetHostInterval(ctx, "a.test", time.Minute) }},
		{"Checkpoint", func() error { return d.Checkpoint(ctx, []byte("x")) }},
		{"Flush", func() error { return d.Flush([]byte("x")) }},
		{"StoreRobots", func() error { return d.StoreRobots("http://e.test", nil, clock.Now()) }},
	}
	for _, w := range writes {
		if err := w.call(); !errors.Is(err, disk.ErrReadOnly) {
			t.Errorf("%s on a read-only Disk = %v, want ErrReadOnly", w.name, err)
		}
	}
	if v := view(t, d, keys); !v.equal(got) {
		t.Errorf("after refused writes the state shows %+v, want %+v", v, got)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	diffSnapshots(t, before, snapshot(t, dir))

	// A read-write open sees the same state (and may change files).
	rw, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{Now: clock.Now}})
	if err != nil {
		t.Fatalf("OpenDisk: %v", err)
	}
	defer rw.Close()
	if want := view(t, rw, keys); !got.equal(want) {
		t.Errorf("read-only open shows\n%+v\nread-write open shows\n%+v", got, want)
	}
	// ...and keeps read-only ones out: a crawl in progress.
	if _, err := disk.Open(dir, ro); !errors.Is(err, disk.ErrLocked) {
		t.Errorf("read-only OpenDisk during a read-write one = %v, want ErrLocked", err)
	}
}

// TestDiskReadOnlyNoState checks that a read-only open of a missing or
// empty directory fails, with fs.ErrNotExist, and creates nothing.
func TestDiskReadOnlyNoState(t *testing.T) {
	parent := t.TempDir()
	missing := filepath.Join(parent, "missing")
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	backdate(t, parent)
	before := snapshot(t, parent)
	for _, dir := range []string{missing, empty} {
		_, err := disk.Open(dir, disk.Options{ReadOnly: true})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
			t.Errorf("read-only OpenDisk(%s) = %v, want an error naming it and wrapping fs.ErrNotExist", dir, err)
		}
	}
	diffSnapshots(t, before, snapshot(t, parent))
}
