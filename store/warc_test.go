package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"trawl/fetch"
	"trawl/fixtures"
	"trawl/store/warctest"
)

// warcT0 is when the test exchanges start.
var warcT0 = time.Date(2025, 3, 4, 5, 6, 7, 123_456_000, time.UTC)

// exchange returns a GET of url answered 200 with payload, as fetch
// captures it; extra are more response header lines.
func exchange(url string, payload []byte, extra ...string) *fetch.Exchange {
	host := strings.SplitN(strings.TrimPrefix(url, "http://"), "/", 2)[0]
	resp := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
	for _, h := range extra {
		resp += h + "\r\n"
	}
	resp += "Content-Length: " + strconv.Itoa(len(payload)) + "\r\n\r\n"
	return &fetch.Exchange{
		URL: url, Method: "GET", Started: warcT0, IP: "192.0.2.7", Status: 200, Raw: true,
		Request:  []byte("GET " + strings.ReplaceAll(strings.TrimPrefix(url, "http://"+host), " ", "%20") + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: trawl\r\n\r\n"),
		Response: []byte(resp),
		Payload:  payload,
	}
}

// redirect returns a 301 from url to to, without a payload.
func redirect(url, to string) *fetch.Exchange {
	ex := exchange(url, nil)
	ex.Status = 301
	ex.Response = []byte("HTTP/1.1 301 Moved Permanently\r\nLocation: " + to + "\r\nContent-Length: 0\r\n\r\n")
	return ex
}

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// warcRecord is a record as gowarc reads it back.
type warcRecord struct {
	file    string
	offset  int64
	typ     gowarc.RecordType
	h       *gowarc.WarcFields
	block   []byte
	payload []byte // of an HTTP request or response block
	isHTTP  bool
}

func (r warcRecord) get(name string) string { return r.h.Get(name) }

// readWARC reads every record of the file at path with gowarc, failing t
// on a record that gowarc finds fault with (digests included).
func readWARC(t testing.TB, path string) []warcRecord {
	t.Helper()
	return readWARCAt(t, path, 0, -1)
}

// readWARCAt reads n records (all when n < 0) from offset.
func readWARCAt(t testing.TB, path string, offset int64, n int) []warcRecord {
	t.Helper()
	rd, err := gowarc.NewWarcFileReader(path, offset, gowarc.WithBlockErrorPolicy(gowarc.ErrWarn))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var recs []warcRecord
	for rec, err := range rd.Records() {
		if err != nil {
			t.Fatalf("%s: record %d: %v", path, len(recs), err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("%s: record %d at %d: gowarc finds %v", path, len(recs), rec.Offset, rec.Validation)
		}
		wr := rec.WarcRecord
		r := warcRecord{file: filepath.Base(path), offset: rec.Offset, typ: wr.Type(), h: wr.WarcHeader()}
		raw, err := wr.Block().RawBytes()
		if err != nil {
			t.Fatal(err)
		}
		if r.block, err = io.ReadAll(raw); err != nil {
			t.Fatal(err)
		}
		if pb, ok := wr.Block().(gowarc.PayloadBlock); ok {
			p, err := pb.PayloadBytes()
			if err != nil {
				t.Fatal(err)
			}
			if r.payload, err = io.ReadAll(p); err != nil {
				t.Fatal(err)
			}
			r.isHTTP = true
		}
		rec.Close()
		recs = append(recs, r)
		if len(recs) == n {
			break
		}
	}
	return recs
}

// readAllWARC reads the records of every file of w, in order.
func readAllWARC(t testing.TB, w *WARC) []warcRecord {
	t.Helper()
	var recs []warcRecord
	for _, p := range w.Files() {
		recs = append(recs, readWARC(t, p)...)
	}
	return recs
}

func sha1Digest(b []byte) string {
	sum := sha1.Sum(b)
	return "sha1:" + base32.StdEncoding.EncodeToString(sum[:])
}

func openWARC(t testing.TB, name string, opts WARCOptions) *WARC {
	t.Helper()
	w, err := OpenWARC(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func write(t testing.TB, w *WARC, ex ...*fetch.Exchange) WARCRef {
	t.Helper()
	ref, err := w.Write(ex)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func closeWARC(t testing.TB, w *WARC) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func types(recs []warcRecord) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.typ.String())
	}
	return strings.Join(s, " ")
}

// TestWARCRoundTrip writes exchanges of every kind and reads them back
// with gowarc: record types, every header, lengths, digests recomputed
// from the bytes read, payloads as given, and the offsets Write returns.
func TestWARCRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w := openWARC(t, filepath.Join(dir, "crawl.warc.gz"), WARCOptions{
		Software: "trawl/test", Info: [][2]string{{"robots", "obey"}, {"http-header-user-agent", "trawl (+http://a.test/bot)"}},
	})
	html := []byte("<!DOCTYPE html><title>Home</title>\r\n\r\nbody")
	gz := gzipped(t, strings.Repeat("gzip stays gzip ", 50))
	trunc := exchange("http://a.test/big", []byte("only the first bytes"))
	trunc.Truncated = true
	noIP := exchange("http://a.test/noip", []byte("no address"))
	noIP.IP = ""
	writes := [][]*fetch.Exchange{
		{exchange("http://a.test/", html)},
		{exchange("http://a.test/z", gz, "Content-Encoding: gzip")},
		{trunc},
		{redirect("http://a.test/old", "http://a.test/new"), exchange("http://a.test/new", []byte("new page"))},
		{exchange("http://b.test/copy", html)}, // the same payload as a.test/
		{noIP},
	}
	var refs []WARCRef
	for _, ex := range writes {
		refs = append(refs, write(t, w, ex...))
	}
	closeWARC(t, w)

	files := w.Files()
	if len(files) != 1 || filepath.Base(files[0]) != "crawl-00000.warc.gz" {
		t.Fatalf("files %q, want crawl-00000.warc.gz", files)
	}
	recs := readWARC(t, files[0])
	want := "warcinfo request response request response request response request response request response request revisit request response"
	if got := types(recs); got != want {
		t.Fatalf("records:\n got %s\nwant %s", got, want)
	}

	info := recs[0]
	for name, want := range map[string]string{
		gowarc.WarcFilename: "crawl-00000.warc.gz", gowarc.ContentType: "application/warc-fields",
	} {
		if got := info.get(name); got != want {
			t.Errorf("warcinfo %s = %q, want %q", name, got, want)
		}
	}
	wantBlock := "software: trawl/test\r\nformat: WARC File Format 1.1\r\n" +
		"conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n" +
		"robots: obey\r\nhttp-header-user-agent: trawl (+http://a.test/bot)\r\n"
	if string(info.block) != wantBlock {
		t.Errorf("warcinfo block:\n got %q\nwant %q", info.block, wantBlock)
	}
	infoID := info.get(gowarc.WarcRecordID)

	ids := map[string]bool{}
	for i, r := range recs {
		id := r.get(gowarc.WarcRecordID)
		if !strings.HasPrefix(id, "<urn:uuid:") || len(id) != len("<urn:uuid:>")+36 || ids[id] {
			t.Errorf("record %d: WARC-Record-ID %q is not a new <urn:uuid:…>", i, id)
		}
		ids[id] = true
		if got, want := r.get(gowarc.ContentLength), strconv.Itoa(len(r.block)); got != want {
			t.Errorf("record %d: Content-Length %s, block of %s", i, got, want)
		}
		if got, want := r.get(gowarc.WarcBlockDigest), sha1Digest(r.block); got != want {
			t.Errorf("record %d: WARC-Block-Digest %s, block's SHA-1 %s", i, got, want)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.get(gowarc.WarcDate)); err != nil {
			t.Errorf("record %d: WARC-Date: %v", i, err)
		}
	}

	// The exchanges, in order, with the records that hold them.
	var exs []*fetch.Exchange
	for _, ex := range writes {
		exs = append(exs, ex...)
	}
	for i, ex := range exs {
		req, resp := recs[1+2*i], recs[2+2*i]
		t.Run(ex.URL, func(t *testing.T) {
			for _, r := range []warcRecord{req, resp} {
				must := map[string]string{
					gowarc.WarcTargetURI: ex.URL, gowarc.WarcDate: "2025-03-04T05:06:07.123456Z",
					gowarc.WarcIPAddress: ex.IP, gowarc.WarcWarcinfoID: infoID,
				}
				for name, want := range must {
					if got := r.get(name); got != want || (want != "") != r.h.Has(name) {
						t.Errorf("%s %s = %q (present %v), want %q", r.typ, name, got, r.h.Has(name), want)
					}
				}
			}
			if req.get(gowarc.WarcConcurrentTo) != resp.get(gowarc.WarcRecordID) ||
				resp.get(gowarc.WarcConcurrentTo) != req.get(gowarc.WarcRecordID) {
				t.Errorf("WARC-Concurrent-To: request's %s, response's %s, IDs %s and %s", req.get(gowarc.WarcConcurrentTo),
					resp.get(gowarc.WarcConcurrentTo), req.get(gowarc.WarcRecordID), resp.get(gowarc.WarcRecordID))
			}
			if got := req.get(gowarc.ContentType); got != "application/http;msgtype=request" {
				t.Errorf("request Content-Type %q", got)
			}
			if got := resp.get(gowarc.ContentType); got != "application/http;msgtype=response" {
				t.Errorf("%s Content-Type %q", resp.typ, got)
			}
			if !bytes.Equal(req.block, ex.Request) || len(req.payload) != 0 || !req.isHTTP {
				t.Errorf("request block %q (payload %q), want %q", req.block, req.payload, ex.Request)
			}
			if got, want := req.get(gowarc.WarcPayloadDigest), sha1Digest(nil); got != want {
				t.Errorf("request WARC-Payload-Digest %s, want %s (empty)", got, want)
			}
			if resp.typ == gowarc.Revisit {
				return // TestWARCRevisit
			}
			if !bytes.Equal(resp.block, slices.Concat(ex.Response, ex.Payload)) {
				t.Errorf("response block %q, want %q", resp.block, slices.Concat(ex.Response, ex.Payload))
			}
			if !bytes.Equal(resp.payload, ex.Payload) || !resp.isHTTP {
				t.Errorf("payload %q, want %q", resp.payload, ex.Payload)
			}
			if got, want := resp.get(gowarc.WarcPayloadDigest), sha1Digest(resp.payload); got != want {
				t.Errorf("WARC-Payload-Digest %s, payload's SHA-1 %s", got, want)
			}
			if got, want := resp.get(gowarc.WarcTruncated), map[bool]string{true: "length"}[ex.Truncated]; got != want {
				t.Errorf("WARC-Truncated %q, want %q", got, want)
			}
		})
	}
	if gz := recs[4]; !bytes.Equal(gz.payload[:2], []byte{0x1f, 0x8b}) {
		t.Errorf("gzip payload read back as %q…, want the gzip bytes", gz.payload[:2])
	}
	revisit := recs[12]
	if got := revisit.get(gowarc.WarcTargetURI); got != "http://b.test/copy" {
		t.Errorf("revisit of %s, want http://b.test/copy", got)
	}

	// Each WARCRef is where its Write's last response (or revisit) starts.
	last := []int{2, 4, 6, 10, 12, 14}
	for i, ref := range refs {
		want := recs[last[i]]
		if ref.File != "crawl-00000.warc.gz" || ref.Offset != want.offset {
			t.Errorf("write %d: ref %+v, want crawl-00000.warc.gz at %d", i, ref, want.offset)
		}
		got := readWARCAt(t, filepath.Join(dir, ref.File), ref.Offset, 1)
		if len(got) != 1 || got[0].get(gowarc.WarcRecordID) != want.get(gowarc.WarcRecordID) {
			t.Errorf("write %d: the record at %d is not its %s", i, ref.Offset, want.typ)
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestWARCGzipMembers checks that every record is a gzip member of its
// own, starting where gowarc finds the record, and that the file is one
// .warc.gz to a reader of multistream gzip.
func TestWARCGzipMembers(t *testing.T) {
	for _, level := range []int{0, -2, -1, 9} {
		t.Run(fmt.Sprint("level ", level), func(t *testing.T) {
			w := openWARC(t, filepath.Join(t.TempDir(), "m"), WARCOptions{GzipLevel: level})
			write(t, w, exchange("http://a.test/", []byte(strings.Repeat("abc", 5000))))
			write(t, w, redirect("http://a.test/r", "http://a.test/"), exchange("http://a.test/", []byte("x")))
			write(t, w, exchange("http://a.test/again", []byte(strings.Repeat("abc", 5000))))
			closeWARC(t, w)
			path := w.Files()[0]
			recs := readWARC(t, path)

			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cr := &countingReader{r: f}
			br := bufio.NewReader(cr)
			var whole []byte
			var n int
			for ; ; n++ {
				at := cr.n - int64(br.Buffered())
				if _, err := br.Peek(1); err == io.EOF {
					break
				}
				zr, err := gzip.NewReader(br)
				if err != nil {
					t.Fatalf("member %d at %d: %v", n, at, err)
				}
				zr.Multistream(false)
				m, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("member %d at %d: %v", n, at, err)
				}
				if n >= len(recs) || at != recs[n].offset {
					t.Fatalf("member %d at %d, but gowarc reads %d records", n, at, len(recs))
				}
				checkOneRecord(t, m, recs[n])
				whole = append(whole, m...)
			}
			if n != len(recs) {
				t.Errorf("%d gzip members, %d records", n, len(recs))
			}
			f.Seek(0, io.SeekStart)
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			all, err := io.ReadAll(zr) // multistream
			if err != nil || !bytes.Equal(all, whole) {
				t.Errorf("as one stream: %d bytes (%v), members hold %d", len(all), err, len(whole))
			}
		})
	}
}

// checkOneRecord checks that m, a gzip member, is rec and nothing more:
// the version line, the header, a block of Content-Length bytes and the
// two line ends.
func checkOneRecord(t *testing.T, m []byte, rec warcRecord) {
	t.Helper()
	head, rest, ok := bytes.Cut(m, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("WARC/1.1\r\n")) {
		t.Fatalf("member at %d does not start a record: %.40q", rec.offset, m)
	}
	want := slices.Concat(rec.block, []byte("\r\n\r\n"))
	if !bytes.Equal(rest, want) {
		t.Errorf("member at %d holds %d bytes after the header, want the %s's block of %d and CRLF CRLF",
			rec.offset, len(rest), rec.typ, len(rec.block))
	}
}

// TestWARCRevisit checks when a response is a revisit, and what a
// revisit says.
func TestWARCRevisit(t *testing.T) {
	page := []byte("<p>the same page</p>")
	later := func(ex *fetch.Exchange) *fetch.Exchange { ex.Started = warcT0.Add(time.Hour); return ex }
	trunc := func(ex *fetch.Exchange) *fetch.Exchange { ex.Truncated = true; return ex }
	for _, tc := range []struct {
		name   string
		opts   WARCOptions
		writes [][]*fetch.Exchange
		want   string // response types, in order: s for response, v for revisit of the first
	}{
		{"same payload", WARCOptions{}, [][]*fetch.Exchange{
			{exchange("http://a.test/", page)}, {later(exchange("http://b.test/other", page))}}, "s v"},
		{"no dedup", WARCOptions{NoDedup: true}, [][]*fetch.Exchange{
			{exchange("http://a.test/", page)}, {exchange("http://b.test/other", page)}}, "s s"},
		{"empty payload", WARCOptions{}, [][]*fetch.Exchange{
			{exchange("http://a.test/", nil)}, {exchange("http://b.test/other", nil)}}, "s s"},
		{"truncated", WARCOptions{}, [][]*fetch.Exchange{
			{trunc(exchange("http://a.test/", page))}, {trunc(exchange("http://b.test/", page))}, {exchange("http://c.test/", page)}}, "s s s"},
		{"in one write", WARCOptions{}, [][]*fetch.Exchange{
			{exchange("http://a.test/", page), later(exchange("http://b.test/other", page))}}, "s v"},
		{"other payload", WARCOptions{}, [][]*fetch.Exchange{
			{exchange("http://a.test/", page)}, {exchange("http://b.test/", []byte("another"))}}, "s s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := openWARC(t, filepath.Join(t.TempDir(), "r.warc.gz"), tc.opts)
			var exs []*fetch.Exchange
			for _, ex := range tc.writes {
				write(t, w, ex...)
				exs = append(exs, ex...)
			}
			closeWARC(t, w)
			recs := readWARC(t, w.Files()[0])
			var got []string
			first := recs[2]
			for i, ex := range exs {
				r := recs[2+2*i]
				switch r.typ {
				case gowarc.Response:
					got = append(got, "s")
				case gowarc.Revisit:
					got = append(got, "v")
					checkRevisit(t, r, first, ex)
				default:
					got = append(got, r.typ.String())
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %s, want %s", strings.Join(got, " "), tc.want)
			}
		})
	}
}

// checkRevisit checks that r, the record of ex, is a revisit of orig.
func checkRevisit(t *testing.T, r, orig warcRecord, ex *fetch.Exchange) {
	t.Helper()
	for name, want := range map[string]string{
		gowarc.WarcProfile:           "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest",
		gowarc.WarcRefersTo:          orig.get(gowarc.WarcRecordID),
		gowarc.WarcRefersToTargetURI: orig.get(gowarc.WarcTargetURI),
		gowarc.WarcRefersToDate:      orig.get(gowarc.WarcDate),
		gowarc.WarcPayloadDigest:     orig.get(gowarc.WarcPayloadDigest),
		gowarc.WarcTargetURI:         ex.URL,
		gowarc.WarcDate:              ex.Started.UTC().Format(time.RFC3339Nano),
		gowarc.WarcTruncated:         "length",
		gowarc.ContentType:           "application/http;msgtype=response",
	} {
		if got := r.get(name); got != want {
			t.Errorf("revisit %s = %q, want %q", name, got, want)
		}
	}
	if !bytes.Equal(r.block, ex.Response) {
		t.Errorf("revisit block %q, want the response header %q", r.block, ex.Response)
	}
}

// rotationWrites writes n fetches of two exchanges each, with
// incompressible payloads of about size bytes, and returns their refs.
func rotationWrites(t *testing.T, w *WARC, from, n, size int) []WARCRef {
	t.Helper()
	var refs []WARCRef
	for i := from; i < from+n; i++ {
		p := make([]byte, size)
		for j := range p {
			p[j] = byte(sha1.Sum([]byte(fmt.Sprint(i, j)))[0])
		}
		u := fmt.Sprintf("http://a.test/w%d/", i)
		refs = append(refs, write(t, w, redirect(u+"from", u+"to"), exchange(u+"to", p)))
	}
	return refs
}

// TestWARCRotation checks that files are rotated past MaxSize, each with
// its warcinfo record, and that the records of a Write stay together.
func TestWARCRotation(t *testing.T) {
	dir := t.TempDir()
	const max = 5000
	w := openWARC(t, filepath.Join(dir, "rot.warc"), WARCOptions{MaxSize: max})
	refs := rotationWrites(t, w, 0, 12, 1500)
	refs = append(refs, rotationWrites(t, w, 12, 1, 8000)...) // bigger than MaxSize
	refs = append(refs, rotationWrites(t, w, 13, 2, 100)...)
	closeWARC(t, w)

	files := w.Files()
	if len(files) < 5 {
		t.Fatalf("%d files, want more for %d bytes each", len(files), max)
	}
	entries, _ := filepath.Glob(filepath.Join(dir, "*"))
	if !slices.Equal(entries, files) {
		t.Errorf("Files() = %q, folder has %q", files, entries)
	}
	where := map[string]string{} // fetch's URL prefix → its file
	for n, path := range files {
		if want := filepath.Join(dir, fmt.Sprintf("rot-%05d.warc.gz", n)); path != want {
			t.Errorf("file %d is %s, want %s", n, path, want)
		}
		recs := readWARC(t, path)
		if len(recs) < 5 || recs[0].typ != gowarc.Warcinfo || recs[0].get(gowarc.WarcFilename) != filepath.Base(path) {
			t.Fatalf("%s: %s, want a warcinfo record named after it and fetches", path, types(recs))
		}
		infoID := recs[0].get(gowarc.WarcRecordID)
		for _, r := range recs[1:] {
			if r.get(gowarc.WarcWarcinfoID) != infoID {
				t.Errorf("%s: a %s names warcinfo %s, the file's is %s", path, r.typ, r.get(gowarc.WarcWarcinfoID), infoID)
			}
			fetch := r.get(gowarc.WarcTargetURI)
			fetch = fetch[:strings.LastIndex(fetch, "/")]
			if f, ok := where[fetch]; ok && f != path {
				t.Errorf("the records of %s are in %s and %s", fetch, f, path)
			}
			where[fetch] = path
		}
		st, _ := os.Stat(path)
		if fetches := (len(recs) - 1) / 4; st.Size() > max && fetches > 1 {
			t.Errorf("%s: %d bytes, past MaxSize %d with %d fetches", path, st.Size(), max, fetches)
		}
	}
	if len(where) != 15 {
		t.Errorf("%d fetches read back, want 15", len(where))
	}
	for i, ref := range refs {
		got := readWARCAt(t, filepath.Join(dir, ref.File), ref.Offset, 1)
		if want := fmt.Sprintf("http://a.test/w%d/to", i); len(got) != 1 || got[0].get(gowarc.WarcTargetURI) != want {
			t.Errorf("ref %d %+v is not the response of %s", i, ref, want)
		}
	}
}

// payloads returns the payloads of the response records of recs, in
// order, and the number of revisits.
func payloads(recs []warcRecord) (resp []string, revisits int) {
	for _, r := range recs {
		switch r.typ {
		case gowarc.Response:
			resp = append(resp, string(r.payload))
		case gowarc.Revisit:
			revisits++
		}
	}
	return resp, revisits
}

// TestWARCRewind writes, marks, writes more across files, reopens the
// files as a crawl that crashed would, and rewinds to the mark.
func TestWARCRewind(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "c.warc.gz")
	opts := WARCOptions{MaxSize: 3000}
	w := openWARC(t, name, opts)
	pay := func(s string) []byte { return []byte(strings.Repeat(s, 400)) }
	refA := write(t, w, exchange("http://a.test/a", pay("a")))
	write(t, w, exchange("http://a.test/b", pay("b")))
	m1, err := w.Mark()
	if err != nil {
		t.Fatal(err)
	}
	if len(m1.Spans) != 1 || m1.Spans[0].From != 0 || m1.Spans[0].To != m1.End.Offset || m1.End.File != 0 {
		t.Fatalf("first mark %+v, want one span of file 0 to its end", m1)
	}
	if err := w.Verify(m1); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	write(t, w, exchange("http://a.test/d", []byte("d")))  // still in file 0
	rotationWrites(t, w, 0, 3, 2000)                       // past MaxSize: new files
	write(t, w, exchange("http://a.test/c", pay("c")))     // only after the mark
	write(t, w, exchange("http://a.test/a-too", pay("a"))) // a revisit of a
	m2, err := w.Mark()
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Spans) < 2 || m2.Spans[0].File != 0 || m2.Spans[0].From != m1.End.Offset || m2.End.File < 2 {
		t.Fatalf("second mark %+v, want spans of files 0 (from %d) to 2 at least", m2, m1.End.Offset)
	}
	for i, s := range m2.Spans[1:] {
		if s.File != m2.Spans[i].File+1 || s.From != 0 {
			t.Errorf("span %d is %+v, after %+v", i+1, s, m2.Spans[i])
		}
	}
	if err := w.Verify(m2); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if end := w.End(); end != m2.End {
		t.Errorf("End() = %+v, mark's %+v", end, m2.End)
	}
	// The crash: the process dies; what was marked is with the OS.
	closeWARC(t, w)
	nfiles := len(w.Files())

	w = openWARC(t, name, opts)
	if got := len(w.Files()); got != nfiles {
		t.Errorf("reopened with %d files, want %d", got, nfiles)
	}
	if end := w.End(); end != m2.End {
		t.Errorf("reopened at %+v, want the end %+v", end, m2.End)
	}
	if err := w.Rewind(m1.End); err != nil {
		t.Fatalf("Rewind: %v", err)
	}
	if end := w.End(); end != m1.End {
		t.Errorf("End() after Rewind = %+v, want %+v", end, m1.End)
	}
	if files := w.Files(); len(files) != 1 {
		t.Errorf("files after Rewind: %q, want the first only", files)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 1 {
		t.Errorf("folder holds %q after Rewind, want one file", left)
	}
	write(t, w, exchange("http://a.test/c2", pay("c")))   // c was cut: a response again
	write(t, w, exchange("http://a.test/a2", pay("a")))   // a was kept: a revisit
	write(t, w, exchange("http://a.test/b2", pay("b")))   // b too
	write(t, w, exchange("http://a.test/new", pay("n")))  // and a new one
	write(t, w, exchange("http://a.test/new2", pay("n"))) // which is known now
	if _, err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	closeWARC(t, w)
	recs := readAllWARC(t, w)
	resp, revisits := payloads(recs)
	if want := []string{string(pay("a")), string(pay("b")), string(pay("c")), string(pay("n"))}; !slices.Equal(resp, want) || revisits != 3 {
		t.Errorf("responses of %d payloads, %d revisits; want a, b, c, n and 3", len(resp), revisits)
	}
	for _, r := range recs {
		if r.typ == gowarc.Revisit && r.get(gowarc.WarcTargetURI) == "http://a.test/a2" {
			if got := r.get(gowarc.WarcRefersTo); got != recs[2].get(gowarc.WarcRecordID) || recs[2].offset != refA.Offset {
				t.Errorf("revisit of a refers to %s, want %s", got, recs[2].get(gowarc.WarcRecordID))
			}
		}
	}
}

// TestWARCVerify checks that Verify finds a span whose bytes changed, a
// file that is gone and one that is too short.
func TestWARCVerify(t *testing.T) {
	dir := t.TempDir()
	w := openWARC(t, filepath.Join(dir, "v.warc.gz"), WARCOptions{MaxSize: 2000})
	rotationWrites(t, w, 0, 3, 1500)
	m, err := w.Mark()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Verify(m); err != nil {
		t.Fatalf("Verify of what was written: %v", err)
	}
	if len(m.Spans) < 2 {
		t.Fatalf("mark %+v, want a span per file", m)
	}
	path := w.path(m.Spans[1].File)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	changed := slices.Clone(b)
	changed[len(b)/2] ^= 1
	os.WriteFile(path, changed, 0o644)
	if err := w.Verify(m); !errors.Is(err, ErrOutputMismatch) {
		t.Errorf("Verify of a changed byte = %v, want ErrOutputMismatch", err)
	}
	os.WriteFile(path, b, 0o644)
	if err := w.Verify(m); err != nil {
		t.Errorf("Verify of the bytes put back: %v", err)
	}
	last := w.path(m.End.File)
	os.Rename(last, last+".away")
	if err := w.Verify(m); !errors.Is(err, ErrOutputMismatch) {
		t.Errorf("Verify of a missing file = %v, want ErrOutputMismatch", err)
	}
	os.Rename(last+".away", last)
	if err := w.Verify(WARCMark{End: WARCPos{File: m.End.File, Offset: m.End.Offset + 1}}); !errors.Is(err, ErrOutputMismatch) {
		t.Errorf("Verify of an end past the file = %v, want ErrOutputMismatch", err)
	}
	if err := w.Rewind(WARCPos{File: m.End.File, Offset: m.End.Offset + 1}); !errors.Is(err, ErrOutputMismatch) {
		t.Errorf("Rewind past the file's end = %v, want ErrOutputMismatch", err)
	}
	if err := w.Rewind(WARCPos{File: m.End.File + 1, Offset: 10}); !errors.Is(err, ErrOutputMismatch) {
		t.Errorf("Rewind into a missing file = %v, want ErrOutputMismatch", err)
	}
	if _, err := w.Write([]*fetch.Exchange{exchange("http://a.test/", nil)}); err == nil {
		t.Error("Write after a failed Rewind succeeded")
	}
	if err := w.Rewind(m.End); err != nil {
		t.Errorf("Rewind to the mark: %v", err)
	}
	write(t, w, exchange("http://a.test/", nil))
}

// TestWARCTornTail cuts the last file inside a record, as a crash can,
// then opens and rewinds to the last mark.
func TestWARCTornTail(t *testing.T) {
	for _, cut := range []int64{1, 10, 200} {
		t.Run(fmt.Sprint("cut ", cut), func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "t.warc.gz")
			w := openWARC(t, name, WARCOptions{})
			write(t, w, exchange("http://a.test/1", []byte("one")))
			m, err := w.Mark()
			if err != nil {
				t.Fatal(err)
			}
			write(t, w, exchange("http://a.test/2", []byte(strings.Repeat("two", 100))))
			closeWARC(t, w)
			path := w.Files()[0]
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-cut); err != nil {
				t.Fatal(err)
			}

			w = openWARC(t, name, WARCOptions{})
			if err := w.Verify(m); err != nil {
				t.Errorf("Verify of the marked span: %v", err)
			}
			if err := w.Rewind(m.End); err != nil {
				t.Fatalf("Rewind: %v", err)
			}
			write(t, w, exchange("http://a.test/3", []byte("one"))) // a revisit
			closeWARC(t, w)
			if got, want := types(readWARC(t, path)), "warcinfo request response request revisit"; got != want {
				t.Errorf("records %s, want %s", got, want)
			}
		})
	}
}

// TestWARCReopen checks that OpenWARC continues after the highest file,
// and that Rewind(WARCPos{}) starts anew.
func TestWARCReopen(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "o")
	w := openWARC(t, name, WARCOptions{MaxSize: 2000})
	rotationWrites(t, w, 0, 3, 1500)
	closeWARC(t, w)
	files := w.Files()
	// A file of another crawl, and one that is not numbered as ours.
	os.WriteFile(filepath.Join(dir, "other-00007.warc.gz"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "o-7.warc.gz"), []byte("x"), 0o644)

	w = openWARC(t, name, WARCOptions{MaxSize: -1})
	if got := w.Files(); !slices.Equal(got, files) {
		t.Errorf("reopened with %q, want %q", got, files)
	}
	write(t, w, exchange("http://a.test/more", []byte("more")))
	closeWARC(t, w)
	recs := readWARC(t, files[len(files)-1])
	if got := types(recs); got != "warcinfo request response request response request response" {
		t.Errorf("last file holds %s, want its fetch and the new one", got)
	}
	if got := recs[6].get(gowarc.WarcWarcinfoID); got != recs[0].get(gowarc.WarcRecordID) {
		t.Errorf("the new response names warcinfo %s, want the file's %s", got, recs[0].get(gowarc.WarcRecordID))
	}

	w = openWARC(t, name, WARCOptions{})
	if err := w.Rewind(WARCPos{}); err != nil {
		t.Fatal(err)
	}
	write(t, w, exchange("http://a.test/", []byte("more"))) // not a revisit: all was cut
	closeWARC(t, w)
	if got := w.Files(); len(got) != 1 {
		t.Errorf("files after Rewind(WARCPos{}): %q", got)
	}
	if got := types(readWARC(t, files[0])); got != "warcinfo request response" {
		t.Errorf("first file after starting anew: %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "other-00007.warc.gz")); err != nil {
		t.Errorf("another crawl's file: %v", err)
	}
}

// TestWARCSync checks that Sync writes out and syncs every file written
// since the last one, and returns the end.
func TestWARCSync(t *testing.T) {
	w := openWARC(t, filepath.Join(t.TempDir(), "s"), WARCOptions{MaxSize: 2000})
	pos, err := w.Sync()
	if err != nil || pos != (WARCPos{}) {
		t.Errorf("Sync of nothing = %+v, %v", pos, err)
	}
	rotationWrites(t, w, 0, 3, 1500)
	if len(w.closed) == 0 {
		t.Fatal("no file was closed by rotation")
	}
	pos, err = w.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if len(w.closed) != 0 || w.bw.Buffered() != 0 {
		t.Errorf("after Sync: %d files not synced, %d bytes buffered", len(w.closed), w.bw.Buffered())
	}
	st, _ := os.Stat(w.path(pos.File))
	if pos != w.End() || st.Size() != pos.Offset {
		t.Errorf("Sync = %+v, End %+v, file of %d bytes", pos, w.End(), st.Size())
	}
	if m, _ := w.Mark(); len(m.Spans) != 0 || m.End != pos {
		t.Errorf("Mark after Sync = %+v, want no span", m)
	}
}

// TestWARCIndexMax checks that the payload index stops growing at its
// bound, and that payloads past it are written in full.
func TestWARCIndexMax(t *testing.T) {
	w := openWARC(t, filepath.Join(t.TempDir(), "i"), WARCOptions{})
	w.idxMax = 2
	for i := range 3 {
		write(t, w, exchange(fmt.Sprint("http://a.test/", i), []byte(fmt.Sprint("payload ", i))))
	}
	for i := range 3 {
		write(t, w, exchange(fmt.Sprint("http://b.test/", i), []byte(fmt.Sprint("payload ", i))))
	}
	if len(w.idx) != 2 {
		t.Errorf("index of %d payloads, want 2", len(w.idx))
	}
	pos, err := w.Sync()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Rewind(pos); err != nil { // rebuilds the index
		t.Fatal(err)
	}
	if len(w.idx) != 2 {
		t.Errorf("rebuilt index of %d payloads, want 2", len(w.idx))
	}
	closeWARC(t, w)
	resp, revisits := payloads(readAllWARC(t, w))
	if len(resp) != 4 || revisits != 2 {
		t.Errorf("%d responses and %d revisits, want 4 and 2", len(resp), revisits)
	}
}

// TestWARCConcurrent writes from many goroutines at once, with shared
// payloads and small files, while another marks and verifies, and checks
// that every record reads back, in pairs, each payload once in full.
func TestWARCConcurrent(t *testing.T) {
	const workers, each = 16, 40
	w := openWARC(t, filepath.Join(t.TempDir(), "p.warc.gz"), WARCOptions{MaxSize: 64 << 10})
	var wg sync.WaitGroup
	errs := make(chan error, workers+1)
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				// Payloads repeat across workers: revisits race.
				p := []byte(strings.Repeat(fmt.Sprintf("payload %d ", (g*each+i)%97), 50))
				u := fmt.Sprintf("http://w%d.test/%d", g, i)
				exs := []*fetch.Exchange{exchange(u, p)}
				if i%5 == 0 {
					exs = []*fetch.Exchange{redirect(u+"r", u), exchange(u, p)}
				}
				if _, err := w.Write(exs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var marker sync.WaitGroup
	marker.Go(func() {
		for {
			m, err := w.Mark()
			if err == nil {
				err = w.Verify(m)
			}
			if err != nil {
				errs <- err
				return
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(done)
	marker.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	closeWARC(t, w)

	ids := map[string]warcRecord{}
	byDigest := map[string]int{}
	var recs []warcRecord
	for _, path := range w.Files() {
		rs := readWARC(t, path)
		infoID := rs[0].get(gowarc.WarcRecordID)
		for _, r := range rs[1:] {
			if r.get(gowarc.WarcWarcinfoID) != infoID {
				t.Errorf("%s: a %s names warcinfo %s, not the file's", path, r.typ, r.get(gowarc.WarcWarcinfoID))
			}
		}
		recs = append(recs, rs...)
	}
	var requests int
	for _, r := range recs {
		ids[r.get(gowarc.WarcRecordID)] = r
		switch r.typ {
		case gowarc.Request:
			requests++
		case gowarc.Response:
			if len(r.payload) > 0 {
				byDigest[r.get(gowarc.WarcPayloadDigest)]++
			}
		}
	}
	if want := workers*each + workers*each/5; requests != want {
		t.Errorf("%d request records, want %d", requests, want)
	}
	if len(byDigest) != 97 {
		t.Errorf("%d payloads in full, want 97", len(byDigest))
	}
	for d, n := range byDigest {
		if n != 1 {
			t.Errorf("payload %s is in %d responses, want 1", d, n)
		}
	}
	for _, r := range recs {
		if r.typ == gowarc.Warcinfo {
			continue
		}
		other, ok := ids[r.get(gowarc.WarcConcurrentTo)]
		if !ok || other.get(gowarc.WarcConcurrentTo) != r.get(gowarc.WarcRecordID) {
			t.Errorf("%s of %s: concurrent to %s, which does not name it back", r.typ, r.get(gowarc.WarcTargetURI), r.get(gowarc.WarcConcurrentTo))
		}
		if r.typ == gowarc.Revisit {
			orig, ok := ids[r.get(gowarc.WarcRefersTo)]
			if !ok || orig.typ != gowarc.Response || orig.get(gowarc.WarcPayloadDigest) != r.get(gowarc.WarcPayloadDigest) {
				t.Errorf("revisit of %s refers to %s, not a response of its payload", r.get(gowarc.WarcTargetURI), r.get(gowarc.WarcRefersTo))
			}
		}
	}
}

// TestWARCWarcio reads files written by WARC with warcio, an independent
// reader, and checks the digests it computes and the payloads it reads.
func TestWARCWarcio(t *testing.T) {
	dir := t.TempDir()
	w := openWARC(t, filepath.Join(dir, "js.warc.gz"), WARCOptions{MaxSize: 4000})
	gz := gzipped(t, strings.Repeat("compressed on the wire ", 40))
	trunc := exchange("http://a.test/cut", []byte("cut short"))
	trunc.Truncated = true
	page := fixtures.Synthetic{Pages: 10, Links: 20, Size: 3000}.Page(3)
	var exs []*fetch.Exchange
	for _, ex := range [][]*fetch.Exchange{
		{exchange("http://a.test/", page)},
		{exchange("http://a.test/gz", gz, "Content-Encoding: gzip")},
		{trunc},
		{redirect("http://a.test/r", "http://b.test/"), exchange("http://b.test/", page)}, // a revisit
		{exchange("http://a.test/empty", nil)},
		{exchange("http://a.test/p?q=ü x", []byte("odd URL"))},
	} {
		write(t, w, ex...)
		exs = append(exs, ex...)
	}
	closeWARC(t, w)
	var recs []warctest.Record
	for _, path := range w.Files() {
		got := warctest.Read(t, path)
		mine := readWARC(t, path)
		if len(got) != len(mine) {
			t.Fatalf("%s: warcio reads %d records, gowarc %d", path, len(got), len(mine))
		}
		for i, r := range got {
			if r.Offset != mine[i].offset || r.Type != mine[i].typ.String() {
				t.Errorf("%s: record %d: warcio reads a %s at %d, gowarc a %s at %d", path, i, r.Type, r.Offset, mine[i].typ, mine[i].offset)
			}
		}
		recs = append(recs, got...)
	}
	var resp []warctest.Record
	for i, r := range recs {
		if r.BlockSHA1 != r.BlockDigest {
			t.Errorf("record %d (%s %s): warcio's block SHA-1 %s, WARC-Block-Digest %s", i, r.Type, r.TargetURI, r.BlockSHA1, r.BlockDigest)
		}
		if (r.Type == "request" || r.Type == "response") && r.PayloadSHA1 != r.PayloadDigest {
			t.Errorf("record %d (%s %s): warcio's payload SHA-1 %s, WARC-Payload-Digest %s", i, r.Type, r.TargetURI, r.PayloadSHA1, r.PayloadDigest)
		}
		if r.Type == "response" || r.Type == "revisit" {
			resp = append(resp, r)
		}
	}
	if len(resp) != len(exs) {
		t.Fatalf("%d responses and revisits, want %d", len(resp), len(exs))
	}
	for i, ex := range exs {
		r := resp[i]
		if r.TargetURI != fieldValue(ex.URL) || r.HTTPStatus != ex.Status {
			t.Errorf("response %d: %s %d, want %s %d", i, r.TargetURI, r.HTTPStatus, ex.URL, ex.Status)
		}
		if r.Type == "revisit" {
			if r.TargetURI != "http://b.test/" || r.PayloadDigest != resp[0].PayloadDigest || len(r.Payload) != 0 ||
				r.Headers["WARC-Refers-To"] != resp[0].Headers["WARC-Record-ID"] {
				t.Errorf("revisit %d: %+v, want one of %s", i, r, resp[0].TargetURI)
			}
			continue
		}
		if !bytes.Equal(r.Payload, ex.Payload) {
			t.Errorf("response %d (%s): warcio reads a payload of %d bytes, want %d", i, ex.URL, len(r.Payload), len(ex.Payload))
		}
		if got := r.Headers["WARC-Truncated"]; (got == "length") != ex.Truncated {
			t.Errorf("response %d: WARC-Truncated %q", i, got)
		}
	}
	if got := resp[6].TargetURI; got != "http://a.test/p?q=%C3%BC%20x" {
		t.Errorf("odd URL written as %q", got)
	}
}

// TestOpenWARC checks the names OpenWARC accepts and the options it
// refuses.
func TestOpenWARC(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "a.warc", "a.warc.gz"} {
		w := openWARC(t, filepath.Join(dir, name), WARCOptions{})
		ref := write(t, w, exchange("http://a.test/", nil))
		closeWARC(t, w)
		if ref.File != "a-00000.warc.gz" || w.Name() != filepath.Join(dir, name) {
			t.Errorf("%s: wrote to %s", name, ref.File)
		}
		os.Remove(w.Files()[0])
	}
	for _, tc := range []struct {
		name string
		opts WARCOptions
		want string
	}{
		{"x", WARCOptions{GzipLevel: 10}, "store: warc: gzip level 10 is not 1 to 9, -2 or -1"},
		{"x", WARCOptions{GzipLevel: -3}, "store: warc: gzip level -3 is not 1 to 9, -2 or -1"},
		{"x", WARCOptions{Info: [][2]string{{"a b", "c"}}}, `store: warc: warcinfo field name "a b" is not a token`},
		{"x", WARCOptions{Info: [][2]string{{"a", "c\r\nWARC-Type: x"}}}, `store: warc: warcinfo field a: value "c\r\nWARC-Type: x" holds a line break`},
		{".warc.gz", WARCOptions{}, `store: warc: "` + dir + `/.warc.gz" does not name a file`},
	} {
		if _, err := OpenWARC(filepath.Join(dir, tc.name), tc.opts); err == nil || err.Error() != tc.want {
			t.Errorf("OpenWARC(%s, %+v) = %v, want %s", tc.name, tc.opts, err, tc.want)
		}
	}
	if _, err := OpenWARC(filepath.Join(dir, "none", "x"), WARCOptions{}); err == nil {
		t.Error("OpenWARC in a missing folder succeeded")
	}
	w := openWARC(t, filepath.Join(dir, "c"), WARCOptions{})
	closeWARC(t, w)
	if _, err := w.Write([]*fetch.Exchange{exchange("http://a.test/", nil)}); err == nil {
		t.Error("Write after Close succeeded")
	}
	if ref, err := w.Write(nil); err != nil || ref != (WARCRef{}) {
		t.Errorf("Write(nil) = %+v, %v", ref, err)
	}
}

func ExampleWARC() {
	dir, _ := os.MkdirTemp("", "trawl-example")
	defer os.RemoveAll(dir)
	w, err := OpenWARC(filepath.Join(dir, "crawl.warc.gz"), WARCOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	page := []byte("<title>Home</title>")
	for _, url := range []string{"http://a.test/", "http://a.test/index.html"} {
		ex := &fetch.Exchange{
			URL: url, Method: "GET", Started: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Status: 200,
			Request:  []byte("GET / HTTP/1.1\r\nHost: a.test\r\n\r\n"),
			Response: []byte("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"),
			Payload:  page,
		}
		ref, err := w.Write([]*fetch.Exchange{ex})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(url, "in", ref.File)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	r, _ := gowarc.NewWarcFileReader(w.Files()[0], 0)
	defer r.Close()
	for rec, err := range r.Records() {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(strings.TrimSpace(rec.WarcRecord.Type().String() + " " + rec.WarcRecord.WarcHeader().Get(gowarc.WarcTargetURI)))
		rec.Close()
	}
	// Output:
	// http://a.test/ in crawl-00000.warc.gz
	// http://a.test/index.html in crawl-00000.warc.gz
	// warcinfo
	// request http://a.test/
	// response http://a.test/
	// request http://a.test/index.html
	// revisit http://a.test/index.html
}

// BenchmarkWARCWrite writes one fetch of a 10 KB HTML page per
// operation, each page different, and reports the bytes written per page.
func BenchmarkWARCWrite(b *testing.B) {
	site := fixtures.Synthetic{Pages: 1000, Links: 20, Size: 10 << 10}
	pages := make([][]byte, 1000)
	for i := range pages {
		pages[i] = site.Page(i)
	}
	for _, bc := range []struct {
		name  string
		level int
	}{{"gzip1", 1}, {"huffman", -2}, {"stored", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			// NoDedup: the pages repeat after 1000, and revisits would
			// not measure a page's cost.
			w, err := OpenWARC(filepath.Join(b.TempDir(), "bench.warc.gz"), WARCOptions{GzipLevel: bc.level, NoDedup: true})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			exs := make([]*fetch.Exchange, len(pages))
			for i, p := range pages {
				exs[i] = exchange(site.URL(i), p)
			}
			start := w.End().Offset
			b.ReportAllocs()
			b.SetBytes(int64(len(pages[0])))
			i := 0
			for b.Loop() {
				if _, err := w.Write(exs[i%len(exs) : i%len(exs)+1]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			if w.End().File != 0 {
				b.Fatal("rotated")
			}
			b.ReportMetric(float64(w.End().Offset-start)/float64(i), "B/page")
		})
	}
}
