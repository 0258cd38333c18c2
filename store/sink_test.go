package store_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"trawl/parse"
	"trawl/store"
)

// sink is what the crawler needs of a sink, plus Flush.
type sink interface {
	Put(ctx context.Context, r store.Record) error
	Flush() error
}

var fetchedAt = time.Date(2025, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// sinkCases are records with the exact JSONL line and CSV row each makes.
// TestRecordParity checks the two agree on many more.
var sinkCases = []struct {
	name string
	rec  store.Record
	json string
	csv  string
}{
	{
		name: "minimal",
		rec:  store.Record{URL: "http://a.test/"},
		json: `{"url":"http://a.test/","depth":0,"duration_ms":0,"attempts":0}`,
		csv:  `http://a.test/,,,,0,,,,,,,,,,,,,,0,0,,,,,,,`,
	},
	{
		name: "fetched",
		rec: store.Record{
			URL: "http://a.test/x?a=1&b=2", FinalURL: "https://a.test/x?a=1&b=2", Status: 200, Depth: 1,
			Parent: "http://a.test/", ContentType: "text/html; charset=utf-8", Bytes: 10240, Truncated: true,
			Title: "Grüße – 日本語 <b>&amp;", Canonical: "https://a.test/x", Lang: "de", Links: 20,
			FetchedAt: fetchedAt, DurationMS: 12, Attempts: 1, Data: map[string]any{"price": 3.5, "tags": []string{"a"}},
		},
		json: `{"url":"http://a.test/x?a=1&b=2","final_url":"https://a.test/x?a=1&b=2","status":200,"depth":1,` +
			`"parent":"http://a.test/","content_type":"text/html; charset=utf-8","bytes":10240,"truncated":true,` +
			`"title":"Grüße – 日本語 <b>&amp;","canonical":"https://a.test/x","lang":"de","links":20,` +
			`"fetched_at":"2025-03-04T05:06:07.890Z","duration_ms":12,"attempts":1,"data":{"price":3.5,"tags":["a"]}}`,
		csv: `http://a.test/x?a=1&b=2,https://a.test/x?a=1&b=2,,200,1,http://a.test/,text/html; charset=utf-8,10240,true,` +
			`Grüße – 日本語 <b>&amp;,https://a.test/x,,de,20,,,,2025-03-04T05:06:07.890Z,12,1,,,,,,,"{""price"":3.5,""tags"":[""a""]}"`,
	},
	{
		name: "quoting",
		rec:  store.Record{URL: "http://a.test/q", Status: 404, Depth: 2, Title: "a, \"b\"\nc\r\nd", Description: "d,e", Attempts: 1},
		json: `{"url":"http://a.test/q","status":404,"depth":2,"title":"a, \"b\"\nc\r\nd","description":"d,e","duration_ms":0,"attempts":1}`,
		csv:  "http://a.test/q,,,404,2,,,,,\"a, \"\"b\"\"\nc\r\nd\",,\"d,e\",,,,,,,0,1,,,,,,,",
	},
	{
		name: "error",
		rec:  store.Record{URL: "http://b.test/", Depth: 3, Parent: "http://a.test/", Attempts: 3, Error: "fetch http://b.test/: timeout"},
		json: `{"url":"http://b.test/","depth":3,"parent":"http://a.test/","duration_ms":0,"attempts":3,"error":"fetch http://b.test/: timeout"}`,
		csv:  `http://b.test/,,,,3,http://a.test/,,,,,,,,,,,,,0,3,fetch http://b.test/: timeout,,,,,,`,
	},
	{
		name: "skipped",
		rec:  store.Record{URL: "http://c.test/private", Depth: 1, Skipped: "robots"},
		json: `{"url":"http://c.test/private","depth":1,"skipped":"robots"}`,
		csv:  `http://c.test/private,,,,1,,,,,,,,,,,,,,,,,robots,,,,,`,
	},
	{
		name: "skipped with request fields",
		rec: store.Record{URL: "http://c.test/private", Depth: 1, Status: 200, FetchedAt: fetchedAt,
			DurationMS: 5, Attempts: 1, Skipped: "robots"},
		json: `{"url":"http://c.test/private","depth":1,"skipped":"robots"}`,
		csv:  `http://c.test/private,,,,1,,,,,,,,,,,,,,,,,robots,,,,,`,
	},
	{
		name: "redirect",
		rec: store.Record{URL: "http://a.test/old", Location: "http://a.test/new", Status: 301, Depth: 1, Parent: "http://a.test/",
			FetchedAt: fetchedAt, DurationMS: 4, Attempts: 1},
		json: `{"url":"http://a.test/old","location":"http://a.test/new","status":301,"depth":1,"parent":"http://a.test/",` +
			`"fetched_at":"2025-03-04T05:06:07.890Z","duration_ms":4,"attempts":1}`,
		csv: `http://a.test/old,,http://a.test/new,301,1,http://a.test/,,,,,,,,,,,,2025-03-04T05:06:07.890Z,4,1,,,,,,,`,
	},
	{
		name: "asset",
		rec: store.Record{URL: "http://a.test/s.css", Status: 200, Depth: 1, Parent: "http://a.test/", ContentType: "text/css",
			Attempts: 1, Kind: parse.KindAsset},
		json: `{"url":"http://a.test/s.css","status":200,"depth":1,"parent":"http://a.test/","content_type":"text/css",` +
			`"duration_ms":0,"attempts":1,"kind":"asset"}`,
		csv: `http://a.test/s.css,,,200,1,http://a.test/,text/css,,,,,,,,,,,,0,1,,,asset,,,,`,
	},
	{
		name: "skipped form",
		rec:  store.Record{URL: "http://a.test/search", Depth: 1, Skipped: "robots", Kind: parse.KindForm},
		json: `{"url":"http://a.test/search","depth":1,"skipped":"robots","kind":"form"}`,
		csv:  `http://a.test/search,,,,1,,,,,,,,,,,,,,,,,robots,form,,,,`,
	},
	{
		name: "page kind is not written",
		rec:  store.Record{URL: "http://a.test/p", Depth: 1, Skipped: "depth", Kind: parse.KindPage},
		json: `{"url":"http://a.test/p","depth":1,"skipped":"depth"}`,
		csv:  `http://a.test/p,,,,1,,,,,,,,,,,,,,,,,depth,,,,,`,
	},
	{
		name: "outlinks",
		rec: store.Record{URL: "http://a.test/", Status: 200, Links: 4, Attempts: 1, Kind: parse.KindSitemap,
			OutLinks: []store.Link{
				{URL: "http://a.test/a?x=1&y=<2>", Kind: parse.KindPage, Source: "a[href]"},
				{URL: "http://a.test/s.css", Kind: parse.KindAsset, Source: "link[href]", NoFollow: true},
				{URL: "http://a.test/q", Kind: parse.KindForm, Source: "form[action]", Method: "POST"},
				{URL: "http://a.test/\"q\"\n", Kind: parse.KindSitemap, Source: "", Method: "GET", NoFollow: true},
			},
			Data: 1},
		json: `{"url":"http://a.test/","status":200,"depth":0,"links":4,"duration_ms":0,"attempts":1,"kind":"sitemap","outlinks":[` +
			`{"url":"http://a.test/a?x=1&y=<2>","kind":"page","source":"a[href]"},` +
			`{"url":"http://a.test/s.css","kind":"asset","source":"link[href]","nofollow":true},` +
			`{"url":"http://a.test/q","kind":"form","source":"form[action]","method":"POST"},` +
			`{"url":"http://a.test/\"q\"\n","kind":"sitemap","source":"","method":"GET","nofollow":true}],"data":1}`,
		csv: `http://a.test/,,,200,0,,,,,,,,,4,,,,,0,1,,,sitemap,"[` +
			`{""url"":""http://a.test/a?x=1&y=<2>"",""kind"":""page"",""source"":""a[href]""},` +
			`{""url"":""http://a.test/s.css"",""kind"":""asset"",""source"":""link[href]"",""nofollow"":true},` +
			`{""url"":""http://a.test/q"",""kind"":""form"",""source"":""form[action]"",""method"":""POST""},` +
			`{""url"":""http://a.test/\""q\""\n"",""kind"":""sitemap"",""source"":"""",""method"":""GET"",""nofollow"":true}]",,,1`,
	},
	{
		name: "archived",
		rec: store.Record{URL: "http://a.test/w", Status: 200, Attempts: 1, OutLinks: []store.Link{{URL: "http://a.test/"}},
			WARCFile: "crawl-00001.warc.gz", WARCOffset: 123456, Data: "d"},
		json: `{"url":"http://a.test/w","status":200,"depth":0,"duration_ms":0,"attempts":1,` +
			`"outlinks":[{"url":"http://a.test/","kind":"page","source":""}],"warc_file":"crawl-00001.warc.gz","warc_offset":123456,"data":"d"}`,
		csv: `http://a.test/w,,,200,0,,,,,,,,,,,,,,0,1,,,,"[{""url"":""http://a.test/"",""kind"":""page"",""source"":""""}]",crawl-00001.warc.gz,123456,"""d"""`,
	},
	{
		name: "archived at offset 0",
		rec:  store.Record{URL: "http://a.test/w", Depth: 1, Skipped: "robots", WARCFile: "c.warc.gz"},
		json: `{"url":"http://a.test/w","depth":1,"skipped":"robots","warc_file":"c.warc.gz","warc_offset":0}`,
		csv:  `http://a.test/w,,,,1,,,,,,,,,,,,,,,,,robots,,,c.warc.gz,0,`,
	},
}

const csvHeader = "url,final_url,location,status,depth,parent,content_type,bytes,truncated,title,canonical,description,lang,links,rendered,render_requests,render_clicks,fetched_at,duration_ms,attempts,error,skipped,kind,outlinks,warc_file,warc_offset,data"

func TestJSONL(t *testing.T) {
	for _, tc := range sinkCases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := store.NewJSONL(&out)
			if err := s.Put(context.Background(), tc.rec); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if out.Len() != 0 {
				t.Errorf("Put wrote %q before Flush, want buffering", out.String())
			}
			if err := s.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if got, want := out.String(), tc.json+"\n"; got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	for _, tc := range sinkCases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := store.NewCSV(&out)
			if err := s.Put(context.Background(), tc.rec); err != nil {
				t.Fatalf("Put: %v", err)
			}
			if err := s.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			if got, want := out.String(), csvHeader+"\n"+tc.csv+"\n"; got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			rows, err := csv.NewReader(&out).ReadAll()
			if err != nil {
				t.Fatalf("output does not parse as CSV: %v", err)
			}
			if len(rows) != 2 || rows[1][0] != tc.rec.URL || rows[1][2] != tc.rec.Location ||
				rows[1][9] != strings.ReplaceAll(tc.rec.Title, "\r\n", "\n") {
				t.Errorf("parsed back as %q", rows)
			}
		})
	}
}

func TestCSVHeaderOnly(t *testing.T) {
	var out bytes.Buffer
	if err := store.NewCSV(&out).Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), csvHeader+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCSVFormulaInjection checks that text cells a spreadsheet would take
// for a formula are written with a leading ', and that JSONL, which is no
// spreadsheet format, writes them as they are.
func TestCSVFormulaInjection(t *testing.T) {
	titles := []struct {
		title, want string
	}{
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+1", "'+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"a=b", "a=b"},
		{"'=already quoted", "'=already quoted"},
		{"", ""},
		{"＝1+2", "＝1+2"}, // full-width: no formula
	}
	for _, tc := range titles {
		t.Run(fmt.Sprintf("%q", tc.title), func(t *testing.T) {
			rec := store.Record{URL: "http://a.test/", Title: tc.title}
			var csvOut, jsonOut bytes.Buffer
			c, j := store.NewCSV(&csvOut), store.NewJSONL(&jsonOut)
			for _, s := range []sink{c, j} {
				if err := s.Put(context.Background(), rec); err != nil {
					t.Fatalf("Put: %v", err)
				}
				if err := s.Flush(); err != nil {
					t.Fatalf("Flush: %v", err)
				}
			}
			rows, err := csv.NewReader(&csvOut).ReadAll()
			if err != nil {
				t.Fatalf("output does not parse as CSV: %v", err)
			}
			if got := rows[1][9]; got != tc.want {
				t.Errorf("title cell = %q, want %q", got, tc.want)
			}
			var back store.Record
			if err := json.Unmarshal(jsonOut.Bytes(), &back); err != nil {
				t.Fatalf("JSONL line does not parse: %v", err)
			}
			if back.Title != tc.title {
				t.Errorf("JSONL title = %q, want %q unchanged", back.Title, tc.title)
			}
		})
	}

	// Every text column and data are escaped; numbers are not.
	recs := []store.Record{{
		URL: "=u", FinalURL: "+f", Location: "-l", Status: 200, Depth: 1, Parent: "@p",
		ContentType: "\tc", Bytes: 5, Title: "\rt", Canonical: "=c", Description: "+d", Lang: "-x",
		Attempts: 1, Error: "=e", Data: -1,
	}, {
		URL: "u", Depth: -1, Skipped: "-s", Data: "=1+2",
	}}
	var out bytes.Buffer
	s := store.NewCSV(&out)
	for _, rec := range recs {
		if err := s.Put(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{
		{"'=u", "'+f", "'-l", "200", "1", "'@p", "'\tc", "5", "", "'\rt", "'=c", "'+d", "'-x", "", "", "", "", "", "0", "1", "'=e", "", "", "", "", "", "'-1"},
		{"u", "", "", "", "-1", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "'-s", "", "", "", "", `"=1+2"`},
	} {
		if got := rows[i+1]; !slices.Equal(got, want) {
			t.Errorf("row %d = %q, want %q", i+1, got, want)
		}
	}
}

// TestSinkEncodeError checks that a record that cannot be encoded (Data
// that encoding/json rejects, a time beyond year 9999, a kind that parse
// does not define) fails alone, with a message naming the sink, the field
// and the URL, and does not stop the sink.
func TestSinkEncodeError(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, want string
		open               func(io.Writer) sink
	}{
		{"JSONL", "store: jsonl: ", `{"url":"http://b.test/","depth":0,"skipped":"robots"}` + "\n",
			func(w io.Writer) sink { return store.NewJSONL(w) }},
		{"CSV", "store: csv: ", csvHeader + "\nhttp://b.test/,,,,0,,,,,,,,,,,,,,,,,robots,,,,,\n",
			func(w io.Writer) sink { return store.NewCSV(w) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			s := tc.open(&out)
			ctx := context.Background()
			err := s.Put(ctx, store.Record{URL: "http://a.test/", Data: make(chan int)})
			if want := tc.prefix + "encode data of http://a.test/: json: unsupported type: chan int"; err == nil || err.Error() != want {
				t.Errorf("Put of a channel in Data = %v, want %s", err, want)
			}
			err = s.Put(ctx, store.Record{URL: "http://a.test/", FetchedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
			if want := tc.prefix + "encode fetched_at of http://a.test/: year 10000 is outside 0-9999"; err == nil || err.Error() != want {
				t.Errorf("Put of year 10000 = %v, want %s", err, want)
			}
			err = s.Put(ctx, store.Record{URL: "http://a.test/", Kind: 4})
			if want := tc.prefix + "encode kind of http://a.test/: parse: unknown link kind 4"; err == nil || err.Error() != want {
				t.Errorf("Put of kind 4 = %v, want %s", err, want)
			}
			err = s.Put(ctx, store.Record{URL: "http://a.test/", OutLinks: []store.Link{
				{URL: "http://a.test/1", Kind: parse.KindAsset}, {URL: "http://a.test/2", Kind: 255},
			}})
			if want := tc.prefix + "encode outlinks of http://a.test/: link to http://a.test/2: parse: unknown link kind 255"; err == nil || err.Error() != want {
				t.Errorf("Put of an outlink of kind 255 = %v, want %s", err, want)
			}
			if err := s.Put(ctx, store.Record{URL: "http://b.test/", Skipped: "robots"}); err != nil {
				t.Fatalf("Put after an encoding error: %v", err)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSinkConcurrent puts from 8 goroutines, some records larger than the
// write buffer, and checks that the output holds every record whole.
func TestSinkConcurrent(t *testing.T) {
	const workers, each = 8, 200
	rec := func(w, i int) store.Record {
		r := store.Record{URL: fmt.Sprintf("http://w%d.test/%d", w, i), Depth: i, Status: 200}
		r.Title = strings.Repeat(string(rune('a'+w)), (i%7)*(i%7)*500) // up to 18 KB
		return r
	}
	sinks := []struct {
		name  string
		open  func(io.Writer) sink
		parse func(t *testing.T, out []byte) []store.Record
	}{
		{"JSONL", func(w io.Writer) sink { return store.NewJSONL(w) }, func(t *testing.T, out []byte) []store.Record {
			var rs []store.Record
			for line := range strings.Lines(string(out)) {
				var r store.Record
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("line %.60q…: %v", line, err)
				}
				rs = append(rs, r)
			}
			return rs
		}},
		{"CSV", func(w io.Writer) sink { return store.NewCSV(w) }, func(t *testing.T, out []byte) []store.Record {
			rd := csv.NewReader(bytes.NewReader(out))
			rd.FieldsPerRecord = len(strings.Split(csvHeader, ","))
			rows, err := rd.ReadAll()
			if err != nil {
				t.Fatalf("parse CSV: %v", err)
			}
			if strings.Join(rows[0], ",") != csvHeader {
				t.Fatalf("first row %q, want the header", rows[0])
			}
			col := map[string]int{}
			for i, name := range rows[0] {
				col[name] = i
			}
			var rs []store.Record
			for _, row := range rows[1:] {
				var r store.Record
				fmt.Sscan(row[col["status"]], &r.Status)
				fmt.Sscan(row[col["depth"]], &r.Depth)
				r.URL, r.Title = row[col["url"]], row[col["title"]]
				rs = append(rs, r)
			}
			return rs
		}},
	}
	for _, sk := range sinks {
		t.Run(sk.name, func(t *testing.T) {
			var out bytes.Buffer // unsynchronized: the sink must serialize writes
			s := sk.open(&out)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						if err := s.Put(context.Background(), rec(w, i)); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Put: %v", err)
			}
			if err := s.Flush(); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			got := map[string]store.Record{}
			for _, r := range sk.parse(t, out.Bytes()) {
				if _, dup := got[r.URL]; dup {
					t.Fatalf("record %s written twice", r.URL)
				}
				got[r.URL] = r
			}
			if len(got) != workers*each {
				t.Fatalf("%d records written, want %d", len(got), workers*each)
			}
			for w := range workers {
				for i := range each {
					want := rec(w, i)
					if r := got[want.URL]; r.Title != want.Title || r.Depth != want.Depth || r.Status != want.Status {
						t.Fatalf("record %s came back as status %d depth %d title of %d bytes", want.URL, r.Status, r.Depth, len(r.Title))
					}
				}
			}
		})
	}
}

var errBoom = errors.New("disk full")

// failWriter accepts limit bytes, then fails every write.
type failWriter struct {
	limit, written, calls int
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.written+len(p) > w.limit {
		n := w.limit - w.written
		w.written = w.limit
		return n, errBoom
	}
	w.written += len(p)
	return len(p), nil
}

func TestSinkStickyError(t *testing.T) {
	big := store.Record{URL: "http://a.test/", Title: strings.Repeat("x", 1000)}
	for _, tc := range []struct {
		name string
		open func(io.Writer) sink
	}{
		{"JSONL", func(w io.Writer) sink { return store.NewJSONL(w) }},
		{"CSV", func(w io.Writer) sink { return store.NewCSV(w) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fw := &failWriter{limit: 100}
			s := tc.open(fw)
			if err := s.Put(ctx, big); err != nil {
				t.Fatalf("first Put = %v, want nil (buffered)", err)
			}
			if err := s.Flush(); !errors.Is(err, errBoom) {
				t.Fatalf("Flush = %v, want %v", err, errBoom)
			}
			calls := fw.calls
			// Puts until a buffer's worth would surely have reached the writer.
			for i := range 100 {
				if err := s.Put(ctx, big); !errors.Is(err, errBoom) {
					t.Fatalf("Put #%d after the failure = %v, want %v", i, err, errBoom)
				}
			}
			if err := s.Flush(); !errors.Is(err, errBoom) {
				t.Fatalf("second Flush = %v, want %v", err, errBoom)
			}
			if fw.calls != calls {
				t.Errorf("the writer got %d more writes after it failed", fw.calls-calls)
			}
		})
	}
}

// TestSinkPutError checks that a write failure met while buffering is
// returned by Put itself.
func TestSinkPutError(t *testing.T) {
	big := store.Record{URL: "http://a.test/", Title: strings.Repeat("x", 1000)}
	for _, tc := range []struct {
		name string
		open func(io.Writer) sink
	}{
		{"JSONL", func(w io.Writer) sink { return store.NewJSONL(w) }},
		{"CSV", func(w io.Writer) sink { return store.NewCSV(w) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(&failWriter{limit: 0})
			var err error
			for i := 0; i < 1000 && err == nil; i++ { // 1 MB: well over the buffer
				err = s.Put(context.Background(), big)
			}
			if !errors.Is(err, errBoom) {
				t.Fatalf("Put = %v, want %v once the buffer fills", err, errBoom)
			}
		})
	}
}

// TestSinkWriteErrorMessage checks that a write failure names each layer
// once: the sink, then the writer's error, which for a file already says
// "write" and the file's name.
func TestSinkWriteErrorMessage(t *testing.T) {
	sinks := []struct {
		name string
		open func(io.Writer) sink
	}{
		{"jsonl", func(w io.Writer) sink { return store.NewJSONL(w) }},
		{"csv", func(w io.Writer) sink { return store.NewCSV(w) }},
	}
	rec := store.Record{URL: "http://a.test/", Status: 200, Attempts: 1}
	for _, sk := range sinks {
		t.Run(sk.name+" failing writer", func(t *testing.T) {
			s := sk.open(&failWriter{limit: 0})
			if err := s.Put(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			want := "store: " + sk.name + ": write: disk full"
			if err := s.Flush(); err == nil || err.Error() != want {
				t.Errorf("Flush = %v, want %s", err, want)
			}
			if err := s.Put(context.Background(), rec); err == nil || err.Error() != want {
				t.Errorf("Put after the failure = %v, want %s", err, want)
			}
		})
		t.Run(sk.name+" dev-full", func(t *testing.T) {
			f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full: %v", err)
			}
			defer f.Close()
			s := sk.open(f)
			if err := s.Put(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			want := "store: " + sk.name + ": write /dev/full: no space left on device"
			if err := s.Flush(); err == nil || err.Error() != want {
				t.Errorf("Flush = %v, want %s", err, want)
			}
		})
		t.Run(sk.name+" File on dev-full", func(t *testing.T) {
			f, err := store.OpenFile("/dev/full")
			if err != nil {
				t.Skipf("no /dev/full: %v", err)
			}
			defer f.Close()
			s := sk.open(f).(interface {
				sink
				Sync() (int64, error)
				Mark() (store.Span, error)
			})
			if err := s.Put(context.Background(), rec); err != nil {
				t.Fatal(err)
			}
			want := "store: " + sk.name + ": write /dev/full: no space left on device"
			if _, err := s.Mark(); err == nil || err.Error() != want {
				t.Errorf("Mark = %v, want %s", err, want)
			}
			if _, err := s.Sync(); err == nil || err.Error() != want {
				t.Errorf("Sync = %v, want %s", err, want)
			}
		})
	}
}

// benchOutLinks are 20 out-links of benchRecord's page, of every kind.
var benchOutLinks = func() []store.Link {
	links := make([]store.Link, 20)
	for i := range links {
		l := store.Link{URL: fmt.Sprintf("https://www.example.com/docs/guide/section-%d/?lang=en&ref=nav", i), Source: "a[href]"}
		switch i % 5 {
		case 1:
			l.Kind, l.Source = parse.KindAsset, "img[src]"
		case 2:
			l.Kind, l.Source, l.Method = parse.KindForm, "form[action]", "POST"
		case 3:
			l.NoFollow = true
		}
		links[i] = l
	}
	return links
}()

// BenchmarkPutOutLinks is BenchmarkJSONLPut's fetched page and
// BenchmarkCSVPut with 20 out-links (crawler.Config.RecordLinks).
func BenchmarkPutOutLinks(b *testing.B) {
	ctx := context.Background()
	r := benchRecord
	r.OutLinks = benchOutLinks
	for _, sk := range []struct {
		name string
		s    sink
	}{
		{"JSONL", store.NewJSONL(io.Discard)},
		{"CSV", store.NewCSV(io.Discard)},
	} {
		b.Run(sk.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := sk.s.Put(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
