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

// TestFileErrors checks the messages of File's errors: each layer named
// once, the operating system's error saying the operation and the path.
func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing", "out.jsonl")
	if _, err := store.OpenFile(missing); err == nil || err.Error() != "store: output: open "+missing+": no such file or directory" {
		t.Errorf("OpenFile in a missing directory: %v", err)
	}

	path := filepath.Join(dir, "out.jsonl")
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	span := f.Mark()
	mismatch := "store: output file does not match the crawl state: "
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"Truncate past the end", f.Truncate(9), mismatch + "cannot truncate " + path + " to 9 bytes: it has only 5"},
		{"Verify of another span", f.Verify(store.Span{From: 0, To: 5, CRC: span.CRC + 1}), mismatch + "bytes 0-5 of " + path + " differ from those written"},
		{"Verify of a bad span", f.Verify(store.Span{From: 5, To: 2}), mismatch + "bad span 5-2"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want || !errors.Is(tc.err, store.ErrOutputMismatch) {
			t.Errorf("%s: %v, want %s wrapping ErrOutputMismatch", tc.what, tc.err, tc.want)
		}
	}

	f.Close()
	_, syncErr := f.Sync()
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"Sync", syncErr, "store: output: sync " + path + ": file already closed"},
		{"Truncate", f.Truncate(0), "store: output: truncate: stat " + path + ": file already closed"},
		{"Verify", f.Verify(span), "store: output: verify: read " + path + ": file already closed"},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("%s of a closed file: %v, want %s", tc.what, tc.err, tc.want)
		}
	}
}

// TestSinkName checks that the sinks, and Filter over them, name the file
// they write to, and only a file.
func TestSinkName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.jsonl")
	f, err := store.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	osf, err := os.Create(path + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	defer osf.Close()
	type named interface{ Name() string }
	for _, tc := range []struct {
		what string
		s    named
		want string
	}{
		{"File", f, path},
		{"JSONL on a File", store.NewJSONL(f), path},
		{"CSV on a File", store.NewCSV(f), path},
		{"JSONL on an os.File", store.NewJSONL(osf), path + ".csv"},
		{"CSV on an os.File", store.NewCSV(osf), path + ".csv"},
		{"JSONL on a buffer", store.NewJSONL(&bytes.Buffer{}), ""},
		{"CSV on a buffer", store.NewCSV(&bytes.Buffer{}), ""},
		{"Filter of a JSONL on a File", store.Filter(store.NewJSONL(f), store.Fetched).(named), path},
		{"Filter of a CSV on an os.File", store.Filter(store.NewCSV(osf), nil).(named), path + ".csv"},
		{"Filter of a sink without Name", store.Filter(&fakePutter{}, nil).(named), ""},
	} {
		if got := tc.s.Name(); got != tc.want {
			t.Errorf("%s: Name() = %q, want %q", tc.what, got, tc.want)
		}
	}
}
