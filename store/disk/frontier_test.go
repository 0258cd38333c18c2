package disk_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"trawl/store"
	"trawl/store/disk"
	"trawl/store/storetest"
)

var _ storetest.Frontier = (*disk.Frontier)(nil)

// openDisk opens a Frontier in dir and closes it when the test ends.
func openDisk(t *testing.T, dir string, opts store.FrontierOptions) *disk.Frontier {
	t.Helper()
	d, err := disk.Open(dir, disk.Options{FrontierOptions: opts})
	if err != nil {
		t.Fatalf("OpenDisk: %v", err)
	}
	t.Cleanup(func() { d.Close() }) // a second Close may fail; ignore
	return d
}

func TestDiskConformance(t *testing.T) {
	dirs := map[storetest.Frontier]string{}
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			dir := t.TempDir()
			d := openDisk(t, dir, opts)
			dirs[d] = dir
			return d
		},
		// A clean stop: checkpoint, then close.
		Reopen: func(t *testing.T, f storetest.Frontier, opts store.FrontierOptions) storetest.Frontier {
			d := f.(*disk.Frontier)
			if err := d.Checkpoint(context.Background(), []byte("meta")); err != nil {
				t.Fatalf("Checkpoint: %v", err)
			}
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			d2 := openDisk(t, dirs[f], opts)
			dirs[d2] = dirs[f]
			if got := string(d2.Meta()); got != "meta" {
				t.Fatalf("Meta after reopen = %q, want %q", got, "meta")
			}
			return d2
		},
	})
}

// TestDiskConformanceCheckpointed runs the suite with a checkpoint after
// every call, so that every read goes to committed data rather than the
// pending batch.
func TestDiskConformanceCheckpointed(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			return &checkpointing{Frontier: openDisk(t, t.TempDir(), opts), t: t}
		},
	})
}

// checkpointing is a Frontier that checkpoints after every mutating call.
type checkpointing struct {
	*disk.Frontier
	t *testing.T
}

func (c *checkpointing) ckpt(err error) error {
	if err == nil {
		if cerr := c.Checkpoint(context.Background(), nil); cerr != nil {
			c.t.Errorf("Checkpoint: %v", cerr)
		}
	}
	return err
}

func (c *checkpointing) Push(ctx context.Context, es []store.Entry) (int, error) {
	n, err := c.Frontier.Push(ctx, es)
	return n, c.ckpt(err)
}

func (c *checkpointing) MarkSeen(ctx context.Context, key string) (bool, error) {
	first, err := c.Frontier.MarkSeen(ctx, key)
	return first, c.ckpt(err)
}

func (c *checkpointing) Claim(ctx context.Context, max int) ([]store.Lease, time.Time, error) {
	ls, next, err := c.Frontier.Claim(ctx, max)
	return ls, next, c.ckpt(err)
}

func (c *checkpointing) Ack(ctx context.Context, l store.Lease, o store.Outcome) error {
	return c.ckpt(c.Frontier.Ack(ctx, l, o))
}

func (c *checkpointing) Retry(ctx context.Context, l store.Lease, nb time.Time, hb bool) error {
	return c.ckpt(c.Frontier.Retry(ctx, l, nb, hb))
}

func (c *checkpointing) Release(ctx context.Context, l store.Lease, nb time.Time) error {
	return c.ckpt(c.Frontier.Release(ctx, l, nb))
}

func (c *checkpointing) SetHostInterval(ctx context.Context, host string, d time.Duration) error {
	return c.ckpt(c.Frontier.SetHostInterval(ctx, host, d))
}

// ent returns an entry for http://host/path with the URL as its key.
func ent(host, path string) store.Entry {
	u := "http://" + host + "/" + path
	return store.Entry{URL: u, Key: u, Host: host}
}

func leaseKeys(ls []store.Lease) []string {
	ks := make([]string, len(ls))
	for i, l := range ls {
		ks[i] = l.Key
	}
	slices.Sort(ks)
	return ks
}

func mustPush(t *testing.T, d *disk.Frontier, want int, es ...store.Entry) {
	t.Helper()
	n, err := d.Push(context.Background(), es)
	if err != nil || n != want {
		t.Fatalf("Push(%d entries) = %d, %v; want %d", len(es), n, err, want)
	}
}

func mustClaim(t *testing.T, d *disk.Frontier, max int) ([]store.Lease, time.Time) {
	t.Helper()
	ls, next, err := d.Claim(context.Background(), max)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return ls, next
}

func mustLookup(t *testing.T, d *disk.Frontier, key string, want disk.KeyState) {
	t.Helper()
	got, err := d.Lookup(context.Background(), key)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", key, err)
	}
	if got != want {
		t.Errorf("Lookup(%s) = %+v, want %+v", key, got, want)
	}
}

// TestDiskCrashReopen closes a Frontier without a checkpoint, as a crash
// would, and checks that exactly the last checkpoint's state comes back.
func TestDiskCrashReopen(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	opts := store.FrontierOptions{PerHost: 2, Interval: -1, LeaseTTL: 2 * time.Hour, Now: clock.Now}
	dir := t.TempDir()
	d := openDisk(t, dir, opts)

	a1, a2, a3, a4 := ent("a.test", "1"), ent("a.test", "2"), ent("a.test", "3"), ent("a.test", "4")
	b1, b2 := ent("b.test", "1"), ent("b.test", "2")
	mustPush(t, d, 6, a1, a2, a3, a4, b1, b2)
	if _, err := d.MarkSeen(ctx, "http://x.test/seen"); err != nil {
		t.Fatal(err)
	}
	ls, _ := mustClaim(t, d, 4)
	if got, want := leaseKeys(ls), leaseKeys([]store.Lease{{Entry: a1}, {Entry: a2}, {Entry: b1}, {Entry: b2}}); !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	byKey := map[string]store.Lease{}
	for _, l := range ls {
		byKey[l.Key] = l
	}
	if err := d.Ack(ctx, byKey[a1.Key], store.Outcome{Status: 200}); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx, byKey[b1.Key], store.Outcome{Status: 404}); err != nil {
		t.Fatal(err)
	}
	if err := d.Retry(ctx, byKey[a2.Key], storetest.Start.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	// b2 stays in flight.
	if err := d.Checkpoint(ctx, []byte("one")); err != nil {
		t.Fatal(err)
	}

	// None of this is checkpointed.
	a5, c1 := ent("a.test", "5"), ent("c.test", "1")
	mustPush(t, d, 2, a5, c1)
	if _, err := d.MarkSeen(ctx, "http://y.test/"); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx, byKey[b2.Key], store.Outcome{Error: "timeout"}); err != nil {
		t.Fatal(err)
	}
	more, _ := mustClaim(t, d, 10)
	for _, l := range more {
		if err := d.Ack(ctx, l, store.Outcome{Skipped: "robots"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SetHostInterval(ctx, "a.test", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil { // no Checkpoint: a crash
		t.Fatal(err)
	}

	d = openDisk(t, dir, opts)
	if got := string(d.Meta()); got != "one" {
		t.Errorf("Meta = %q, want %q", got, "one")
	}
	s, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Queued: a3, a4, the retried a2 and b2, in flight at the checkpoint.
	if want := (store.FrontierStats{Queued: 4, Seen: 7, Done: 2, Retries: 1, Hosts: 2}); s != want {
		t.Errorf("Stats = %+v, want %+v", s, want)
	}
	if f, fl, sk := d.Outcomes(); f != 2 || fl != 0 || sk != 0 {
		t.Errorf("Outcomes = %d, %d, %d; want 2, 0, 0", f, fl, sk)
	}
	if got, want := d.Statuses(), map[int]int64{200: 1, 404: 1}; !maps.Equal(got, want) {
		t.Errorf("Statuses = %v, want %v", got, want)
	}
	mustLookup(t, d, a1.Key, disk.KeyState{Seen: true, Done: true, Outcome: "fetched", Status: 200})
	mustLookup(t, d, b1.Key, disk.KeyState{Seen: true, Done: true, Outcome: "fetched", Status: 404})
	mustLookup(t, d, b2.Key, disk.KeyState{Seen: true})
	mustLookup(t, d, "http://x.test/seen", disk.KeyState{Seen: true})
	mustLookup(t, d, a5.Key, disk.KeyState{})
	mustLookup(t, d, "http://y.test/", disk.KeyState{})

	// The in-flight b2 and the queued a3, a4 are claimable at once (a.test's
	// interval change was lost); a2 waits for its retry time.
	ls, _ = mustClaim(t, d, 10)
	if got, want := leaseKeys(ls), leaseKeys([]store.Lease{{Entry: a3}, {Entry: a4}, {Entry: b2}}); !slices.Equal(got, want) {
		t.Fatalf("after reopen claimed %v, want %v", got, want)
	}
	for _, l := range ls {
		if err := d.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	if ls, next := mustClaim(t, d, 10); len(ls) != 0 || !next.Equal(storetest.Start.Add(time.Hour)) {
		t.Errorf("Claim = %v, next %v; want nothing before a2's retry time %v", leaseKeys(ls), next, storetest.Start.Add(time.Hour))
	}
	clock.Advance(time.Hour)
	ls, _ = mustClaim(t, d, 10)
	if len(ls) != 1 || ls[0].Key != a2.Key || ls[0].Attempt != 1 {
		t.Fatalf("after the retry time claimed %+v, want %s attempt 1", ls, a2.Key)
	}
	mustPush(t, d, 2, a5, c1, a1) // lost pushes are new again; a1 is still seen
}

// TestDiskReopenHostState checks that SetHostInterval intervals and Retry
// back-offs survive a reopen, and that a reopened state spaces every
// host's first claim from the open time.
func TestDiskReopenHostState(t *testing.T) {
	ctx := context.Background()
	clock := storetest.NewClock(storetest.Start)
	opts := store.FrontierOptions{PerHost: 1, Interval: time.Second, LeaseTTL: time.Hour, Now: clock.Now}
	dir := t.TempDir()
	d := openDisk(t, dir, opts)
	mustPush(t, d, 6, ent("fast.test", "1"), ent("fast.test", "2"), ent("slow.test", "1"), ent("slow.test", "2"),
		ent("busy.test", "1"), ent("busy.test", "2"))
	ls, _ := mustClaim(t, d, 10)
	if len(ls) != 3 {
		t.Fatalf("claimed %v, want one per host", leaseKeys(ls))
	}
	if err := d.SetHostInterval(ctx, "slow.test", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		var err error
		if l.Host == "busy.test" {
			err = d.Retry(ctx, l, storetest.Start.Add(30*time.Second), true)
		} else {
			err = d.Ack(ctx, l, store.Outcome{Status: 200})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Checkpoint(ctx, nil); err != nil {
		t.Fatal(err)
	}
	d.Close()

	clock.Advance(2 * time.Second)
	d = openDisk(t, dir, opts)
	steps := []struct {
		at   time.Duration // since Start
		want []string
		next time.Duration
	}{
		{2 * time.Second, nil, 3 * time.Second}, // every host waits an interval from the open
		{3 * time.Second, []string{"http://fast.test/2"}, 12 * time.Second},
		{12 * time.Second, []string{"http://slow.test/2"}, 30 * time.Second},
		// busy.test's slot is taken: only the lease's expiry can free it.
		{30 * time.Second, []string{"http://busy.test/1"}, 30*time.Second + time.Hour},
	}
	for _, st := range steps {
		clock.Advance(storetest.Start.Add(st.at).Sub(clock.Now()))
		ls, next := mustClaim(t, d, 10)
		if got := leaseKeys(ls); !slices.Equal(got, st.want) {
			t.Fatalf("at Start+%v claimed %v, want %v", st.at, got, st.want)
		}
		if want := storetest.Start.Add(st.next); !next.Equal(want) {
			t.Fatalf("at Start+%v next = %v, want Start+%v", st.at, next, st.next)
		}
		for _, l := range ls {
			if err := d.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDiskLocked(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir, store.FrontierOptions{})
	_, err := disk.Open(dir, disk.Options{})
	if !errors.Is(err, disk.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second OpenDisk = %v, want ErrLocked naming %s", err, dir)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d2, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatalf("OpenDisk after Close: %v", err)
	}
	d2.Close()

	// Something other than a Frontier holding the store itself (Pebble's own
	// lock) is reported as ErrLocked too.
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := disk.Open(dir, disk.Options{}); !errors.Is(err, disk.ErrLocked) {
		t.Fatalf("OpenDisk while Pebble has the store open = %v, want ErrLocked", err)
	}
}

// TestDiskLockReleasedOnKill has a child process open a state and checks
// that the state is locked until the child is killed with SIGKILL.
func TestDiskLockReleasedOnKill(t *testing.T) {
	if dir := os.Getenv("TRAWL_DISK_LOCK_HELPER"); dir != "" {
		lockHelper(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskLockReleasedOnKill$")
	cmd.Env = append(os.Environ(), "TRAWL_DISK_LOCK_HELPER="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "locked\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("helper said %q, want %q", line, "locked\n")
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("helper did not open the state within 30s")
	}
	if _, err := disk.Open(dir, disk.Options{}); !errors.Is(err, disk.ErrLocked) {
		t.Errorf("OpenDisk while the helper holds the state = %v, want ErrLocked", err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup in the child
		t.Fatal(err)
	}
	cmd.Wait()
	d, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatalf("OpenDisk after the holder was killed: %v", err)
	}
	d.Close()
}

// lockHelper opens the state in dir, says so, and waits to be killed (or
// for its stdin to close, or a minute at most).
func lockHelper(dir string) {
	d, err := disk.Open(dir, disk.Options{})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer d.Close()
	fmt.Println("locked")
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
}

// quietLogger keeps Pebble quiet in tests that use it directly.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(string, ...any)          {}
func (quietLogger) Fatalf(format string, a ...any) { panic(fmt.Sprintf(format, a...)) }

// pebbleStore creates a plain Pebble store in dir holding kvs.
func pebbleStore(t *testing.T, dir string, kvs ...string) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kvs); i += 2 {
		if err := db.Set([]byte(kvs[i]), []byte(kvs[i+1]), pebble.Sync); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDiskIncompatible(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the path to open
		wantErr string                                // "" for success
	}{
		{"other files", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "notes.txt"},
		{"regular file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "state")
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "not a directory"},
		{"other key-value store", func(t *testing.T, dir string) string {
			pebbleStore(t, dir, "user", "data")
			return dir
		}, "without a trawl format version"},
		{"other format version", func(t *testing.T, dir string) string {
			pebbleStore(t, dir, "v", "trawl-frontier-0")
			return dir
		}, `"trawl-frontier-0"`},
		// A store created but never written (a crash during creation) is new.
		{"empty store", func(t *testing.T, dir string) string {
			pebbleStore(t, dir)
			return dir
		}, ""},
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "a", "b")
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			before, _ := os.ReadDir(dir)
			d, err := disk.Open(path, disk.Options{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("OpenDisk: %v", err)
				}
				mustPush(t, d, 1, ent("a.test", "1"))
				d.Close()
				return
			}
			if err == nil {
				d.Close()
				t.Fatalf("OpenDisk succeeded, want ErrIncompatible")
			}
			if !errors.Is(err, disk.ErrIncompatible) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("OpenDisk = %v, want ErrIncompatible naming %s and saying %s", err, path, tc.wantErr)
			}
			if tc.name == "other files" {
				after, _ := os.ReadDir(dir)
				if len(after) != len(before) {
					t.Errorf("OpenDisk of a foreign directory changed it: %d entries, had %d", len(after), len(before))
				}
			}
		})
	}
}

// corruptState builds a state in a new directory: 300 entries over 3
// hosts, 50 keys marked seen, 30 entries acked, checkpointed; with flush
// its data is in table files, else only in the write-ahead log. It returns
// the directory and what each key's state is.
func corruptState(t *testing.T, flush bool) (string, map[string]disk.KeyState) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{PerHost: 10, Interval: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	keys := map[string]disk.KeyState{}
	for i := range 300 {
		e := ent(fmt.Sprintf("h%d.test", i%3), fmt.Sprintf("page/%d/%s", i, strings.Repeat("x", i%50)))
		mustPush(t, d, 1, e)
		keys[e.Key] = disk.KeyState{Seen: true}
	}
	for i := range 50 {
		k := fmt.Sprintf("http://seen.test/%d", i)
		if _, err := d.MarkSeen(ctx, k); err != nil {
			t.Fatal(err)
		}
		keys[k] = disk.KeyState{Seen: true, Done: true} // not queued: Done for readAll
	}
	ls, _ := mustClaim(t, d, 30)
	for _, l := range ls {
		if err := d.Ack(ctx, l, store.Outcome{Status: 200}); err != nil {
			t.Fatal(err)
		}
		keys[l.Key] = disk.KeyState{Seen: true, Done: true, Outcome: "fetched", Status: 200}
	}
	if err := d.Checkpoint(ctx, []byte("meta")); err != nil {
		t.Fatal(err)
	}
	if flush {
		if err := disk.FlushDisk(d); err != nil {
			t.Fatal(err)
		}
	}
	return dir, keys
}

// readAll reads everything a state holds back through d, every key's
// state and every queued entry (by claiming it), and compares it with
// keys. It returns the first error, or a description of wrong data. d
// must not space its claims (Interval -1): readAll does not wait.
func readAll(d *disk.Frontier, keys map[string]disk.KeyState) error {
	ctx := context.Background()
	queued := 0
	for k, want := range keys {
		got, err := d.Lookup(ctx, k)
		if err != nil {
			return err
		}
		if !want.Done {
			queued++
		}
		if want.Outcome == "" && want.Done { // marked seen only
			want = disk.KeyState{Seen: true}
		}
		if got != want {
			return fmt.Errorf("wrong data: Lookup(%s) = %+v, want %+v", k, got, want)
		}
	}
	for range 1000 {
		ls, _, err := d.Claim(ctx, 100)
		if err != nil {
			return err
		}
		if len(ls) == 0 {
			break
		}
		for _, l := range ls {
			if want := keys[l.Key]; want != (disk.KeyState{Seen: true}) || l.URL != l.Key || !strings.HasPrefix(l.Key, "http://"+l.Host+"/") {
				return fmt.Errorf("wrong data: claimed %+v", l.Entry)
			}
			if err := d.Ack(ctx, l, store.Outcome{}); err != nil {
				return err
			}
			queued--
		}
	}
	if queued != 0 {
		return fmt.Errorf("wrong data: %d queued entries missing", queued)
	}
	return nil
}

// files returns the files in dir whose names match pattern, largest first.
func files(t *testing.T, dir, pattern string) []string {
	t.Helper()
	ps, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(ps) == 0 {
		t.Fatalf("no %s in %s (%v)", pattern, dir, err)
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	slices.SortFunc(ps, func(a, b string) int { return int(size(b) - size(a)) })
	return ps
}

func garble(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 3; i < len(b)/3+64 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// TestDiskCorruption damages the files of a checkpointed state and checks
// that opening or reading it fails with an error wrapping ErrCorrupt and
// naming the directory, and never returns wrong data. (A MANIFEST cut
// short may also be harmless: Pebble then rebuilds from the log.)
func TestDiskCorruption(t *testing.T) {
	cases := []struct {
		name     string
		flush    bool
		damage   func(t *testing.T, dir string)
		harmless bool // the state may also come back whole
	}{
		{"table garbled", true, func(t *testing.T, dir string) { garble(t, files(t, dir, "*.sst")[0]) }, false},
		{"table truncated", true, func(t *testing.T, dir string) { truncate(t, files(t, dir, "*.sst")[0]) }, false},
		{"table missing", true, func(t *testing.T, dir string) {
			if err := os.Remove(files(t, dir, "*.sst")[0]); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"manifest garbled", true, func(t *testing.T, dir string) {
			for _, p := range files(t, dir, "MANIFEST-*") {
				garble(t, p)
			}
		}, false},
		{"manifest truncated", true, func(t *testing.T, dir string) {
			for _, p := range files(t, dir, "MANIFEST-*") {
				truncate(t, p)
			}
		}, true},
		// Everything but trawl.lock, which counts the checkpoints.
		{"store deleted", true, func(t *testing.T, dir string) {
			for _, p := range files(t, dir, "*") {
				if filepath.Base(p) != "trawl.lock" {
					os.Remove(p)
				}
			}
		}, false},
		{"log garbled", false, func(t *testing.T, dir string) { garble(t, files(t, dir, "*.log")[0]) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, keys := corruptState(t, tc.flush)
			tc.damage(t, dir)
			// No spacing: readAll drains the queue without waiting.
			d, err := disk.Open(dir, disk.Options{FrontierOptions: store.FrontierOptions{Interval: -1}})
			if err == nil {
				err = readAll(d, keys)
				d.Close()
			}
			t.Logf("error: %v", err)
			if err == nil && tc.harmless {
				return
			}
			if err == nil {
				t.Fatal("the damage went unnoticed")
			}
			if !errors.Is(err, disk.ErrCorrupt) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("got %v, want ErrCorrupt naming %s", err, dir)
			}
		})
	}
}

// TestDiskMatchesMemory drives a Frontier and a Memory through the same random
// operations on one fake clock and requires the same answers: the same
// entries claimed in the same order, the same next times, errors and
// stats. A tiny head cache and random checkpoints send reads through both
// the pending batch and committed data. At the end the Frontier is reopened
// and must hold what the Memory still has queued or in flight.
func TestDiskMatchesMemory(t *testing.T) {
	for seed := range len(matchOptions) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			matchMemory(t, uint64(seed))
		})
	}
}

// matchOptions are the options of TestDiskMatchesMemory's runs, one per
// seed: explicit values, defaults (zero) and off (-1) for each field.
var matchOptions = []store.FrontierOptions{
	{PerHost: 1, Interval: -1, LeaseTTL: 5 * time.Second},
	{PerHost: 2, Interval: time.Second, LeaseTTL: 5 * time.Second},
	{PerHost: 3, Interval: 0, LeaseTTL: 5 * time.Second},
	{PerHost: 0, Interval: time.Second, LeaseTTL: 5 * time.Second},
	{PerHost: -1, Interval: -1, LeaseTTL: 5 * time.Second},
	{PerHost: -1, Interval: time.Second, LeaseTTL: -1},
	{PerHost: 2, Interval: -1, LeaseTTL: -1},
	{PerHost: 0, Interval: 0, LeaseTTL: 5 * time.Second},
}

func matchMemory(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	clock := storetest.NewClock(storetest.Start)
	opts := matchOptions[seed]
	opts.Now = clock.Now
	m := store.NewMemory(opts)
	defer m.Close()
	dir := t.TempDir()
	d, err := disk.Open(dir, disk.Options{FrontierOptions: opts, HeadCache: []int{-1, 1, 3, 8, 20}[rng.IntN(5)],
		SeenCache: []int{-1, 1, 16, 0}[rng.IntN(4)]})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()

	hosts := []string{"a.test", "b.test", "c.test", "d.test:8080"}
	randEntry := func() store.Entry {
		h := hosts[rng.IntN(len(hosts))]
		e := ent(h, fmt.Sprint(rng.IntN(60)))
		if rng.IntN(3) == 0 {
			e.URL += "?spelling=" + fmt.Sprint(rng.IntN(3)) // dedup is on Key
		}
		e.Depth = rng.IntN(4)
		if e.Depth > 0 {
			e.Parent = "http://" + h + "/parent/" + strings.Repeat("p", rng.IntN(30))
		}
		return e
	}
	type pair struct{ m, d store.Lease }
	var live, settled []pair
	take := func(ps *[]pair) pair {
		i := rng.IntN(len(*ps))
		p := (*ps)[i]
		*ps = slices.Delete(*ps, i, i+1)
		return p
	}
	sameErr := func(step int, what string, em, ed error) {
		t.Helper()
		if (em == nil) != (ed == nil) || (em != nil && !errors.Is(ed, em)) {
			t.Fatalf("step %d: %s: Memory says %v, Disk says %v", step, what, em, ed)
		}
	}
	for step := range 1200 {
		switch op := rng.IntN(100); {
		case op < 25:
			es := make([]store.Entry, 1+rng.IntN(6))
			for i := range es {
				es[i] = randEntry()
			}
			nm, em := m.Push(ctx, es)
			nd, ed := d.Push(ctx, es)
			sameErr(step, "Push", em, ed)
			if nm != nd {
				t.Fatalf("step %d: Push added %d to Memory, %d to Disk", step, nm, nd)
			}
		case op < 30:
			k := randEntry().Key
			fm, em := m.MarkSeen(ctx, k)
			fd, ed := d.MarkSeen(ctx, k)
			sameErr(step, "MarkSeen", em, ed)
			if fm != fd {
				t.Fatalf("step %d: MarkSeen(%s) = %v on Memory, %v on Disk", step, k, fm, fd)
			}
		case op < 55:
			max := 1 + rng.IntN(5)
			lm, nm, em := m.Claim(ctx, max)
			ld, nd, ed := d.Claim(ctx, max)
			sameErr(step, "Claim", em, ed)
			if len(lm) != len(ld) || !nm.Equal(nd) {
				t.Fatalf("step %d: Claim(%d) = %v next %v on Memory, %v next %v on Disk",
					step, max, keysOf(lm), nm, keysOf(ld), nd)
			}
			for i := range lm {
				if lm[i].Entry != ld[i].Entry || !lm[i].Expires.Equal(ld[i].Expires) {
					t.Fatalf("step %d: lease %d is %+v on Memory, %+v on Disk", step, i, lm[i], ld[i])
				}
				live = append(live, pair{lm[i], ld[i]})
			}
		case op < 70 && len(live) > 0:
			p := take(&live)
			o := []store.Outcome{{Status: 200}, {Status: 500, Error: "server"}, {Skipped: "robots"}}[rng.IntN(3)]
			sameErr(step, "Ack", m.Ack(ctx, p.m, o), d.Ack(ctx, p.d, o))
			settled = append(settled, p)
		case op < 78 && len(live) > 0:
			p := take(&live)
			var nb time.Time
			if rng.IntN(3) > 0 {
				nb = clock.Now().Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
			}
			backoff := rng.IntN(3) == 0
			sameErr(step, "Retry", m.Retry(ctx, p.m, nb, backoff), d.Retry(ctx, p.d, nb, backoff))
			settled = append(settled, p)
		case op < 80 && len(settled) > 0:
			p := settled[rng.IntN(len(settled))]
			sameErr(step, "stale Ack", m.Ack(ctx, p.m, store.Outcome{}), d.Ack(ctx, p.d, store.Outcome{}))
		case op < 84:
			h := hosts[rng.IntN(len(hosts))]
			iv := time.Duration(rng.IntN(3000)) * time.Millisecond
			sameErr(step, "SetHostInterval", m.SetHostInterval(ctx, h, iv), d.SetHostInterval(ctx, h, iv))
		case op < 94:
			clock.Advance(time.Duration(rng.IntN(2500)) * time.Millisecond)
		case op < 97:
			if err := d.Flush(nil); err != nil {
				t.Fatalf("step %d: Flush: %v", step, err)
			}
		default:
			if err := d.Checkpoint(ctx, nil); err != nil {
				t.Fatalf("step %d: Checkpoint: %v", step, err)
			}
		}
		sm, em := m.Stats(ctx)
		sd, ed := d.Stats(ctx)
		sameErr(step, "Stats", em, ed)
		if sm != sd {
			t.Fatalf("step %d: Stats = %+v on Memory, %+v on Disk", step, sm, sd)
		}
	}

	// Reopen after a clean stop, or for odd seeds after a crash that
	// followed a Flush: what Memory has queued or in flight is what the
	// Frontier has queued.
	sm, _ := m.Stats(ctx)
	stop := d.Checkpoint
	if seed%2 == 1 {
		stop = func(context.Context, []byte) error { return d.Flush(nil) }
	}
	if err := stop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = disk.Open(dir, disk.Options{FrontierOptions: opts})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := sm
	want.Queued, want.InFlight = sm.Queued+sm.InFlight, 0
	if sd != want {
		t.Fatalf("after reopen Stats = %+v, want %+v", sd, want)
	}
	clock.Advance(time.Hour) // leases expire, retries and intervals pass
	gm, gd := drainAll(t, clock, m), drainAll(t, clock, d)
	if opts.LeaseTTL < 0 {
		// Memory's leases do not expire: what it has in flight is what
		// the reopened Frontier queued again.
		for _, p := range live {
			gm[p.m.Key] = p.m.Attempt
		}
	}
	if !maps.Equal(gm, gd) {
		t.Fatalf("after reopen the Disk held %v, Memory %v", gd, gm)
	}
}

type claimer interface {
	Claim(ctx context.Context, max int) ([]store.Lease, time.Time, error)
	Ack(ctx context.Context, l store.Lease, o store.Outcome) error
}

// drainAll claims and acks everything f holds, moving the clock to each
// next time, and returns each key's attempt count.
func drainAll(t *testing.T, clock *storetest.Clock, f claimer) map[string]int {
	t.Helper()
	ctx := context.Background()
	got := map[string]int{}
	for range 10_000 {
		ls, next, err := f.Claim(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			got[l.Key] = l.Attempt
			if err := f.Ack(ctx, l, store.Outcome{}); err != nil {
				t.Fatal(err)
			}
		}
		if len(ls) == 0 {
			if next.IsZero() {
				return got
			}
			clock.Advance(next.Sub(clock.Now()))
		}
	}
	t.Fatal("drain did not end")
	return nil
}

func keysOf(ls []store.Lease) []string {
	ks := make([]string, len(ls))
	for i, l := range ls {
		ks[i] = l.Key
	}
	return ks
}

// TestDiskFull fills a small tmpfs until a checkpoint or flush fails, then
// checks that the error is returned wrapped and sticks, and that after
// making room the state opens intact at the last good one. It mounts a file system, so it
// runs only as root with TRAWL_DISK_FULL_TEST=1.
func TestDiskFull(t *testing.T) {
	if os.Getenv("TRAWL_DISK_FULL_TEST") != "1" {
		t.Skip("set TRAWL_DISK_FULL_TEST=1 (as root) to fill a small tmpfs")
	}
	// A checkpoint every 50 pushes meets the full disk in Pebble's log;
	// without checkpoints the journal fills it.
	for _, every := range []int{50, 1 << 30} {
		t.Run(fmt.Sprint("checkpoint-every-", every), func(t *testing.T) { diskFull(t, every) })
	}
}

func diskFull(t *testing.T, ckptEvery int) {
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dir := filepath.Join(mnt, "state")
	d, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	pad := strings.Repeat("x", 1000)
	var good store.FrontierStats
	var ckptErr error
	for i := 0; i < 100_000 && ckptErr == nil; i++ {
		mustPush(t, d, 1, ent("a.test", fmt.Sprint(i, pad)))
		if i%10 != 9 {
			continue
		}
		s, err := d.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A flush every 10 pushes, and the checkpoints: whichever meets the
		// full disk first must fail cleanly.
		if i%ckptEvery == ckptEvery-1 {
			ckptErr = d.Checkpoint(ctx, []byte(fmt.Sprint(i)))
		} else {
			ckptErr = d.Flush([]byte(fmt.Sprint(i)))
		}
		if ckptErr == nil {
			good = s
		}
	}
	t.Logf("Checkpoint or Flush: %v", ckptErr)
	if !errors.Is(ckptErr, syscall.ENOSPC) || !strings.Contains(ckptErr.Error(), dir) {
		t.Fatalf("Checkpoint or Flush on a full disk = %v, want ENOSPC naming %s", ckptErr, dir)
	}
	if _, err := d.Push(ctx, []store.Entry{ent("b.test", "1")}); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Push after the failure = %v, want the sticky error", err)
	}
	d.Close()

	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v: %s", err, out)
	}
	d2, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatalf("OpenDisk after making room: %v", err)
	}
	defer d2.Close()
	s, err := d2.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Queued != good.Queued || s.Seen != good.Seen {
		t.Fatalf("after reopen Stats = %+v, want those of the last good checkpoint or flush, %+v", s, good)
	}
}

// TestDiskRobots: robots.txt kept with a checkpoint survives a reopen;
// one stored after the last checkpoint does not.
func TestDiskRobots(t *testing.T) {
	dir := t.TempDir()
	d, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if _, _, ok := d.LoadRobots("http://a.test"); ok {
		t.Fatal("a new store has robots.txt")
	}
	if err := d.StoreRobots("http://a.test", []byte("User-agent: *\nDisallow: /x\n"), at); err != nil {
		t.Fatal(err)
	}
	if err := d.StoreRobots("https://b.test", nil, at); err != nil {
		t.Fatal(err)
	}
	if err := d.Checkpoint(context.Background(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	if err := d.StoreRobots("http://c.test", []byte("late"), at); err != nil {
		t.Fatal(err)
	}
	d.Close() // no checkpoint: c.test is lost, as in a crash

	d, err = disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, tc := range []struct {
		origin string
		body   string
		ok     bool
	}{
		{"http://a.test", "User-agent: *\nDisallow: /x\n", true},
		{"https://b.test", "", true},
		{"http://c.test", "", false},
		{"https://a.test", "", false},
	} {
		body, got, ok := d.LoadRobots(tc.origin)
		if ok != tc.ok || string(body) != tc.body || (ok && !got.Equal(at)) {
			t.Errorf("LoadRobots(%q) = %q, %v, %v; want %q, %v, %v", tc.origin, body, got, ok, tc.body, at, tc.ok)
		}
	}
}
