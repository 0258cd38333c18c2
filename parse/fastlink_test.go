package parse

import (
	"net/url"
	"strings"
	"testing"

	"trawl/internal/urlpath"
)

// fastLinkSeeds are (base, href) pairs for FuzzLinkFastPath: the shapes
// fastKey takes, and the near misses it must leave to the slow path.
var fastLinkSeeds = [][2]string{
	// What the synthetic site and most pages hold.
	{"http://h0.bench.test/p/0", "http://h1.bench.test/p/6433"},
	{"http://h0.bench.test/p/0", "/p/19056"},
	{"http://h0.bench.test/p/0", "/p/19740#s15"},
	{"http://h0.bench.test/p/0", "http://offsite.test/p/7"},
	{"http://h0.bench.test/p/0", "/p/0"},
	{"http://h0.bench.test/p/0", "/p/0#top"},
	{"https://www.example.com/bench/page.html", "/bench/page-2.html"},
	{"https://www.example.com/bench/page.html", "https://www.example.com/bench/other/3?ref=home"},
	{"http://example.com/", "/"},
	{"http://example.com/", "/#"},
	{"http://example.com/", "/a_b-c.d~e/f/"},
	{"http://example.com/", "/a//b//"},
	// Empty paths: the key ends in '/', the URL does not.
	{"http://example.com/", "http://other.example"},
	{"http://example.com/", "http://other.example#frag"},
	{"http://example.com/", "https://other.example/"},
	{"http://example.com/", "http://other.example?"},
	{"http://example.com/", "http://other.example?q"},
	// Schemes and hosts not in normal form.
	{"http://example.com/", "HTTP://other.example/p"},
	{"http://example.com/", "Http://other.example/p"},
	{"http://example.com/", "http://Other.Example/p"},
	{"http://example.com/", "http://other.example./p"},
	{"http://example.com/", "http://other.example../p"},
	{"http://example.com/", "http://.other.example/p"},
	{"http://example.com/", "http:///p"},
	{"http://example.com/", "http://a_b.example/p"},
	{"http://example.com/", "http://-a.example/p"},
	{"http://example.com/", "http://" + strings.Repeat("a", 64) + ".example/p"},
	{"http://example.com/", "http://" + strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "/p"},
	{"http://example.com/", "http://127.0.0.1/p"},
	{"http://example.com/", "http://0x7f.1/p"},
	{"http://example.com/", "http://[::1]/p"},
	{"http://example.com/", "http://[::FFFF:127.0.0.1]/p"},
	{"http://example.com/", "http://[fe80::1%25eth0]/p"},
	{"http://example.com/", "http://bücher.example/p"},
	{"http://example.com/", "http://xn--bcher-kva.example/p"},
	{"http://example.com/", "http://例え.テスト/p"},
	// Ports and userinfo.
	{"http://example.com/", "http://other.example:80/p"},
	{"http://example.com/", "http://other.example:0080/p"},
	{"http://example.com/", "https://other.example:443/p"},
	{"http://example.com/", "http://other.example:8080/p"},
	{"http://example.com/", "http://other.example:/p"},
	{"http://example.com/", "http://other.example:0/p"},
	{"http://example.com/", "http://other.example:99999/p"},
	{"http://example.com/", "http://user@other.example/p"},
	{"http://example.com/", "http://user:pass@other.example/p"},
	{"http://example.com/", "http://@other.example/p"},
	// Network paths, dot segments and escapes.
	{"http://example.com/", "//other.example/p"},
	{"http://example.com/", "///p"},
	{"http://example.com/", "/./p"},
	{"http://example.com/", "/../p"},
	{"http://example.com/", "/a/."},
	{"http://example.com/", "/a/.."},
	{"http://example.com/", "/a/..b/.c/"},
	{"http://example.com/", "/a/%2e%2e/b"},
	{"http://example.com/", "/%2E/b"},
	{"http://example.com/", "/%41"},
	{"http://example.com/", "/%7euser"},
	{"http://example.com/", "/a%2Fb"},
	{"http://example.com/", "/a?b=c"},
	{"http://example.com/", "/a?"},
	{"http://example.com/", "/a,b;c=d"},
	{"http://example.com/", "/a:b"},
	{"http://example.com/", "/a@b"},
	{"http://example.com/", "/é"},
	{"http://example.com/", "http://other.example/./p"},
	{"http://example.com/", "http://other.example/a/../p"},
	{"http://example.com/", "http://other.example/%7e"},
	{"http://example.com/", "p/q"},
	{"http://example.com/", "./p"},
	{"http://example.com/", "?q"},
	{"http://example.com/", "#frag"},
	{"http://example.com/", ""},
	// Whitespace and control characters, which resolve trims or removes.
	{"http://example.com/", " /p"},
	{"http://example.com/", "/p "},
	{"http://example.com/", "/p q"},
	{"http://example.com/", "/p\tq"},
	{"http://example.com/", "/p\nq"},
	{"http://example.com/", "/p\r\n"},
	{"http://example.com/", "/p\f"},
	{"http://example.com/", "/p\x00"},
	{"http://example.com/", "/p\x7f"},
	{"http://example.com/", "\thttp://other.example/p"},
	{"http://example.com/", "http://other\n.example/p"},
	{"http://example.com/", "ht\ttp://other.example/p"},
	// Fragments: url.Parse rejects bad escapes and control characters.
	{"http://example.com/", "/p#%zz"},
	{"http://example.com/", "/p#%"},
	{"http://example.com/", "/p#%41"},
	{"http://example.com/", "/p#a b"},
	{"http://example.com/", "/p#a\tb"},
	{"http://example.com/", "/p#a\x01b"},
	{"http://example.com/", "/p#a\x7fb"},
	{"http://example.com/", "/p#é"},
	{"http://example.com/", "/p#a#b"},
	{"http://example.com/", "/p#?x=/y:z@[]!$&'()*+,;=\"<>\\^`{|}"},
	{"http://example.com/", "http://other.example#%zz"},
	{"http://example.com/", "http://other.example/p#%zz"},
	// Bases: other hosts (as a <base> makes them), ports, case, userinfo.
	{"http://other.example/dir/page", "/p"},
	{"https://example.com:8443/", "/p"},
	{"http://example.com:80/", "/p"},
	{"http://example.com:0080/", "/p"},
	{"https://example.com:443/", "/p"},
	{"http://example.com:08080/", "/p"},
	{"http://example.com:/", "/p"},
	{"http://example.com:0/", "/p"},
	{"http://Example.com/", "/p"},
	{"HTTP://example.com/", "/p"},
	{"http://example.com./", "/p"},
	{"http://example..com/", "/p"},
	{"http://user:pass@example.com/", "/p"},
	{"http://[::1]/", "/p"},
	{"http://[::1]:8080/", "/p"},
	{"http://[0:0::1]/", "/p"},
	{"http://bücher.example/", "/p"},
	{"http://xn--bcher-kva.example/", "/p"},
	{"http://example.com/a?q#f", "/p"},
	{"http://example.com", "/p"},
	{"ftp://example.com/", "/p"},
	{"mailto:x@y", "/p"},
	{"http:opaque", "/p"},
	{"/relative/base", "/p"},
	{"", "/p"},
	{"", "http://other.example/p"},
}

// slowLink is what link did for href before fastKey: resolve against base,
// Normalize, then urlpath.StringIs or String. ok is false when link leaves href
// out.
func slowLink(base *url.URL, href string) (u, key, host string, ok bool) {
	v, ok := resolve(base, href)
	if !ok {
		return "", "", "", false
	}
	v.Fragment, v.RawFragment = "", ""
	key, host, err := Normalize(v)
	if err != nil {
		return "", "", "", false
	}
	u = key
	if !urlpath.StringIs(v, key) {
		u = v.String()
	}
	return u, key, host, true
}

// fastLink is fastKey's answer for href against base, as link uses it.
func fastLink(base *url.URL, href string) (u, key, host string, ok bool) {
	var l linker
	l.base = base
	l.origin, l.hostStart = fastOrigin(base)
	var buf [128]byte
	k, n, hs, he, ok := l.fastKey(buf[:0], href)
	if !ok {
		return "", "", "", false
	}
	key = string(k)
	return key[:n], key, key[hs:he], true
}

// checkLinkFastPath fails t unless fastKey gives, for href against the URL
// that base parses to, no answer or the slow path's.
func checkLinkFastPath(t *testing.T, base, href string) {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		return
	}
	fu, fkey, fhost, fok := fastLink(b, href)
	if !fok {
		return
	}
	su, skey, shost, sok := slowLink(b, href)
	if !sok {
		t.Fatalf("href %q against %q: the fast path gives (%q, %q, %q), the slow path leaves it out", href, base, fu, fkey, fhost)
	}
	if fu != su || fkey != skey || fhost != shost {
		t.Fatalf("href %q against %q: the fast path gives (%q, %q, %q), the slow path (%q, %q, %q)", href, base, fu, fkey, fhost, su, skey, shost)
	}
}

func FuzzLinkFastPath(f *testing.F) {
	for _, s := range fastLinkSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(checkLinkFastPath)
}

// TestLinkFastPathSeeds runs the differential check on the seeds, with
// each href also tried against each base.
func TestLinkFastPathSeeds(t *testing.T) {
	for _, b := range fastLinkSeeds {
		for _, h := range fastLinkSeeds {
			checkLinkFastPath(t, b[0], h[1])
		}
	}
}

// TestLinkFastPathApplies: the fast path takes the shapes of the synthetic
// site's links and of the usual page, so that it cannot silently stop
// applying.
func TestLinkFastPathApplies(t *testing.T) {
	for _, tc := range []struct {
		base, href     string
		url, key, host string
	}{
		{"http://h0.bench.test/p/0", "http://h1.bench.test/p/6433", "http://h1.bench.test/p/6433", "http://h1.bench.test/p/6433", "h1.bench.test"},
		{"http://h0.bench.test/p/0", "/p/19056", "http://h0.bench.test/p/19056", "http://h0.bench.test/p/19056", "h0.bench.test"},
		{"http://h0.bench.test/p/0", "/p/19740#s15", "http://h0.bench.test/p/19740", "http://h0.bench.test/p/19740", "h0.bench.test"},
		{"http://h0.bench.test/p/0", "http://offsite.test/p/12#x", "http://offsite.test/p/12", "http://offsite.test/p/12", "offsite.test"},
		{"http://h0.bench.test/p/0", "https://h1.bench.test", "https://h1.bench.test", "https://h1.bench.test/", "h1.bench.test"},
		{"http://h0.bench.test/p/0", "/", "http://h0.bench.test/", "http://h0.bench.test/", "h0.bench.test"},
		{"https://www.example.com:8443/a?b", "/static/css/main.css", "https://www.example.com:8443/static/css/main.css", "https://www.example.com:8443/static/css/main.css", "www.example.com:8443"},
		{"https://www.example.com/", "/a/b#c/d?e", "https://www.example.com/a/b", "https://www.example.com/a/b", "www.example.com"},
	} {
		u, key, host, ok := fastLink(mustURL(t, tc.base), tc.href)
		if !ok || u != tc.url || key != tc.key || host != tc.host {
			t.Errorf("href %q against %q: fast path gives (%q, %q, %q, %v), want (%q, %q, %q, true)",
				tc.href, tc.base, u, key, host, ok, tc.url, tc.key, tc.host)
		}
		checkLinkFastPath(t, tc.base, tc.href)
	}
}

// TestLinkFastPathSynthetic: the fast path takes every link of the
// synthetic site, and links gives what the slow path alone gives.
func TestLinkFastPathSynthetic(t *testing.T) {
	for i := range benchSite.Pages {
		page := mustURL(t, benchSite.URL(i))
		for _, href := range benchSite.Hrefs(i) {
			if _, _, _, ok := fastLink(page, href); !ok {
				t.Errorf("page %s: the fast path does not take %q", page, href)
			}
		}
		s, _ := tokens(benchSite.Page(i), true, scanConfig{})
		got := links(page, page, s.refs)
		want := slowLinks(page, s.refs)
		if len(got) != len(want) {
			t.Fatalf("page %s: %d links, want %d", page, len(got), len(want))
		}
		for j := range got {
			if got[j] != want[j] {
				t.Errorf("page %s: link %d is %+v, want %+v", page, j, got[j], want[j])
			}
		}
	}
}

// slowLinks is links with only the slow path, for pages of plain links
// (no guess refs): the Links in order of first occurrence of their keys,
// the page's own left out.
func slowLinks(page *url.URL, refs []ref) []Link {
	self, _, _ := Normalize(page)
	var out []Link
	seen := map[string]int{}
	for _, r := range refs {
		u, key, host, ok := slowLink(page, r.href)
		if !ok || key == self {
			continue
		}
		i, dup := seen[key]
		if !dup {
			i = len(out)
			seen[key] = i
			out = append(out, Link{URL: u, Key: key, Host: host, NoFollow: true,
				Kind: r.kind, Source: sourceName(r.src, r.nest), Method: methodNames[r.method]})
		}
		if !r.noFollow {
			out[i].NoFollow = false
		}
	}
	return out
}
