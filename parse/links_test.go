package parse

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"trawl/internal/urlpath"
)

var resolveSeeds = [][2]string{
	{"http://example.com/dir/page.html?q=1#f", "/a/b?c=d#e"},
	{"http://example.com/dir/page.html", "https://Other.example:8443/x/./y"},
	{"http://u:p@example.com/dir/", "/root"},
	{"http://example.com/dir/", "//cdn.example/lib.js"},
	{"http://example.com/dir/", "//user@/x"},
	{"http://example.com/dir/", "a/../b"},
	{"http://example.com/dir/", "/%2e%2E/x"},
	{"http://example.com/dir/", "/é%2f"},
	{"http://example.com/dir/", "/a//b/"},
	{"http://example.com/dir/", "?x"},
	{"http://example.com/dir/", "#frag"},
	{"http://example.com/dir/", "http:opaque"},
	{"http://example.com/dir/", "http://h"},
	{"http://example.com", "/"},
	{"", "/x"},
	{"mailto:x@y", "/p"},
}

// checkStringIs checks urlpath.StringIs on what resolve makes of href: it may only
// report true for u.String() itself.
func checkStringIs(base *url.URL, href string) string {
	u, ok := resolve(base, href)
	if !ok {
		return ""
	}
	u.Fragment, u.RawFragment = "", ""
	want := u.String()
	cands := []string{want, href, want + "x", want[:len(want)/2], strings.ToUpper(want)}
	if key, _, err := Normalize(u); err == nil {
		cands = append(cands, key)
	}
	for _, s := range cands {
		if s != want && urlpath.StringIs(u, s) {
			return fmt.Sprintf("urlpath.StringIs(%q resolved against %q, %q) = true, but String() is %q", href, base, s, want)
		}
	}
	return ""
}

// TestStringIs: urlpath.StringIs recognizes the usual links in normal form.
func TestStringIs(t *testing.T) {
	base := mustURL(t, "http://example.com/dir/page.html")
	for _, tc := range []struct {
		href string
		want bool
	}{
		{"/a/b-c_d.e~f", true},
		{"https://other.example:8443/x/?q=1&r=a+b", true},
		{"/x?", true},
		{"//cdn.example/lib.js", true},
		{"rel/ative", true},
		{"/%7Euser", false},
		{"/a,b", false},
		{"http://user@example.com/", false},
		{"http://EXAMPLE.com/", true},
	} {
		u, ok := resolve(base, tc.href)
		if !ok {
			t.Fatalf("resolve(%q) failed", tc.href)
		}
		if got := urlpath.StringIs(u, u.String()); got != tc.want {
			t.Errorf("urlpath.StringIs(%q, String()) = %v, want %v", tc.href, got, tc.want)
		}
		if msg := checkStringIs(base, tc.href); msg != "" {
			t.Error(msg)
		}
	}
}

// TestResolveRef: the shortcut gives what ResolveReference gives.
func TestResolveRef(t *testing.T) {
	for _, s := range resolveSeeds {
		if msg := checkResolveRef(s[0], s[1]); msg != "" {
			t.Error(msg)
		}
	}
}

func FuzzResolveRef(f *testing.F) {
	for _, s := range resolveSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, base, href string) {
		if msg := checkResolveRef(base, href); msg != "" {
			t.Fatal(msg)
		}
	})
}

func checkResolveRef(base, href string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ""
	}
	if msg := checkStringIs(b, href); msg != "" {
		return msg
	}
	ref, err := url.Parse(href)
	if err != nil {
		return ""
	}
	ref2 := *ref
	want := b.ResolveReference(ref)
	got := resolveRef(b, &ref2)
	if !reflect.DeepEqual(got, want) {
		return "resolveRef(" + base + ", " + href + ") = " + got.String() + ", want " + want.String()
	}
	return ""
}

var decodeSeeds = []struct {
	body, contentType string
}{
	{"<title>x</title>", "text/html"},
	{"<title>x</title>", "text/html; charset=utf-8"},
	{"<title>x</title>", "TEXT/HTML;CHARSET=UTF-8"},
	{"\xef\xbb\xbf<title>x</title>", "text/html; charset=utf-8"},
	{"\xff\xfe<\x00t\x00", "text/html; charset=utf-8"},
	{"<meta charset=iso-2022-jp><title>\x1b$B$3\x1b(B</title>", "text/html"},
	{"<meta charset=csiso2022kr><title>x</title>", ""},
	{"<meta charset=hz-gb-2312><title>x</title>", ""},
	{"<meta charset=&#x72;eplacement><title>x</title>", ""},
	{"<meta charset=REPLACEMENT><title>x</title>", ""},
	{"<meta charset=utf-16le><title>x</title>", ""},
	{"<meta charset=windows-1252><title>caf\xe9</title>", ""},
	{"<title>caf\xc3\xa9</title>", ""},
	{"<title>x</title>", "text/html; charset=utf-16"},
}

// TestDecodeShortcut: whenever unchanged holds, decodeFull returns body.
func TestDecodeShortcut(t *testing.T) {
	hits := 0
	for _, s := range decodeSeeds {
		if unchanged([]byte(s.body), s.contentType) {
			hits++
		}
		if msg := checkDecodeShortcut([]byte(s.body), s.contentType); msg != "" {
			t.Error(msg)
		}
	}
	if hits < 3 {
		t.Errorf("the shortcut applies to %d seeds", hits)
	}
}

func FuzzDecodeShortcut(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s.body), s.contentType)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		if msg := checkDecodeShortcut(body, contentType); msg != "" {
			t.Fatal(msg)
		}
	})
}

func checkDecodeShortcut(body []byte, contentType string) string {
	if !unchanged(body, contentType) {
		return ""
	}
	out, err := decodeFull(body, contentType)
	if err != nil || len(out) != len(body) || len(out) > 0 && &out[0] != &body[0] {
		return fmt.Sprintf("decode(%q, %q): the shortcut returns body, decodeFull returns %q, %v", body, contentType, out, err)
	}
	return ""
}
