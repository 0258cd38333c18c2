package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"trawl/fixtures"
)

// TestSeedFile: -i reads a seed list with comments, blank lines and bad
// lines; the bad lines are reported with their numbers and skipped, and
// every other seed is crawled.
func TestSeedFile(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, r.URL.Path)
	})
	srv := fixtures.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	list := "\ufeff# seeds for the test\r\n" +
		"http://seeds.trawl.test/a\r\n" +
		"\n" +
		"   http://seeds.trawl.test/b   # the second\n" +
		"ftp://seeds.trawl.test/c\n" + // line 5: bad
		"  # an indented comment\n" +
		"/relative\n" + // line 7: bad
		"http://seeds.trawl.test/d#fragment\n" +
		"http://\n" + // line 9: bad
		"http://seeds.trawl.test/e" // no final newline
	in := filepath.Join(dir, "seeds.txt")
	if err := os.WriteFile(in, []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	_, stderr, code := trawl(t, "-q", "--rate", "-1", "--ignore-robots", "--depth", "-1",
		"--resolve", "seeds.trawl.test:80:"+srv.Addr(), "-i", in, "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, line := range []string{"line 5:", "line 7:", "line 9:"} {
		if !strings.Contains(stderr, "trawl: -i "+in+": "+line) {
			t.Errorf("stderr does not report %s:\n%s", line, stderr)
		}
	}
	if n := strings.Count(stderr, "(skipped)"); n != 3 {
		t.Errorf("%d lines reported, want 3:\n%s", n, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range readRecords(t, data) {
		got = append(got, strings.TrimPrefix(r.URL, "http://seeds.trawl.test"))
	}
	slices.Sort(got)
	if want := []string{"/a", "/b", "/d", "/e"}; !slices.Equal(got, want) {
		t.Errorf("crawled %v, want %v", got, want)
	}

	// From stdin, with seeds on the command line too.
	cmdOut := filepath.Join(dir, "stdin.jsonl")
	stdout, stderr, code := trawlStdin(t, "http://seeds.trawl.test/f\n", "-q", "--rate", "-1", "--ignore-robots", "--depth", "-1",
		"--resolve", "seeds.trawl.test:80:"+srv.Addr(), "-i", "-", "-o", cmdOut, "http://seeds.trawl.test/g")
	if code != 0 {
		t.Fatalf("stdin: exit %d: %s%s", code, stdout, stderr)
	}
	data, _ = os.ReadFile(cmdOut)
	if n := len(readRecords(t, data)); n != 2 {
		t.Errorf("stdin and argument: %d records, want 2", n)
	}

	// Nothing but bad lines: a usage error, and no output file.
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("# nothing\nnot a url\n"), 0o644)
	none := filepath.Join(dir, "none.jsonl")
	if _, stderr, code := trawl(t, "-q", "-i", bad, "-o", none); code != 2 || !strings.Contains(stderr, "no URL to crawl") {
		t.Errorf("a list without seeds: exit %d, want 2: %s", code, stderr)
	}
	if _, err := os.Stat(none); err == nil {
		t.Error("a refused start created its output file")
	}
	if _, stderr, code := trawl(t, "-q", "-i", filepath.Join(dir, "missing.txt")); code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Errorf("a missing list: exit %d, want 2 with one line: %q", code, stderr)
	}
}

// TestExtractDemo: --extract, --extract-all and --extract-jsonld on the
// demo site put the fields of its blog posts into their records' data.
func TestExtractDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.jsonl")
	_, stderr, code := trawl(t, "demo", "-q", "--rate", "-1", "-o", out,
		"--extract", "author=.byline .author", "--extract", "published=time@datetime",
		"--extract", "missing=.no-such-class", "--extract-all", "tags=a.tag", "--extract-jsonld")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]map[string]any{}
	for _, r := range readRecords(t, data) {
		if m, ok := r.Data.(map[string]any); ok {
			byURL[r.URL] = m
		}
	}
	hello := byURL["http://blog.trawl.test/2024/hello.html"]
	if hello == nil {
		t.Fatalf("no data for hello.html; data of %d pages", len(byURL))
	}
	if a, _ := hello["author"].(string); a == "" {
		t.Errorf("hello.html: author %v, want the byline's text", hello["author"])
	}
	if p, _ := hello["published"].(string); !strings.HasPrefix(p, "20") {
		t.Errorf("hello.html: published %v, want the time's datetime", hello["published"])
	}
	if _, ok := hello["missing"]; ok {
		t.Error("hello.html: a selector that matches nothing gave a value")
	}
	if _, ok := hello["tags"].([]any); !ok {
		t.Errorf("hello.html: tags %v, want a list", hello["tags"])
	}
	ld, _ := hello["jsonld"].([]any)
	if len(ld) == 0 {
		t.Fatalf("hello.html: jsonld %v, want its BlogPosting", hello["jsonld"])
	}
	if obj, _ := ld[0].(map[string]any); obj["@type"] != "BlogPosting" {
		t.Errorf("hello.html: jsonld[0] %v, want a BlogPosting", ld[0])
	}
	newYear := byURL["http://blog.trawl.test/2025/01/new-year.html"]
	if tags, _ := newYear["tags"].([]any); len(tags) == 0 {
		t.Errorf("new-year.html: tags %v, want its tag link", newYear["tags"])
	}
	// A page without any of it still has the lists, empty.
	about := byURL["http://www.trawl.test/about.html"]
	if tags, ok := about["tags"].([]any); !ok || len(tags) != 0 {
		t.Errorf("about.html: tags %v, want an empty list", about["tags"])
	}
	if _, ok := about["author"]; ok {
		t.Errorf("about.html: author %v, want none", about["author"])
	}

	// A bad selector or spec is a usage error on one line.
	for _, spec := range []string{"price", "=h1", "p=h1[", "jsonld=h1"} {
		args := []string{"demo", "-q", "--extract", spec}
		if spec == "jsonld=h1" {
			args = append(args, "--extract-jsonld")
		}
		if _, stderr, code := trawl(t, args...); code != 2 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("--extract %q: exit %d, want 2 with one line: %q", spec, code, stderr)
		}
	}
}
