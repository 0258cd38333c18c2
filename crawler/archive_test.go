package crawler_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"trawl/crawler"
	"trawl/fetch"
	"trawl/store"
	"trawl/store/disk"
	"trawl/store/warctest"
)

// archiveSite serves a page for each thing a WARC archive must get right,
// and returns the bodies it sends, by path, as they go over the wire
// (before transfer coding).
func archiveSite(t *testing.T) (*httptest.Server, map[string][]byte) {
	t.Helper()
	html := func(s string) []byte { return []byte("<!DOCTYPE html><title>" + s + "</title><p>" + s + "</p>") }
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(bytes.Repeat(html("compressed "), 50))
	zw.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	sent := map[string][]byte{
		"/robots.txt": []byte("User-agent: *\nAllow: /\n"),
		"/": []byte(`<!DOCTYPE html><title>home</title>
<a href="/gz">gz</a> <a href="/chunked">chunked</a> <a href="/dup1">d1</a> <a href="/dup2">d2</a>
<a href="/big">big</a> <a href="/redir">redirect</a> <a href="/retry">retry</a> <a href="/missing">missing</a>`),
		"/gz":      zipped.Bytes(),
		"/chunked": append(html("first part "), html("second part")...),
		"/dup1":    html("the same"),
		"/dup2":    html("the same"),
		"/big":     big,
		"/retry":   html("after a retry"),
	}
	var retried atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			w.Header().Set("Content-Type", "text/plain")
		case "/gz":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
		case "/chunked":
			w.Header().Set("Content-Type", "text/html")
			b := sent["/chunked"]
			w.Write(b[:20])
			w.(http.Flusher).Flush() // no Content-Length: chunked
			w.Write(b[20:])
			return
		case "/big":
			w.Header().Set("Content-Type", "application/octet-stream")
		case "/redir":
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
			return
		case "/retry":
			if !retried.Swap(true) {
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/html")
		case "/", "/dup1", "/dup2":
			w.Header().Set("Content-Type", "text/html")
		default:
			http.NotFound(w, r)
			return
		}
		w.Write(sent[r.URL.Path])
	}))
	return srv, sent
}

// TestArchiveWARC crawls with a WARC archive and reads it back with an
// independent reader (warcio): a request and a response for every fetch,
// robots.txt, the redirect hop and the retried 503 included; digests that
// match; payloads as the server sent them (gzip kept, chunks joined); a
// revisit for the duplicate payload; WARC-Truncated on the cut body; and
// records that point at their responses.
func TestArchiveWARC(t *testing.T) {
	srv, sent := archiveSite(t)
	defer srv.Close()
	dir := t.TempDir()
	w, err := store.OpenWARC(filepath.Join(dir, "crawl.warc.gz"), store.WARCOptions{Software: "trawl-test"})
	if err != nil {
		t.Fatal(err)
	}
	var recs records
	_, err = runCrawl(t, crawler.Config{Rate: -1, Retries: 1, RetryBackoff: time.Millisecond, MaxBody: 16 << 10,
		Sink: &recs, Archive: w}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := w.Files()
	if len(files) != 1 {
		t.Fatalf("files %v, want one", files)
	}
	warc := warctest.Read(t, files[0])
	if len(warc) == 0 || warc[0].Type != "warcinfo" {
		t.Fatalf("the file does not start with a warcinfo record: %+v", warc)
	}

	responses := map[string][]warctest.Record{} // by path
	requests := map[string]int{}
	at := map[int64]warctest.Record{}
	for _, r := range warc[1:] {
		at[r.Offset] = r
		path := strings.TrimPrefix(r.TargetURI, srv.URL)
		if r.BlockSHA1 != r.BlockDigest {
			t.Errorf("%s %s: block digest %s, warcio computes %s", r.Type, path, r.BlockDigest, r.BlockSHA1)
		}
		for _, h := range []string{"WARC-Record-ID", "WARC-Date", "WARC-Target-URI", "WARC-IP-Address", "WARC-Concurrent-To", "WARC-Block-Digest", "WARC-Payload-Digest"} {
			if r.Headers[h] == "" {
				t.Errorf("%s %s: no %s", r.Type, path, h)
			}
		}
		switch r.Type {
		case "request":
			requests[path]++
		case "response", "revisit":
			responses[path] = append(responses[path], r)
			if r.Type == "response" && r.Headers["WARC-Truncated"] == "" && r.PayloadSHA1 != r.PayloadDigest {
				t.Errorf("%s: payload digest %s, warcio computes %s", path, r.PayloadDigest, r.PayloadSHA1)
			}
		default:
			t.Errorf("unexpected %s record for %s", r.Type, path)
		}
	}
	for path, rs := range responses {
		if requests[path] != len(rs) {
			t.Errorf("%s: %d requests for %d responses", path, requests[path], len(rs))
		}
	}
	one := func(path string) warctest.Record {
		t.Helper()
		rs := responses[path]
		if len(rs) != 1 {
			t.Fatalf("%s: %d responses archived, want 1", path, len(rs))
		}
		return rs[0]
	}
	for _, path := range []string{"/robots.txt", "/", "/gz", "/chunked"} {
		if r := one(path); !bytes.Equal(r.Payload, sent[path]) {
			t.Errorf("%s: archived payload %q, the server sent %q", path, r.Payload, sent[path])
		}
	}
	if r := one("/redir"); r.HTTPStatus != 301 {
		t.Errorf("/redir: status %d archived, want 301", r.HTTPStatus)
	}
	if r := one("/missing"); r.HTTPStatus != 404 {
		t.Errorf("/missing: status %d archived, want 404", r.HTTPStatus)
	}
	if rs := responses["/retry"]; len(rs) != 2 || rs[0].HTTPStatus != 503 || rs[1].HTTPStatus != 200 {
		t.Errorf("/retry: %d responses archived, want the 503 then the 200", len(rs))
	}
	big := one("/big")
	if big.Headers["WARC-Truncated"] != "length" || !bytes.Equal(big.Payload, sent["/big"][:16<<10]) {
		t.Errorf("/big: WARC-Truncated %q and %d payload bytes, want length and the first 16 KiB", big.Headers["WARC-Truncated"], len(big.Payload))
	}
	d1, d2 := one("/dup1"), one("/dup2")
	if d1.Type == d2.Type {
		t.Errorf("the duplicate payloads are archived as %s and %s, want a response and a revisit", d1.Type, d2.Type)
	}
	orig, rev := d1, d2
	if d1.Type == "revisit" {
		orig, rev = d2, d1
	}
	if rev.Headers["WARC-Refers-To-Target-URI"] != orig.TargetURI || rev.Headers["WARC-Refers-To"] != orig.Headers["WARC-Record-ID"] ||
		rev.PayloadDigest != orig.PayloadDigest || !strings.HasSuffix(rev.Headers["WARC-Profile"], "/warc/1.1/revisit/identical-payload-digest") {
		t.Errorf("revisit %v does not refer to %s %s", rev.Headers, orig.TargetURI, orig.Headers["WARC-Record-ID"])
	}

	// Every record of a response says where it is archived.
	n := 0
	for _, r := range recs.all() {
		if r.Status == 0 {
			continue
		}
		n++
		a, ok := at[r.WARCOffset]
		if r.WARCFile != filepath.Base(files[0]) || !ok || a.TargetURI != r.URL || (a.Type != "response" && a.Type != "revisit") {
			t.Errorf("record %s points at %s@%d: %s %s", r.URL, r.WARCFile, r.WARCOffset, a.Type, a.TargetURI)
		}
		if a.HTTPStatus != r.Status {
			t.Errorf("record %s has status %d, its archived response %d", r.URL, r.Status, a.HTTPStatus)
		}
	}
	if n != 9 {
		t.Errorf("%d records of responses, want 9", n)
	}
	t.Logf("%d WARC records, %d records of responses", len(warc), n)
}

// archiveFunc is an Archive that cannot be kept across crashes.
type archiveFunc func([]*fetch.Exchange) (store.WARCRef, error)

func (f archiveFunc) Write(ex []*fetch.Exchange) (store.WARCRef, error) { return f(ex) }

// TestArchiveDurability: with a frontier on disk, Run refuses an archive
// that cannot be kept exactly once before it fetches anything; a new
// crawl refuses to cut a WARC that holds records unless Overwrite; a
// resumed crawl refuses another WARC than the one it wrote.
func TestArchiveDurability(t *testing.T) {
	srv, _ := archiveSite(t)
	defer srv.Close()
	dir := t.TempDir()
	out, err := store.OpenFile(filepath.Join(dir, "out.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	onDisk := func(name string) func(store.FrontierOptions) (crawler.Frontier, error) {
		return func(o store.FrontierOptions) (crawler.Frontier, error) {
			return disk.Open(filepath.Join(dir, name), disk.Options{FrontierOptions: o})
		}
	}
	cfg := crawler.Config{Rate: -1, MaxPages: 3, Sink: store.NewJSONL(out), NewFrontier: onDisk("state")}

	var calls atomic.Int32
	cfg.Archive = archiveFunc(func([]*fetch.Exchange) (store.WARCRef, error) { calls.Add(1); return store.WARCRef{}, nil })
	if _, err := runCrawl(t, cfg, srv.URL+"/"); !errors.Is(err, crawler.ErrArchiveNotDurable) || calls.Load() != 0 {
		t.Fatalf("an archive that cannot sync: %v after %d writes, want ErrArchiveNotDurable before any", err, calls.Load())
	}

	full, err := store.OpenWARC(filepath.Join(dir, "full.warc.gz"), store.WARCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	if _, err := full.Write([]*fetch.Exchange{{URL: "http://x.test/", Method: "GET", Request: []byte("GET / HTTP/1.1\r\n\r\n"), Response: []byte("HTTP/1.1 200 OK\r\n\r\n"), Status: 200}}); err != nil {
		t.Fatal(err)
	}
	cfg.Archive = full
	if _, err := runCrawl(t, cfg, srv.URL+"/"); !errors.Is(err, crawler.ErrArchiveNotEmpty) {
		t.Fatalf("a new crawl on a WARC with records: %v, want ErrArchiveNotEmpty", err)
	}
	cfg.Overwrite = true
	if _, err := runCrawl(t, cfg, srv.URL+"/"); err != nil {
		t.Fatalf("with Overwrite: %v", err)
	}
	if err := full.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range warctest.Read(t, full.Files()[0]) {
		if r.TargetURI == "http://x.test/" {
			t.Error("Overwrite kept the WARC's old record")
		}
	}

	other, err := store.OpenWARC(filepath.Join(dir, "other.warc.gz"), store.WARCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	cfg.Archive, cfg.Overwrite = other, false
	if _, err := runCrawl(t, cfg, srv.URL+"/"); !errors.Is(err, crawler.ErrArchiveMoved) {
		t.Fatalf("resuming with another WARC: %v, want ErrArchiveMoved", err)
	}
}

// TestArchiveResumeCutsTail: what a killed crawl wrote to its WARC after
// its last commit (here a torn record) is cut when the crawl resumes, as
// the records' output is.
func TestArchiveResumeCutsTail(t *testing.T) {
	srv, _ := archiveSite(t)
	defer srv.Close()
	dir := t.TempDir()
	crawl := func() {
		t.Helper()
		out, err := store.OpenFile(filepath.Join(dir, "out.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		w, err := store.OpenWARC(filepath.Join(dir, "crawl.warc.gz"), store.WARCOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		_, err = runCrawl(t, crawler.Config{Rate: -1, Retries: -1, Sink: store.NewJSONL(out), Archive: w,
			NewFrontier: func(o store.FrontierOptions) (crawler.Frontier, error) {
				return disk.Open(filepath.Join(dir, "state"), disk.Options{FrontierOptions: o})
			}}, srv.URL+"/")
		if err != nil {
			t.Fatal(err)
		}
	}
	crawl()
	path := filepath.Join(dir, "crawl-00000.warc.gz")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A record half written when the process died.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(before[:len(before)/3])
	f.Close()

	crawl() // resumes: nothing left to fetch
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, before) {
		t.Errorf("after the resume the WARC has %d bytes, want the %d of the last commit", len(after), len(before))
	}
	warctest.Read(t, path) // reads to the end
}
