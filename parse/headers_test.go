package parse

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func foundURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// foundStrings returns "URL kind source" for each link, with " method"
// for a form.
func foundStrings(ls []Link) []string {
	var out []string
	for _, l := range ls {
		s := fmt.Sprintf("%s %v %s", l.URL, l.Kind, l.Source)
		if l.Method != "" {
			s += " " + l.Method
		}
		out = append(out, s)
	}
	return out
}

// checkFound returns what is wrong with links found by CSS, Headers or
// GuessLinks, or "": each must have an http(s) URL whose Normalize key
// and host are its Key and Host, keys must be unique, and there may be
// no more than max links.
func checkFound(ls []Link, max int) string {
	if len(ls) > max {
		return fmt.Sprintf("got %d links, want at most %d", len(ls), max)
	}
	seen := make(map[string]bool)
	for _, l := range ls {
		u, err := url.Parse(l.URL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Sprintf("link %q: not an http(s) URL (%v)", l.URL, err)
		}
		key, host, err := Normalize(u)
		if err != nil || key != l.Key || host != l.Host {
			return fmt.Sprintf("link %q has key %q host %q; Normalize gives %q, %q, %v", l.URL, l.Key, l.Host, key, host, err)
		}
		if seen[l.Key] {
			return fmt.Sprintf("key %q found twice", l.Key)
		}
		seen[l.Key] = true
		if l.Source == "" {
			return fmt.Sprintf("link %q has no source", l.URL)
		}
		if (l.Method != "") != (l.Kind == KindForm) {
			return fmt.Sprintf("link %q: kind %v with method %q", l.URL, l.Kind, l.Method)
		}
	}
	return ""
}

func TestRelKind(t *testing.T) {
	tests := []struct {
		rel, typ string
		kind     Kind
		method   string
		ok       bool
	}{
		{"stylesheet", "", KindAsset, "", true},
		{"StyleSheet", "", KindAsset, "", true},
		{"alternate stylesheet", "", KindAsset, "", true},
		{"icon", "", KindAsset, "", true},
		{"shortcut icon", "", KindAsset, "", true},
		{"apple-touch-icon", "", KindAsset, "", true},
		{"apple-touch-icon-precomposed", "", KindAsset, "", true},
		{"mask-icon", "", KindAsset, "", true},
		{"manifest", "", KindAsset, "", true},
		{"preload", "", KindAsset, "", true},
		{"modulepreload", "", KindAsset, "", true},
		{"prefetch", "", KindAsset, "", true},
		{"import", "", KindAsset, "", true},
		{"sitemap", "", KindSitemap, "", true},
		{"alternate", "application/rss+xml", KindSitemap, "", true},
		{"ALTERNATE", "Application/Atom+XML; charset=utf-8", KindSitemap, "", true},
		{"alternate", "text/html", KindPage, "", true},
		{"alternate", "", KindPage, "", true},
		{"next", "application/rss+xml", KindPage, "", true},
		{"pingback", "", KindForm, "POST", true},
		{"webmention", "", KindForm, "POST", true},
		{"next", "", KindPage, "", true},
		{"prev", "", KindPage, "", true},
		{"canonical", "", KindPage, "", true},
		{"author license help search", "", KindPage, "", true},
		{"", "", KindPage, "", true},
		{"  \t ", "", KindPage, "", true},
		{"next stylesheet", "", KindAsset, "", true},
		{"webmention stylesheet", "", KindForm, "POST", true},
		{"icon sitemap", "", KindAsset, "", true},
		{"dns-prefetch", "", KindPage, "", false},
		{"preconnect", "", KindPage, "", false},
		{" PreConnect  dns-prefetch ", "", KindPage, "", false},
		{"preconnect stylesheet", "", KindAsset, "", true},
		{"dns-prefetch next", "", KindPage, "", true},
		{"\u017ftylesheet", "", KindPage, "", true}, // a long s is not an ASCII s
	}
	for _, tc := range tests {
		k, method, ok := RelKind(tc.rel, tc.typ)
		if k != tc.kind || method != tc.method || ok != tc.ok {
			t.Errorf("RelKind(%q, %q) = %v, %q, %v; want %v, %q, %v", tc.rel, tc.typ, k, method, ok, tc.kind, tc.method, tc.ok)
		}
	}
}

func TestRelKindAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		RelKind("alternate stylesheet", "application/rss+xml; charset=utf-8")
	}); n != 0 {
		t.Errorf("RelKind allocates %v times, want 0", n)
	}
}

func TestHeaders(t *testing.T) {
	const base = "http://example.com/dir/page"
	tests := []struct {
		name   string
		h      http.Header
		status int // 0 is 200
		base   string
		want   []string
	}{
		{
			name: "link values and fields",
			h: http.Header{"Link": {
				`</style.css>; rel=stylesheet, <next.html>; rel="next", </feed>; rel=alternate; type="application/rss+xml"`,
				`<https://other.example/ping>; rel=pingback`,
			}},
			want: []string{
				"http://example.com/style.css asset header:link",
				"http://example.com/dir/next.html page header:link",
				"http://example.com/feed sitemap header:link",
				"https://other.example/ping form header:link POST",
			},
		},
		{
			name: "commas and semicolons in the target",
			h:    http.Header{"Link": {`<http://example.com/a,b;c=d>; rel="next",<http://example.com/e;f,g>;rel=prev`}},
			want: []string{"http://example.com/a,b;c=d page header:link", "http://example.com/e;f,g page header:link"},
		},
		{
			name: "quoted parameters",
			h: http.Header{"Link": {
				`</a>; title="x, \"y\"; <z>, w"; rel="preload"; as=font, </b>; rel = "alternate stylesheet" ; media="(a; b)"`,
			}},
			want: []string{"http://example.com/a asset header:link", "http://example.com/b asset header:link"},
		},
		{
			name: "case-insensitive names, only the first rel, empty elements",
			h:    http.Header{"Link": {` , </a>; REL=Stylesheet,, </b>; rel=next; rel=stylesheet ,`}},
			want: []string{"http://example.com/a asset header:link", "http://example.com/b page header:link"},
		},
		{
			name: "rel* replaces rel",
			h:    http.Header{"Link": {`</a>; rel=next; rel*=UTF-8'en'style%73heet, </b>; rel*=bad; rel=icon`}},
			want: []string{"http://example.com/a asset header:link", "http://example.com/b asset header:link"},
		},
		{
			name: "no rel, anchor, type",
			h:    http.Header{"Link": {`</a>, </b>; anchor="/elsewhere"; rel=sitemap, </c>; type=text/css`}},
			want: []string{
				"http://example.com/a page header:link",
				"http://example.com/b sitemap header:link",
				"http://example.com/c page header:link",
			},
		},
		{
			name: "origin-only rels left out",
			h:    http.Header{"Link": {`<https://fonts.example>; rel=preconnect, <//cdn.example>; rel="dns-prefetch preconnect", </ok>`}},
			want: []string{"http://example.com/ok page header:link"},
		},
		{
			name: "malformed link-values skipped",
			h: http.Header{"Link": {
				`junk, </a>; rel=next, </b> garbage; rel=next, "quoted, junk" </c>, x<,y>; rel=next, </d>; title="open`,
				`</e>; rel=next`,
				`</f; rel=next, </g>`,
			}},
			want: []string{
				"http://example.com/a page header:link",
				"http://example.com/e page header:link",
				"http://example.com/g page header:link",
			},
		},
		{
			name: "malformed with a comma in its target",
			h:    http.Header{"Link": {`x</p,q>; rel=next, </r>`}},
			want: []string{"http://example.com/r page header:link"},
		},
		{
			name: "non-http targets left out",
			h:    http.Header{"Link": {`<mailto:a@example.com>, <ftp://example.com/x>, <javascript:x>, <>, </ok#frag>`}},
			want: []string{"http://example.com/ok page header:link"},
		},
		{name: "refresh", h: http.Header{"Refresh": {"5; url=/next"}}, want: []string{"http://example.com/next page header:refresh"}},
		{name: "refresh quoted", h: http.Header{"Refresh": {"0;URL='/x y'"}}, want: []string{"http://example.com/x%20y page header:refresh"}},
		{name: "refresh double quoted", h: http.Header{"Refresh": {` 0 ; url = "/q" rest`}}, want: []string{"http://example.com/q page header:refresh"}},
		{name: "refresh comma", h: http.Header{"Refresh": {"5, url=next"}}, want: []string{"http://example.com/dir/next page header:refresh"}},
		{name: "refresh without url=", h: http.Header{"Refresh": {"3 /z"}}, want: []string{"http://example.com/z page header:refresh"}},
		{name: "refresh fraction", h: http.Header{"Refresh": {".5; url=/dot"}}, want: []string{"http://example.com/dot page header:refresh"}},
		{name: "refresh partial url", h: http.Header{"Refresh": {"1; urn"}}, want: []string{"http://example.com/dir/urn page header:refresh"}},
		{name: "refresh absolute", h: http.Header{"Refresh": {"1;url=https://other.example/"}}, want: []string{"https://other.example/ page header:refresh"}},
		{name: "refresh self", h: http.Header{"Refresh": {"5"}}},
		{name: "refresh self with separator", h: http.Header{"Refresh": {"5;  "}}},
		{name: "refresh empty url", h: http.Header{"Refresh": {"5; url="}}},
		{name: "refresh malformed", h: http.Header{"Refresh": {"soon; url=/x"}}},
		{name: "refresh junk after time", h: http.Header{"Refresh": {"5x; url=/x"}}},
		{
			name: "content-location",
			h:    http.Header{"Content-Location": {"page.en.html"}},
			want: []string{"http://example.com/dir/page.en.html page header:content-location"},
		},
		{
			name:   "location on 201",
			h:      http.Header{"Location": {"/items/42"}},
			status: 201,
			want:   []string{"http://example.com/items/42 page header:location"},
		},
		{name: "location on 301", h: http.Header{"Location": {"/moved"}}, status: 301},
		{name: "location on 399", h: http.Header{"Location": {"/moved"}}, status: 399},
		{
			name:   "location on 400",
			h:      http.Header{"Location": {"/login"}},
			status: 400,
			want:   []string{"http://example.com/login page header:location"},
		},
		{
			name: "header order and dedup",
			h: http.Header{
				"Location":         {"/a"},
				"Content-Location": {"/b"},
				"Refresh":          {"0; url=/c"},
				"Link":             {`</d>; rel=next, </a>; rel=prev`},
			},
			want: []string{
				"http://example.com/d page header:link",
				"http://example.com/a page header:link",
				"http://example.com/c page header:refresh",
				"http://example.com/b page header:content-location",
			},
		},
		{
			name: "a later occurrence more likely followed gives the kind",
			h: http.Header{
				"Link":             {`</x>; rel=preload, </y>; rel=webmention, </y>; rel=stylesheet`},
				"Content-Location": {"/x"},
			},
			want: []string{
				"http://example.com/x page header:content-location",
				"http://example.com/y asset header:link",
			},
		},
		{
			name: "nil base",
			base: "-",
			h:    http.Header{"Link": {`</rel>, <http://example.org/abs>`}, "Location": {"/rel"}},
			want: []string{"http://example.org/abs page header:link"},
		},
		{name: "none", h: http.Header{"Content-Type": {"text/html"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b *url.URL
			switch tc.base {
			case "":
				b = foundURL(t, base)
			case "-":
			default:
				b = foundURL(t, tc.base)
			}
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			got := Headers(tc.h, status, b)
			if msg := checkFound(got, 1000); msg != "" {
				t.Error(msg)
			}
			if s := foundStrings(got); !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got %q,\nwant %q", s, tc.want)
			}
		})
	}
}

// FuzzLinkHeader checks that Headers does not panic with v as every
// header it reads, and returns unique http(s) links whose keys are those
// Normalize gives, no more than v has link-values and other headers.
func FuzzLinkHeader(f *testing.F) {
	f.Add(`</style.css>; rel=stylesheet, <next.html>; rel="next", </feed>; rel=alternate; type="application/rss+xml"`, 200)
	f.Add(`</a>; title="x, \"y\"; <z>, w"; rel="preload"; rel*=UTF-8''icon, junk, </b> x`, 201)
	f.Add(`<http://example.com/a,b;c=d>; rel=pingback,<http://example.com/e;f,g>;rel=dns-prefetch`, 302)
	f.Add(`0;URL='/x'`, 200)
	f.Add(`5, url="/y`, 404)
	base, _ := url.Parse("http://example.com/dir/page")
	f.Fuzz(func(t *testing.T, v string, status int) {
		h := http.Header{"Link": {v, v}, "Refresh": {v}, "Content-Location": {v}, "Location": {v}}
		ls := Headers(h, status, base)
		if msg := checkFound(ls, 2*(strings.Count(v, "<")+1)+1); msg != "" {
			t.Fatal(msg)
		}
		for _, l := range ls {
			if !strings.HasPrefix(l.Source, "header:") {
				t.Fatalf("link %q: source %q", l.URL, l.Source)
			}
		}
	})
}
