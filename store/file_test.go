package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trawl/store"
)

type syncSink interface {
	Put(context.Context, store.Record) error
	Sync() (int64, error)
	Rewind(int64) error
}

// TestSinkSyncRewind: records after the last Sync are cut off by Rewind,
// as a resumed crawl does after a crash.
func TestSinkSyncRewind(t *testing.T) {
	for _, tc := range []struct {
		name   string
		new    func(*store.File) syncSink
		header string
	}{
		{"jsonl", func(f *store.File) syncSink { return store.NewJSONL(f) }, ""},
		{"csv", func(f *store.File) syncSink { return store.NewCSV(f) }, "url,final_url,"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "out")
			f, err := store.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := tc.new(f)
			if err := s.Rewind(0); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"http://a.test/1", "http://a.test/2"} {
				if err := s.Put(ctx, store.Record{URL: u, Status: 200}); err != nil {
					t.Fatal(err)
				}
			}
			pos, err := s.Sync()
			if err != nil {
				t.Fatal(err)
			}
			durable, _ := os.ReadFile(path)
			if int64(len(durable)) != pos || !strings.HasPrefix(string(durable), tc.header) {
				t.Fatalf("synced %d bytes %q, file has %d", pos, durable, len(durable))
			}
			// Work after the checkpoint, partly written out: a crash here.
			if err := s.Put(ctx, store.Record{URL: "http://a.test/3", Status: 200}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			f.Close()

			// Resume: reopen, rewind to the checkpoint, redo the work.
			f, err = store.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s = tc.new(f)
			if err := s.Rewind(pos); err != nil {
				t.Fatal(err)
			}
			if err := s.Put(ctx, store.Record{URL: "http://a.test/3", Status: 200}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if !bytes.HasPrefix(got, durable) {
				t.Errorf("the checkpointed part changed:\n%s", got)
			}
			if n := strings.Count(string(got), "http://a.test/3"); n != 1 {
				t.Errorf("record 3 appears %d times, want once:\n%s", n, got)
			}
			if n := strings.Count(string(got), "url,final_url"); tc.header != "" && n != 1 {
				t.Errorf("header appears %d times:\n%s", n, got)
			}
			// A checkpoint beyond the file's end: not this file.
			if err := s.Rewind(int64(len(got)) + 1); !errors.Is(err, store.ErrOutputMismatch) {
				t.Errorf("Rewind past the end: %v, want ErrOutputMismatch", err)
			}
		})
	}
}

func TestSinkSyncNeedsFile(t *testing.T) {
	s := store.NewJSONL(&bytes.Buffer{})
	if _, err := s.Sync(); err == nil {
		t.Error("Sync on a bytes.Buffer: no error")
	}
	if err := s.Rewind(0); err == nil {
		t.Error("Rewind on a bytes.Buffer: no error")
	}
}

type markSink interface {
	syncSink
	Mark() (store.Span, error)
	Verify(store.Span) error
}

// TestSinkMarkVerify: Mark hands records to the OS and describes them in
// contiguous spans; Verify accepts those spans and refuses them once the
// file lost or changed their bytes, as after a machine crash.
func TestSinkMarkVerify(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(*store.File) markSink
	}{
		{"jsonl", func(f *store.File) markSink { return store.NewJSONL(f) }},
		{"csv", func(f *store.File) markSink { return store.NewCSV(f) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "out")
			f, err := store.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := tc.new(f)
			if err := s.Rewind(0); err != nil {
				t.Fatal(err)
			}
			pos, err := s.Sync()
			if err != nil {
				t.Fatal(err)
			}
			var spans []store.Span
			for i := range 3 {
				if err := s.Put(ctx, store.Record{URL: "http://a.test/" + string(rune('a'+i)), Status: 200}); err != nil {
					t.Fatal(err)
				}
				sp, err := s.Mark()
				if err != nil {
					t.Fatal(err)
				}
				if sp.From != pos || sp.To <= sp.From {
					t.Fatalf("span %d = %+v, want one from %d on", i, sp, pos)
				}
				pos = sp.To
				spans = append(spans, sp)
			}
			if b, _ := os.ReadFile(path); int64(len(b)) != pos {
				t.Fatalf("file has %d bytes after Mark, want %d", len(b), pos)
			}
			for _, sp := range spans {
				if err := s.Verify(sp); err != nil {
					t.Errorf("Verify(%+v): %v", sp, err)
				}
			}
			// The machine lost the last span's tail and garbled the first.
			if err := os.Truncate(path, spans[2].To-1); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(spans[2]); !errors.Is(err, store.ErrOutputMismatch) {
				t.Errorf("Verify of a cut span: %v, want ErrOutputMismatch", err)
			}
			b, _ := os.ReadFile(path)
			b[spans[0].From+3] ^= 1
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(spans[0]); !errors.Is(err, store.ErrOutputMismatch) {
				t.Errorf("Verify of a changed span: %v, want ErrOutputMismatch", err)
			}
			if err := s.Verify(spans[1]); err != nil {
				t.Errorf("Verify of an intact span: %v", err)
			}
		})
	}
}
