package store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"trawl/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// schemaFields is the schema of Record's doc: every field, in order.
var schemaFields = []string{
	"url", "final_url", "location", "status", "depth", "parent", "content_type", "bytes", "truncated",
	"title", "canonical", "description", "lang", "links", "fetched_at", "duration_ms", "attempts",
	"error", "skipped", "data",
}

// parityRecords are records of every kind, with the JSONL fields each must
// have, in order.
var parityRecords = []struct {
	name string
	rec  store.Record
	keys string
}{
	{
		name: "fetched 200 with every field",
		rec: store.Record{
			URL: "http://a.test/p?q=1&r=2", FinalURL: "https://a.test/p?q=1&r=2", Status: 200, Depth: 2,
			Parent: "http://a.test/", ContentType: "text/html; charset=utf-8", Bytes: 48213, Truncated: true,
			Title: "Grüße, \"quotes\" <b>&amp; a\ttab", Canonical: "https://a.test/p", Lang: "de-AT",
			Description: "Line one\nline two, with a comma", Links: 87,
			FetchedAt:  time.Date(2025, 3, 4, 6, 6, 7, 8_999_999, time.FixedZone("CET", 3600)),
			DurationMS: 143, Attempts: 1, Data: map[string]any{"price": 3.5, "tags": []string{"a", "b"}},
		},
		keys: "url final_url status depth parent content_type bytes truncated title canonical description lang links fetched_at duration_ms attempts data",
	},
	{
		name: "fetched 404",
		rec: store.Record{
			URL: "http://a.test/gone", Status: 404, Depth: 1, Parent: "http://a.test/", ContentType: "text/html",
			Bytes: 120, Title: "Not found", FetchedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Attempts: 1,
		},
		keys: "url status depth parent content_type bytes title fetched_at duration_ms attempts",
	},
	{
		name: "redirect",
		rec: store.Record{
			URL: "http://a.test/old", Location: "https://a.test/new", Status: 301, Depth: 1, Parent: "http://a.test/",
			FetchedAt: time.Date(2025, 12, 31, 23, 59, 59, 999_999_999, time.UTC), DurationMS: 4, Attempts: 1,
		},
		keys: "url location status depth parent fetched_at duration_ms attempts",
	},
	{
		name: "failed without a response",
		rec:  store.Record{URL: "http://b.test/", Depth: 3, Parent: "http://a.test/", Attempts: 3, Error: "dial tcp: connection refused"},
		keys: "url depth parent duration_ms attempts error",
	},
	{
		name: "failed with a status",
		rec: store.Record{
			URL: "http://a.test/busy", Status: 429, Depth: 1, Parent: "http://a.test/",
			FetchedAt: time.Date(2025, 3, 4, 5, 6, 7, 100_000_000, time.UTC), DurationMS: 2, Attempts: 1,
			Error: "server asked to retry after 1h0m0s, longer than the 1m0s the crawl waits (max retry wait)",
		},
		keys: "url status depth parent fetched_at duration_ms attempts error",
	},
	{
		name: "skipped by robots",
		rec:  store.Record{URL: "http://a.test/private", Depth: 1, Parent: "http://a.test/", Skipped: "robots"},
		keys: "url depth parent skipped",
	},
	{
		name: "skipped with request fields set by mistake",
		rec: store.Record{
			URL: "http://a.test/deep", Status: 200, Depth: 9, FetchedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC),
			DurationMS: 7, Attempts: 1, Skipped: "depth",
		},
		keys: "url depth skipped",
	},
	{
		name: "data of a map",
		rec: store.Record{
			URL: "http://a.test/shop", Status: 200, Attempts: 1, DurationMS: 9,
			Data: map[string]any{"name": "<Tea> & \"co\"", "sizes": []int{1, 2}, "nested": map[string]any{"ok": true, "none": nil}},
		},
		keys: "url status depth duration_ms attempts data",
	},
	{
		name: "data of a string and formula-like text",
		rec: store.Record{
			URL: "http://a.test/=x", Status: 200, Title: "=HYPERLINK(\"http://x\")", Description: "-1", Lang: "@x",
			Canonical: "+c", Attempts: 1, Data: "=1+2, \"quoted\"",
		},
		keys: "url status depth title canonical description lang duration_ms attempts data",
	},
	{
		name: "data of a negative number",
		rec:  store.Record{URL: "http://a.test/n", Status: 200, Attempts: 2, DurationMS: 1, Data: -1.5},
		keys: "url status depth duration_ms attempts data",
	},
	{
		name: "control characters and invalid UTF-8",
		rec: store.Record{
			URL: "http://a.test/\x7f", Status: 200, Attempts: 1,
			Title: "nul\x00 bell\a bs\b ff\f sep\u2028\u2029 bad\xff\xfe end", Error: "half a rune: \xe6\x97",
		},
		keys: "url status depth title duration_ms attempts error",
	},
}

// TestRecordParity writes records of every kind through JSONL and CSV and
// checks that both follow the schema of Record's doc and agree: the same
// fields (JSONL's keys are the non-empty CSV cells), in the same order,
// with the same values. The exact bytes are in testdata/records.jsonl and
// testdata/records.csv (go test -update rewrites them).
func TestRecordParity(t *testing.T) {
	var jsonOut, csvOut bytes.Buffer
	j, c := store.NewJSONL(&jsonOut), store.NewCSV(&csvOut)
	for _, tc := range parityRecords {
		for _, s := range []sink{j, c} {
			if err := s.Put(context.Background(), tc.rec); err != nil {
				t.Fatalf("%s: Put: %v", tc.name, err)
			}
		}
	}
	for _, s := range []sink{j, c} {
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "records.jsonl", jsonOut.Bytes())
	golden(t, "records.csv", csvOut.Bytes())

	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if !slices.Equal(rows[0], schemaFields) {
		t.Fatalf("CSV header %q, want %q", rows[0], schemaFields)
	}
	lines := strings.Split(strings.TrimSuffix(jsonOut.String(), "\n"), "\n")
	if len(lines) != len(parityRecords) || len(rows) != len(parityRecords)+1 {
		t.Fatalf("%d JSONL lines and %d CSV rows for %d records", len(lines), len(rows)-1, len(parityRecords))
	}
	for i, tc := range parityRecords {
		t.Run(tc.name, func(t *testing.T) {
			keys, values := jsonFields(t, lines[i])
			if got := strings.Join(keys, " "); got != tc.keys {
				t.Errorf("JSONL keys:\n got %s\nwant %s", got, tc.keys)
			}
			row := rows[i+1]
			var cells []string // the columns of the non-empty cells
			for col, cell := range row {
				if cell != "" {
					cells = append(cells, schemaFields[col])
				}
			}
			if !slices.Equal(cells, keys) {
				t.Errorf("CSV has cells %q, JSONL keys %q", cells, keys)
			}
			for col, cell := range row {
				name := schemaFields[col]
				raw, ok := values[name]
				if !ok {
					continue
				}
				if want := csvValue(t, name, raw); cell != want {
					t.Errorf("%s: CSV cell %q, JSONL %s (as a cell %q)", name, cell, raw, want)
				}
			}
			if raw, ok := values["fetched_at"]; ok {
				var s string
				if err := json.Unmarshal(raw, &s); err != nil {
					t.Fatal(err)
				}
				at, err := time.Parse(store.FetchedAtLayout, s)
				want := tc.rec.FetchedAt.UTC().Truncate(time.Millisecond)
				if len(s) != len(store.FetchedAtLayout) || err != nil || !at.Equal(want) {
					t.Errorf("fetched_at %q (%v), want %d characters for %v", s, err, len(store.FetchedAtLayout), want)
				}
			}
			// json.Marshal writes a Record as JSONL does, but for HTML escaping.
			b, err := json.Marshal(tc.rec)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			var want bytes.Buffer
			json.HTMLEscape(&want, []byte(lines[i]))
			if !bytes.Equal(b, want.Bytes()) {
				t.Errorf("json.Marshal:\n got %s\nwant %s", b, want.Bytes())
			}
		})
	}
}

// jsonFields returns the keys of the JSON object in line, in order, and
// their values.
func jsonFields(t *testing.T, line string) (keys []string, values map[string]json.RawMessage) {
	t.Helper()
	if !json.Valid([]byte(line)) {
		t.Fatalf("not valid JSON: %s", line)
	}
	if err := json.Unmarshal([]byte(line), &values); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.Token() // {
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys, values
}

// csvValue returns the CSV cell that must hold the JSON value raw of field
// name: strings unquoted, numbers and true as they are, data as its JSON,
// text and data with the formula escape, and "\r\n" read back as "\n".
func csvValue(t *testing.T, name string, raw json.RawMessage) string {
	t.Helper()
	switch name {
	case "status", "depth", "bytes", "links", "duration_ms", "attempts", "truncated":
		return string(raw)
	case "data":
		return formulaEscape(string(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %s is not a JSON string: %v", name, raw, err)
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if name == "fetched_at" {
		return s
	}
	return formulaEscape(s)
}

// formulaEscape is CSV's rule for text cells: a leading ' before a cell
// that a spreadsheet would take for a formula.
func formulaEscape(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// golden compares got with testdata/name, or with -update writes it there.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %q\nwant %q", path, got, want)
	}
}

// TestJSONLStrings checks that JSONL writes strings as encoding/json
// does without HTML escaping, for strings of every kind of trouble.
func TestJSONLStrings(t *testing.T) {
	for _, s := range jsonStringSeeds {
		checkJSONLString(t, s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "é", "日", "\x00", "\x1f", "\x7f", "\"", "\\", "<", ">", "&", "\u2028", "\u2029", "\xff", "\xe6\x97", "\xed\xa0\x80", "\U0001F600"}
	for range 2000 {
		var b strings.Builder
		for range rng.IntN(20) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		checkJSONLString(t, b.String())
	}
}

var jsonStringSeeds = []string{
	"", "plain", "quote \" backslash \\ slash /", "<script>&amp;</script>", "\b\f\n\r\t\v\x00\x01\x1f\x7f",
	"\u2028\u2029", "\xff", "a\xc3", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80", "日本語", "\U0001F600",
}

// FuzzJSONLString is TestJSONLStrings for inputs the fuzzer finds.
func FuzzJSONLString(f *testing.F) {
	for _, s := range jsonStringSeeds {
		f.Add(s)
	}
	f.Fuzz(checkJSONLString)
}

// checkJSONLString writes a record with s in a text field and checks the
// line against encoding/json's encoding of s.
func checkJSONLString(t *testing.T, s string) {
	t.Helper()
	var out, want bytes.Buffer
	j := store.NewJSONL(&out)
	if err := j.Put(context.Background(), store.Record{URL: s, Skipped: s + "x"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Flush(); err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string{"url": s}); err != nil {
		t.Fatal(err)
	}
	wantURL := strings.TrimSuffix(strings.TrimPrefix(want.String(), `{"url":`), "}\n")
	want.Reset()
	if err := enc.Encode(s + "x"); err != nil {
		t.Fatal(err)
	}
	wantLine := `{"url":` + wantURL + `,"depth":0,"skipped":` + strings.TrimSuffix(want.String(), "\n") + "}\n"
	if got := out.String(); got != wantLine {
		t.Errorf("%q:\n got %s\nwant %s", s, got, wantLine)
	}
}

// TestFetchedAt checks fetched_at's fixed width for times of every kind:
// other zones, nanoseconds (truncated, not rounded), the ends of the
// years that fit.
func TestFetchedAt(t *testing.T) {
	times := []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2025, 3, 4, 5, 6, 7, 920_000_000, time.UTC),
		time.Date(2025, 3, 4, 5, 6, 7, 999_999, time.FixedZone("", -9*3600-30*60)),
		time.Date(2025, 3, 4, 5, 6, 7, 1, time.FixedZone("", 14*3600)),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		times = append(times, time.Unix(rng.Int64N(250_000_000_000)-62_000_000_000, rng.Int64N(1e9)))
	}
	for _, at := range times {
		var out bytes.Buffer
		s := store.NewCSV(&out)
		if err := s.Put(context.Background(), store.Record{URL: "u", FetchedAt: at}); err != nil {
			t.Fatalf("%v: %v", at, err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		got := rows[1][14]
		want := at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got != want || len(got) != 24 {
			t.Errorf("fetched_at of %v = %q, want %q", at, got, want)
		}
	}
}
