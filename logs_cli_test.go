package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogFile: --log FILE --log-format json -v writes one JSON object per
// line, a fetch line per request with url, host, status and duration,
// even with -q, which keeps stderr silent; a second run appends.
func TestLogFile(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "crawl.log")
	out := filepath.Join(dir, "out.jsonl")
	_, stderr, code := trawl(t, "demo", "-q", "--rate", "-1", "--log", logFile, "--log-format", "json", "-v", "-o", out)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing on stderr with -q", code, stderr)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]int{}
	fetchURLs := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := l[k]; !ok {
				t.Errorf("log line %q has no %q", sc.Text(), k)
			}
		}
		msg, _ := l["msg"].(string)
		msgs[msg]++
		if msg != "fetch" {
			continue
		}
		for _, k := range []string{"url", "host", "status", "duration"} {
			if _, ok := l[k]; !ok {
				t.Errorf("fetch line %q has no %q", sc.Text(), k)
			}
		}
		u, _ := l["url"].(string)
		fetchURLs[u] = true
	}
	recs := readRecords(t, mustRead(t, out))
	for _, r := range recs {
		if r.Status != 0 && !fetchURLs[r.URL] {
			t.Errorf("no fetch line for %s", r.URL)
		}
	}
	if msgs["start"] != 1 || msgs["end"] != 1 || msgs["fetch"] < len(recs)/2 {
		t.Errorf("messages %v, want a start, an end and a fetch line per request (%d records)", msgs, len(recs))
	}

	// The file is appended to, not replaced.
	if _, stderr, code := trawl(t, "demo", "-q", "--rate", "-1", "--log", logFile, "--log-format", "json", "-o", out); code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	again := mustRead(t, logFile)
	if !bytes.HasPrefix(again, data) || bytes.Count(again, []byte(`"msg":"start"`)) != 2 || bytes.Count(again[len(data):], []byte(`"msg":"fetch"`)) != 0 {
		t.Errorf("after a second run at info level the log holds %d start lines; want the first run's lines, then a second start and no fetch lines", bytes.Count(again, []byte(`"msg":"start"`)))
	}
}

// TestLogStderr: without --log, logs go to stderr when it is not a
// terminal (as in tests), in text, before the summary; -v adds the
// fetch lines.
func TestLogStderr(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	_, stderr, code := trawl(t, "demo", "--rate", "-1", "-v", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var start, fetch, end int
	for l := range strings.SplitSeq(stderr, "\n") {
		switch {
		case strings.HasPrefix(l, "time=") && strings.Contains(l, " level=INFO msg=start "):
			start++
		case strings.HasPrefix(l, "time=") && strings.Contains(l, " level=DEBUG msg=fetch url=http://"):
			for _, k := range []string{" host=", " status=", " duration="} {
				if !strings.Contains(l, k) {
					t.Errorf("fetch line %q has no %q", l, k)
				}
			}
			fetch++
		case strings.HasPrefix(l, "time=") && strings.Contains(l, " level=INFO msg=end "):
			end++
		}
	}
	if start != 1 || end != 1 || fetch == 0 {
		t.Errorf("stderr:\n%s\nwant text log lines: a start, fetch lines and an end", stderr)
	}
	if i, j := strings.Index(stderr, " msg=end "), strings.Index(stderr, "trawl: done in"); j < 0 || i > j {
		t.Errorf("stderr:\n%s\nwant the summary after the log's end line", stderr)
	}
}

// TestLogFlagsRefused: a bad --log-format, or a --log in a folder that
// does not exist, is refused with one line and exit 2, before anything is
// created.
func TestLogFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"format", []string{"demo", "--log-format", "xml"}, `--log-format "xml": want text or json`},
		{"folder", []string{"demo", "--log", filepath.Join(missing, "crawl.log"), "-o", filepath.Join(dir, "out.jsonl")}, "--log " + filepath.Join(missing, "crawl.log") + ": folder " + missing + " does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := trawl(t, tc.args...)
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line with %q", code, stderr, tc.want)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("%d files created in %s, want none", len(ents), dir)
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
