package store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"trawl/parse"
	"trawl/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// schemaFields is the schema of Record's doc: every field, in order.
var schemaFields = []string{
	"url", "final_url", "location", "status", "depth", "parent", "content_type", "bytes", "truncated",
	"title", "canonical", "description", "lang", "links", "rendered", "render_requests", "render_clicks",
	"fetched_at", "duration_ms", "attempts",
	"error", "skipped", "kind", "outlinks", "warc_file", "warc_offset", "data",
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
			Rendered: true, RenderRequests: 14, RenderClicks: 3,
			FetchedAt:  time.Date(2025, 3, 4, 6, 6, 7, 8_999_999, time.FixedZone("CET", 3600)),
			DurationMS: 143, Attempts: 1, Data: map[string]any{"price": 3.5, "tags": []string{"a", "b"}},
			OutLinks: []store.Link{
				{URL: "https://a.test/next?a=1&b=<2>", Source: "link[href]"},
				{URL: "https://a.test/logo.png", Kind: parse.KindAsset, Source: "img[src]"},
				{URL: "https://a.test/search", Kind: parse.KindForm, Source: "form[action]", Method: "POST", NoFollow: true},
			},
			WARCFile: "crawl-00003.warc.gz", WARCOffset: 1 << 33,
		},
		keys: "url final_url status depth parent content_type bytes truncated title canonical description lang links rendered render_requests render_clicks fetched_at duration_ms attempts outlinks warc_file warc_offset data",
	},
	{
		name: "stylesheet with outlinks",
		rec: store.Record{
			URL: "http://a.test/s.css", Status: 200, Depth: 1, Parent: "http://a.test/", ContentType: "text/css",
			Bytes: 900, Links: 2, FetchedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Attempts: 1, Kind: parse.KindAsset,
			OutLinks: []store.Link{
				{URL: "http://a.test/f.woff2", Kind: parse.KindAsset, Source: "css"},
				{URL: "http://a.test/\"quoted\"\t\x01\u2028/日本", Kind: parse.KindAsset, Source: "css@import", NoFollow: true},
			},
		},
		keys: "url status depth parent content_type bytes links fetched_at duration_ms attempts kind outlinks",
	},
	{
		name: "skipped sitemap",
		rec:  store.Record{URL: "http://a.test/sitemap.xml", Depth: 1, Skipped: "robots", Kind: parse.KindSitemap},
		keys: "url depth skipped kind",
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
	{
		name: "archived at offset 0",
		rec: store.Record{
			URL: "http://a.test/", Status: 200, ContentType: "text/html", Bytes: 10,
			FetchedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Attempts: 1, WARCFile: "crawl-00000.warc.gz",
		},
		keys: "url status depth content_type bytes fetched_at duration_ms attempts warc_file warc_offset",
	},
	{
		name: "warc offset without a file",
		rec:  store.Record{URL: "http://a.test/x", Status: 200, Attempts: 1, WARCOffset: 77},
		keys: "url status depth duration_ms attempts",
	},
	{
		name: "rendered without requests or clicks",
		rec:  store.Record{URL: "http://a.test/js", Status: 200, Attempts: 1, Rendered: true},
		keys: "url status depth rendered render_requests render_clicks duration_ms attempts",
	},
	{
		name: "render counts without rendered",
		rec:  store.Record{URL: "http://a.test/js2", Status: 200, Attempts: 1, RenderRequests: 4, RenderClicks: 2},
		keys: "url status depth duration_ms attempts",
	},
	{
		name: "warc file that looks like a formula",
		rec:  store.Record{URL: "http://a.test/y", Status: 200, Attempts: 1, WARCFile: "=x.warc.gz", WARCOffset: 5},
		keys: "url status depth duration_ms attempts warc_file warc_offset",
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
			keys := checkParity(t, tc.rec, lines[i], rows[i+1])
			if got := strings.Join(keys, " "); got != tc.keys {
				t.Errorf("JSONL keys:\n got %s\nwant %s", got, tc.keys)
			}
		})
	}
}

// checkParity checks that line and row, rec's JSONL line and CSV row,
// agree: JSONL's keys are the non-empty cells, and each cell holds its
// field's JSON value as a cell. It also checks fetched_at against rec and
// that json.Marshal writes rec as line, but for HTML escaping. It returns
// the keys of line, in order.
func checkParity(t *testing.T, rec store.Record, line string, row []string) []string {
	t.Helper()
	keys, values := jsonFields(t, line)
	if len(row) != len(schemaFields) {
		t.Fatalf("CSV row of %d cells, want %d", len(row), len(schemaFields))
	}
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
		want := rec.FetchedAt.UTC().Truncate(time.Millisecond)
		if len(s) != len(store.FetchedAtLayout) || err != nil || !at.Equal(want) {
			t.Errorf("fetched_at %q (%v), want %d characters for %v", s, err, len(store.FetchedAtLayout), want)
		}
	}
	// json.Marshal writes a Record as JSONL does, but for HTML escaping.
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var want bytes.Buffer
	json.HTMLEscape(&want, []byte(line))
	if !bytes.Equal(b, want.Bytes()) {
		t.Errorf("json.Marshal:\n got %s\nwant %s", b, want.Bytes())
	}
	return keys
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
// name: strings unquoted, numbers and true as they are, outlinks and data
// as their JSON, text and data with the formula escape, and "\r\n" read
// back as "\n".
func csvValue(t *testing.T, name string, raw json.RawMessage) string {
	t.Helper()
	switch name {
	case "status", "depth", "bytes", "links", "duration_ms", "attempts", "truncated", "warc_offset",
		"rendered", "render_requests", "render_clicks":
		return string(raw)
	case "data":
		return formulaEscape(string(raw))
	case "outlinks":
		return string(raw)
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
		got := rows[1][slices.Index(schemaFields, "fetched_at")]
		want := at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got != want || len(got) != 24 {
			t.Errorf("fetched_at of %v = %q, want %q", at, got, want)
		}
	}
}

// TestRecordKind checks that kind is written by name for every kind but
// page, which a record leaves out, in JSONL and CSV, and that it reads
// back with encoding/json.
func TestRecordKind(t *testing.T) {
	for _, k := range []parse.Kind{parse.KindPage, parse.KindAsset, parse.KindForm, parse.KindSitemap} {
		t.Run(k.String(), func(t *testing.T) {
			rec := store.Record{URL: "http://a.test/", Status: 200, Attempts: 1, Kind: k}
			line, row := putBoth(t, rec)
			wantJSON, wantCell := `"`+k.String()+`"`, k.String()
			if k == parse.KindPage {
				wantJSON, wantCell = "", ""
			}
			if _, values := jsonFields(t, line); string(values["kind"]) != wantJSON {
				t.Errorf("JSONL %s: kind %q, want %q", line, values["kind"], wantJSON)
			}
			if col := slices.Index(schemaFields, "kind"); row[col] != wantCell {
				t.Errorf("CSV kind cell %q, want %q", row[col], wantCell)
			}
			var back store.Record
			if err := json.Unmarshal([]byte(line), &back); err != nil || back.Kind != k {
				t.Errorf("decoded kind %v (%v), want %v", back.Kind, err, k)
			}
		})
	}
}

// outLinksCases are out-links of every shape, with the JSON text each
// array of them is written as.
var outLinksCases = []struct {
	name  string
	links []store.Link
	json  string
}{
	{
		name:  "one page link",
		links: []store.Link{{URL: "http://a.test/x", Source: "a[href]"}},
		json:  `[{"url":"http://a.test/x","kind":"page","source":"a[href]"}]`,
	},
	{
		name:  "empty source is written",
		links: []store.Link{{URL: "http://a.test/robots-sitemap.xml", Kind: parse.KindSitemap}},
		json:  `[{"url":"http://a.test/robots-sitemap.xml","kind":"sitemap","source":""}]`,
	},
	{
		name: "method and nofollow present and absent",
		links: []store.Link{
			{URL: "http://a.test/get", Kind: parse.KindForm, Source: "form[action]", Method: "GET"},
			{URL: "http://a.test/post", Kind: parse.KindForm, Source: "form[action]", Method: "POST", NoFollow: true},
			{URL: "http://a.test/nf", Source: "a[href]", NoFollow: true},
			{URL: "http://a.test/img", Kind: parse.KindAsset, Source: "img[srcset]"},
		},
		json: `[{"url":"http://a.test/get","kind":"form","source":"form[action]","method":"GET"},` +
			`{"url":"http://a.test/post","kind":"form","source":"form[action]","method":"POST","nofollow":true},` +
			`{"url":"http://a.test/nf","kind":"page","source":"a[href]","nofollow":true},` +
			`{"url":"http://a.test/img","kind":"asset","source":"img[srcset]"}]`,
	},
	{
		name: "escaping",
		links: []store.Link{
			{URL: "http://a.test/\"q\"\\?a=<b>&c=d", Source: "comment a[href]"},
			{URL: "http://a.test/\x00\x1f\x7f\b\f\n\r\t", Kind: parse.KindAsset, Source: "iframe[srcdoc] img[src]"},
			{URL: "http://ä.test/日本/\U0001F600\u2028\u2029", Kind: parse.KindForm, Source: "form[action]", Method: "P\"OST"},
			{URL: "http://a.test/bad\xff\xe6\x97", Source: "[style]\xc3"},
		},
		json: `[{"url":"http://a.test/\"q\"\\?a=<b>&c=d","kind":"page","source":"comment a[href]"},` +
			`{"url":"http://a.test/\u0000\u001f` + "\x7f" + `\b\f\n\r\t","kind":"asset","source":"iframe[srcdoc] img[src]"},` +
			`{"url":"http://ä.test/日本/` + "\U0001F600" + `\u2028\u2029","kind":"form","source":"form[action]","method":"P\"OST"},` +
			`{"url":"http://a.test/bad\ufffd\ufffd\ufffd","kind":"page","source":"[style]\ufffd"}]`,
	},
}

// TestOutLinks checks the JSON text of outlinks against what it must be
// and against encoding/json's encoding of the links (without HTML
// escaping), that CSV's cell holds that same text, and that the links
// read back with encoding/json.
func TestOutLinks(t *testing.T) {
	for _, tc := range outLinksCases {
		t.Run(tc.name, func(t *testing.T) {
			checkOutLinks(t, tc.links, tc.json)
		})
	}
}

// TestOutLinksRandom is TestOutLinks for random links, their strings made
// of pieces that need escaping.
func TestOutLinksRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		checkOutLinks(t, randomLinks(rng, 1+rng.IntN(6)), "")
	}
}

// checkOutLinks writes a record with links and checks its outlinks as
// TestOutLinks says; want, if not empty, is the JSON text they must have.
func checkOutLinks(t *testing.T, links []store.Link, want string) {
	t.Helper()
	line, row := putBoth(t, store.Record{URL: "http://a.test/", Status: 200, Links: len(links), Attempts: 1, OutLinks: links})
	_, values := jsonFields(t, line)
	got := string(values["outlinks"])
	if want != "" && got != want {
		t.Errorf("outlinks:\n got %s\nwant %s", got, want)
	}
	if stdlib := stdJSON(t, links); got != stdlib {
		t.Errorf("outlinks:\n got %s\nencoding/json writes %s", got, stdlib)
	}
	if cell := row[slices.Index(schemaFields, "outlinks")]; cell != got {
		t.Errorf("CSV outlinks cell:\n got %s\nwant %s", cell, got)
	}
	var back store.Record
	if err := json.Unmarshal([]byte(line), &back); err != nil {
		t.Fatalf("decode %s: %v", line, err)
	}
	wantLinks := slices.Clone(links)
	for i := range wantLinks {
		l := &wantLinks[i]
		l.URL, l.Source, l.Method = validUTF8(l.URL), validUTF8(l.Source), validUTF8(l.Method)
	}
	if !slices.Equal(back.OutLinks, wantLinks) {
		t.Errorf("decoded outlinks %+v, want %+v", back.OutLinks, wantLinks)
	}
}

// stdJSON returns encoding/json's encoding of v without HTML escaping.
func stdJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// putBoth writes rec through JSONL and CSV and returns its line, without
// the newline, and its row, checked to have a cell for every field.
func putBoth(t *testing.T, rec store.Record) (line string, row []string) {
	t.Helper()
	var jsonOut, csvOut bytes.Buffer
	j, c := store.NewJSONL(&jsonOut), store.NewCSV(&csvOut)
	for _, s := range []sink{j, c} {
		if err := s.Put(context.Background(), rec); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	if len(rows) != 2 || len(rows[1]) != len(schemaFields) {
		t.Fatalf("CSV rows %q, want the header and one row of %d cells", rows, len(schemaFields))
	}
	return strings.TrimSuffix(jsonOut.String(), "\n"), rows[1]
}

// randomPieces are what random strings are made of: plain text, and what
// must be escaped in JSON (controls, quotes, U+2028, invalid UTF-8), in
// HTML (<, >, &) or in CSV (commas, quotes, newlines, formula starts).
var randomPieces = []string{
	"a", "/", "é", "日", "\U0001F600", "\x00", "\x1f", "\x7f", "\"", "\\", "<", ">", "&", "\u2028", "\u2029",
	"\xff", "\xe6\x97", "\xed\xa0\x80", ",", "\n", "\t", "=", "+", "-", "@", "'", " ",
}

func randomString(rng *rand.Rand, max int) string {
	var b strings.Builder
	for range rng.IntN(max + 1) {
		b.WriteString(randomPieces[rng.IntN(len(randomPieces))])
	}
	return b.String()
}

// randomLinks returns n random links of every kind.
func randomLinks(rng *rand.Rand, n int) []store.Link {
	links := make([]store.Link, n)
	for i := range links {
		l := store.Link{URL: "http://a.test/" + randomString(rng, 8), Kind: parse.Kind(rng.IntN(4)), Source: randomString(rng, 3)}
		if rng.IntN(3) == 0 {
			l.Method = []string{"GET", "POST", randomString(rng, 3)}[rng.IntN(3)]
		}
		l.NoFollow = rng.IntN(3) == 0
		links[i] = l
	}
	return links
}

// validUTF8 is s with each byte that is not part of valid UTF-8 replaced
// by U+FFFD, as JSON strings are written and read.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// TestRecordRandom writes random records through JSONL and CSV and checks
// that JSONL writes what MarshalJSON returns, that the two formats agree
// (see checkParity), and that a line decodes with encoding/json into the
// record, as the presence rules of Record's table leave it.
func TestRecordRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 1000 {
		rec := randomRecord(rng)
		line, row := putBoth(t, rec)
		b, err := rec.MarshalJSON()
		if err != nil {
			t.Fatalf("record %d: MarshalJSON: %v", i, err)
		}
		if string(b) != line {
			t.Fatalf("record %d: MarshalJSON\n got %s\nJSONL %s", i, b, line)
		}
		checkParity(t, rec, line, row)

		var back store.Record
		if err := json.Unmarshal([]byte(line), &back); err != nil {
			t.Fatalf("record %d: decode %s: %v", i, line, err)
		}
		want := readBack(rec)
		if !back.FetchedAt.Equal(want.FetchedAt) {
			t.Errorf("record %d: decoded fetched_at %v, want %v", i, back.FetchedAt, want.FetchedAt)
		}
		back.FetchedAt, want.FetchedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(back, want) {
			t.Errorf("record %d: %s\ndecoded as %+v\n      want %+v", i, line, back, want)
		}
		if t.Failed() {
			return
		}
	}
}

// randomRecord returns a record with random fields, each set or not.
func randomRecord(rng *rand.Rand) store.Record {
	maybe := func(s string) string {
		if rng.IntN(2) == 0 {
			return ""
		}
		return s
	}
	r := store.Record{
		URL:         "http://a.test/" + randomString(rng, 6),
		FinalURL:    maybe("https://a.test/" + randomString(rng, 6)),
		Location:    maybe(randomString(rng, 6)),
		Status:      []int{0, 200, 301, 404, 429}[rng.IntN(5)],
		Depth:       rng.IntN(5) - 1,
		Parent:      maybe(randomString(rng, 6)),
		ContentType: maybe(randomString(rng, 4)),
		Bytes:       rng.Int64N(3) * rng.Int64N(1<<40),
		Truncated:   rng.IntN(2) == 0,
		Title:       maybe(randomString(rng, 10)),
		Canonical:   maybe(randomString(rng, 6)),
		Description: maybe(randomString(rng, 10)),
		Lang:        maybe(randomString(rng, 2)),
		Links:       rng.IntN(3) * rng.IntN(100),
		DurationMS:  rng.Int64N(3) * rng.Int64N(100_000),
		Attempts:    rng.IntN(4),
		Error:       maybe(randomString(rng, 8)),
		Kind:        parse.Kind(rng.IntN(4)),
		WARCFile:    maybe(randomString(rng, 5)),
		WARCOffset:  rng.Int64N(2) * rng.Int64N(1<<40),
	}
	if rng.IntN(2) == 0 {
		r.FetchedAt = time.Unix(rng.Int64N(250_000_000_000)-62_000_000_000, rng.Int64N(1e9))
	}
	if rng.IntN(3) == 0 {
		r.Skipped = randomString(rng, 3) + "x"
	}
	if n := rng.IntN(4); n > 0 {
		r.OutLinks = randomLinks(rng, n)
	}
	switch rng.IntN(4) {
	case 1:
		r.Data = randomString(rng, 6)
	case 2:
		r.Data = float64(rng.IntN(200) - 100)
	case 3:
		r.Data = map[string]any{randomString(rng, 3): randomString(rng, 3)}
	}
	return r
}

// readBack returns rec as a JSONL line of it decodes: without the fields
// the presence rules leave out, fetched_at in UTC to the millisecond, and
// text as valid UTF-8.
func readBack(rec store.Record) store.Record {
	r := rec
	if r.Skipped != "" {
		r.Status, r.FetchedAt, r.DurationMS, r.Attempts = 0, time.Time{}, 0, 0
	}
	if r.WARCFile == "" {
		r.WARCOffset = 0
	}
	r.FetchedAt = r.FetchedAt.UTC().Truncate(time.Millisecond)
	for _, s := range []*string{&r.URL, &r.FinalURL, &r.Location, &r.Parent, &r.ContentType, &r.Title, &r.Canonical,
		&r.Description, &r.Lang, &r.Error, &r.Skipped, &r.WARCFile} {
		*s = validUTF8(*s)
	}
	r.OutLinks = slices.Clone(r.OutLinks)
	for i := range r.OutLinks {
		l := &r.OutLinks[i]
		l.URL, l.Source, l.Method = validUTF8(l.URL), validUTF8(l.Source), validUTF8(l.Method)
	}
	switch d := r.Data.(type) {
	case string:
		r.Data = validUTF8(d)
	case map[string]any:
		m := map[string]any{}
		for k, v := range d {
			m[validUTF8(k)] = validUTF8(v.(string))
		}
		r.Data = m
	}
	return r
}

// TestRecordWARC checks warc_file and warc_offset: both present when
// WARCFile is set (the offset even when 0), both absent when it is not
// (whatever WARCOffset holds), after outlinks and before data, the same
// in CSV and JSONL, and read back by encoding/json.
func TestRecordWARC(t *testing.T) {
	for _, tc := range []struct {
		name         string
		file         string
		offset       int64
		wantJSON     string // the JSONL fields after attempts
		wantF, wantO string // the CSV cells
	}{
		{"set", "crawl-00002.warc.gz", 987654321, `"warc_file":"crawl-00002.warc.gz","warc_offset":987654321,"data":1}`, "crawl-00002.warc.gz", "987654321"},
		{"offset 0", "crawl-00000.warc.gz", 0, `"warc_file":"crawl-00000.warc.gz","warc_offset":0,"data":1}`, "crawl-00000.warc.gz", "0"},
		{"unset", "", 0, `"data":1}`, "", ""},
		{"offset without file", "", 42, `"data":1}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := store.Record{URL: "http://a.test/", Status: 200, Attempts: 1, WARCFile: tc.file, WARCOffset: tc.offset, Data: 1}
			line, row := putBoth(t, rec)
			if want := `{"url":"http://a.test/","status":200,"depth":0,"duration_ms":0,"attempts":1,` + tc.wantJSON; line != want {
				t.Errorf("JSONL got %s, want %s", line, want)
			}
			col := slices.Index(schemaFields, "warc_file")
			if col != slices.Index(schemaFields, "outlinks")+1 || schemaFields[col+1] != "warc_offset" || schemaFields[col+2] != "data" {
				t.Fatalf("schema %q: want outlinks, warc_file, warc_offset, data", schemaFields)
			}
			if row[col] != tc.wantF || row[col+1] != tc.wantO {
				t.Errorf("CSV cells %q, %q, want %q, %q", row[col], row[col+1], tc.wantF, tc.wantO)
			}
			checkParity(t, rec, line, row)
			var back store.Record
			if err := json.Unmarshal([]byte(line), &back); err != nil {
				t.Fatalf("decode %s: %v", line, err)
			}
			if want := readBack(rec); back.WARCFile != want.WARCFile || back.WARCOffset != want.WARCOffset {
				t.Errorf("decoded warc_file %q, warc_offset %d, want %q, %d", back.WARCFile, back.WARCOffset, want.WARCFile, want.WARCOffset)
			}
		})
	}
}

// TestJSONLPutAllocs checks that writing a record with its WARC fields
// costs no allocation (with Data nil: encoding/json allocates).
func TestJSONLPutAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceBuild() {
		t.Skip("allocations are counted without -race and -cover")
	}
	s := store.NewJSONL(io.Discard)
	rec := store.Record{URL: "http://a.test/p", Status: 200, Attempts: 1, Title: "t", FetchedAt: time.Unix(1e9, 0),
		OutLinks: []store.Link{{URL: "http://a.test/q"}}, WARCFile: "crawl-00000.warc.gz", WARCOffset: 1234}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		if err := s.Put(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("JSONL.Put: %v allocations, want 0", n)
	}
}

// raceBuild reports whether the test binary was built with -race, under
// which sync.Pool drops items at random (and so allocates).
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return true // do not know: assume the worst
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
