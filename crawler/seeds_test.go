package crawler_test

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"trawl/crawler"
)

// cliCheckSeed is the command line's checkSeed (main.go) before it used
// crawler.CheckSeed: CheckSeed must give the same verdicts and messages.
func cliCheckSeed(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("bad URL %q: %v", s, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("bad URL %q: want an http:// or https:// URL", s)
	}
	if u.Host == "" {
		return fmt.Errorf("bad URL %q: no host", s)
	}
	return nil
}

func TestCheckSeed(t *testing.T) {
	tests := []struct {
		seed string
		want string // "" for a seed
	}{
		{"http://example.com/", ""},
		{"https://example.com", ""},
		{"HTTPS://Example.COM:8443/a?b=c#d", ""},
		{"http://user:pw@example.com/", ""},
		{"http://[::1]:8080/", ""},
		{"ftp://x", `bad URL "ftp://x": want an http:// or https:// URL`},
		{"not a url", `bad URL "not a url": want an http:// or https:// URL`},
		{"/relative/path", `bad URL "/relative/path": want an http:// or https:// URL`},
		{"example.com/page", `bad URL "example.com/page": want an http:// or https:// URL`},
		{"", `bad URL "": want an http:// or https:// URL`},
		{"mailto:a@example.com", `bad URL "mailto:a@example.com": want an http:// or https:// URL`},
		{"http:///path", `bad URL "http:///path": no host`},
		{"http:example.com", `bad URL "http:example.com": no host`},
		{"http://a b/", `bad URL "http://a b/": invalid character " " in host name`},
		{"http://[::1/", `bad URL "http://[::1/": missing ']' in host`},
		{"http://x/\x00", `bad URL "http://x/\x00": net/url: invalid control character in URL`},
		{"://x", `bad URL "://x": missing protocol scheme`},
	}
	for _, tc := range tests {
		t.Run(tc.seed, func(t *testing.T) {
			err := crawler.CheckSeed(tc.seed)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			cli := ""
			if err := cliCheckSeed(tc.seed); err != nil {
				cli = err.Error()
			}
			if got != cli {
				t.Errorf("got %q, the command line says %q", got, cli)
			}
			if err != nil && errors.Unwrap(err) == nil {
				t.Errorf("errors.Unwrap(%v) is nil, want the reason", err)
			}
		})
	}
}

func TestReadSeeds(t *testing.T) {
	long := "http://example.com/" + strings.Repeat("a", 1<<20)
	longest := "http://example.com/" + strings.Repeat("b", 1<<20-len("http://example.com/"))
	tests := []struct {
		name  string
		input string
		seeds []string
		bad   []string // SeedError.Error()
	}{
		{name: "empty", input: ""},
		{name: "blank lines only", input: "\n\n  \n\t\n"},
		{
			name:  "one per line, trimmed, no final newline",
			input: "http://a.test/\n  https://b.test/x  \n\thttp://c.test/",
			seeds: []string{"http://a.test/", "https://b.test/x", "http://c.test/"},
		},
		{
			name:  "comments and blank lines",
			input: "# seeds\n\nhttp://a.test/\n   # indented comment\n\t#tab\n\nhttp://b.test/\n#",
			seeds: []string{"http://a.test/", "http://b.test/"},
		},
		{
			name:  "comment after a URL",
			input: "http://a.test/ # the first\nhttp://b.test/\t# the second\nhttp://c.test/#frag # a fragment stays\n",
			seeds: []string{"http://a.test/", "http://b.test/", "http://c.test/#frag"},
		},
		{
			name:  "byte order mark",
			input: "\xEF\xBB\xBFhttp://a.test/\nhttp://b.test/\n",
			seeds: []string{"http://a.test/", "http://b.test/"},
		},
		{
			name:  "byte order mark before a comment",
			input: "\xEF\xBB\xBF# seeds\nhttp://a.test/\n",
			seeds: []string{"http://a.test/"},
		},
		{
			name:  "byte order mark only at the start",
			input: "http://a.test/\n\xEF\xBB\xBFhttp://b.test/\n",
			seeds: []string{"http://a.test/"},
			bad:   []string{`line 2: "\ufeffhttp://b.test/": first path segment in URL cannot contain colon`},
		},
		{
			name:  "CRLF",
			input: "http://a.test/\r\n# c\r\n\r\nhttp://b.test/ # x\r\nhttp://c.test/\r\n",
			seeds: []string{"http://a.test/", "http://b.test/", "http://c.test/"},
		},
		{
			name:  "duplicates kept in order",
			input: "http://b.test/\nhttp://a.test/\nhttp://b.test/\n",
			seeds: []string{"http://b.test/", "http://a.test/", "http://b.test/"},
		},
		{
			name: "bad lines reported with their numbers, the rest kept",
			input: "# list\n" + // 1
				"http://a.test/\n" + // 2
				"not-a-url\n" + // 3
				"ftp://files.test/x\n" + // 4
				"\n" + // 5
				"/relative\n" + // 6
				"http:///nohost # comment\n" + // 7
				"https://b.test/\n" + // 8
				"http://bad-host.test/\x00\n" + // 9
				long + "\n" + // 10
				"http://c.test/", // 11
			seeds: []string{"http://a.test/", "https://b.test/", "http://c.test/"},
			bad: []string{
				`line 3: "not-a-url": want an http:// or https:// URL`,
				`line 4: "ftp://files.test/x": want an http:// or https:// URL`,
				`line 6: "/relative": want an http:// or https:// URL`,
				`line 7: "http:///nohost": no host`,
				`line 9: "http://bad-host.test/\x00": net/url: invalid control character in URL`,
				`line 10: "` + long[:200] + `"...: line longer than 1048576 bytes`,
			},
		},
		{
			name:  "a space inside a line: two URLs, or a note without #",
			input: "http://a.test/ http://b.test/\nhttp://c.test/\tnote\nhttp://bad host/\nhttp://d.test/a%20b\n",
			seeds: []string{"http://d.test/a%20b"},
			bad: []string{
				`line 1: "http://a.test/ http://b.test/": a space inside: one URL per line, with a space written %20`,
				`line 2: "http://c.test/\tnote": a space inside: one URL per line, with a space written %20`,
				`line 3: "http://bad host/": a space inside: one URL per line, with a space written %20`,
			},
		},
		{
			name:  "a line of 1 MiB is read, CRLF or not",
			input: longest + "\r\n" + longest + "\n" + longest,
			seeds: []string{longest, longest, longest},
		},
		{
			name:  "a long line whose comment starts within 1 MiB",
			input: "http://a.test/ # " + strings.Repeat("c", 3<<20) + "\n#" + strings.Repeat("c", 3<<20) + "\nhttp://b.test/",
			seeds: []string{"http://a.test/", "http://b.test/"},
		},
		{
			name:  "an overlong line of spaces",
			input: strings.Repeat(" ", 2<<20) + "http://a.test/\n" + strings.Repeat("\t", 2<<20) + "\nhttp://b.test/",
			seeds: []string{"http://b.test/"},
			bad: []string{
				`line 1: ""...: line longer than 1048576 bytes`,
				`line 2: ""...: line longer than 1048576 bytes`,
			},
		},
		{
			name:  "an overlong last line",
			input: "http://a.test/\n" + long,
			seeds: []string{"http://a.test/"},
			bad:   []string{`line 2: "` + long[:200] + `"...: line longer than 1048576 bytes`},
		},
		{
			name:  "a long reason is cut in the message",
			input: "http://x.test:" + strings.Repeat("9a", 200) + "/\n",
			bad: []string{`line 1: "http://x.test:` + strings.Repeat("9a", 93) + `"...: invalid port ":` +
				strings.Repeat("9a", 92) + `9...`},
		},
		{
			name:  "a long bad line is cut in the message",
			input: "ftp://x.test/" + strings.Repeat("é", 200) + "\n",
			bad:   []string{`line 1: "ftp://x.test/` + strings.Repeat("é", 93) + `"...: want an http:// or https:// URL`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seeds, bad, err := crawler.ReadSeeds(strings.NewReader(tc.input))
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if !reflect.DeepEqual(seeds, tc.seeds) {
				t.Errorf("got seeds %q, want %q", shorten(seeds), shorten(tc.seeds))
			}
			var msgs []string
			for _, b := range bad {
				msgs = append(msgs, b.Error())
			}
			if !reflect.DeepEqual(msgs, tc.bad) {
				t.Errorf("got bad\n%s\nwant\n%s", strings.Join(msgs, "\n"), strings.Join(tc.bad, "\n"))
			}
			// The same with a reader that returns one byte at a time.
			seeds1, bad1, err := crawler.ReadSeeds(iotest.OneByteReader(strings.NewReader(tc.input)))
			if err != nil || !reflect.DeepEqual(seeds1, seeds) || !reflect.DeepEqual(bad1, bad) {
				t.Errorf("one byte at a time: got %q, %v, %v; want what a whole read gives", shorten(seeds1), bad1, err)
			}
		})
	}
}

// shorten cuts long seeds for messages.
func shorten(seeds []string) []string {
	out := make([]string, len(seeds))
	for i, s := range seeds {
		if len(s) > 60 {
			s = fmt.Sprintf("%s... (%d bytes)", s[:60], len(s))
		}
		out[i] = s
	}
	return out
}

func TestSeedError(t *testing.T) {
	_, bad, err := crawler.ReadSeeds(strings.NewReader("# seeds\n\n  ftp://x  # old\n"))
	if err != nil || len(bad) != 1 {
		t.Fatalf("got %v, %v; want one bad line", bad, err)
	}
	e := bad[0]
	if e.Line != 3 || e.Text != "ftp://x" {
		t.Errorf("got line %d text %q, want 3 %q", e.Line, e.Text, "ftp://x")
	}
	if want := errors.Unwrap(crawler.CheckSeed("ftp://x")); e.Err != want {
		t.Errorf("got Err %v, want CheckSeed's reason %v", e.Err, want)
	}
	if !errors.Is(e, e.Err) {
		t.Error("SeedError does not unwrap to its Err")
	}
	if got, want := e.Error(), `line 3: "ftp://x": want an http:// or https:// URL`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadSeedsReadError(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name  string
		r     io.Reader
		seeds []string
		bad   int
		want  error
	}{
		{
			name:  "error after whole lines",
			r:     io.MultiReader(strings.NewReader("http://a.test/\nftp://x\nhttp://b.test/\n"), iotest.ErrReader(boom)),
			seeds: []string{"http://a.test/", "http://b.test/"},
			bad:   1,
			want:  boom,
		},
		{
			name:  "the line cut short is dropped",
			r:     io.MultiReader(strings.NewReader("http://a.test/\nhttp://b.test/pa"), iotest.ErrReader(boom)),
			seeds: []string{"http://a.test/"},
			want:  boom,
		},
		{
			name: "timeout",
			r:    iotest.TimeoutReader(strings.NewReader("http://a.test/\nhttp://b.test/\n")),
			// The first Read gives both lines; the next one times out.
			seeds: []string{"http://a.test/", "http://b.test/"},
			want:  iotest.ErrTimeout,
		},
		{
			name: "error at once",
			r:    iotest.ErrReader(boom),
			want: boom,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seeds, bad, err := crawler.ReadSeeds(tc.r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "crawler: read seeds: ") {
				t.Errorf("got error %q, want it prefixed", err)
			}
			if !reflect.DeepEqual(seeds, tc.seeds) || len(bad) != tc.bad {
				t.Errorf("got %q and %d bad, want %q and %d", seeds, len(bad), tc.seeds, tc.bad)
			}
		})
	}
}

func FuzzReadSeeds(f *testing.F) {
	for _, s := range []string{
		"",
		"http://a.test/\n",
		"\xEF\xBB\xBF# c\r\nhttp://a.test/ # x\r\n\r\nftp://b\n  https://c.test/#f\t#c",
		"http://[::1/\nhttp://a b/\n/rel\nhttp:///x\n",
		"#\n #\n\t#\n# #\nhttp://x.test/ #\n",
		"\r\n\r\r\n\n\x00\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		seeds, bad, err := crawler.ReadSeeds(strings.NewReader(string(in)))
		if err != nil {
			t.Fatalf("got error %v reading from memory", err)
		}
		lines := strings.Count(string(in), "\n")
		if len(in) > 0 && in[len(in)-1] != '\n' {
			lines++
		}
		if len(seeds)+len(bad) > lines {
			t.Errorf("got %d seeds and %d bad lines from %d lines", len(seeds), len(bad), lines)
		}
		for _, s := range seeds {
			if err := crawler.CheckSeed(s); err != nil {
				t.Errorf("seed %q: %v", s, err)
			}
			if s != strings.TrimSpace(s) || s == "" {
				t.Errorf("seed %q is not trimmed", s)
			}
		}
		last := 0
		for _, b := range bad {
			if b.Line <= last || b.Line > lines {
				t.Errorf("bad line %d after %d, of %d lines", b.Line, last, lines)
			}
			last = b.Line
			if b.Err == nil {
				t.Errorf("bad line %d has no Err", b.Line)
			}
			if msg := b.Error(); strings.Contains(msg, "\n") || len(msg) > 1100 {
				t.Errorf("bad line message %q: want one short line", msg)
			}
		}
	})
}
