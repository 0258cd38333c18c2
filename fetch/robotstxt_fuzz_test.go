package fetch

import (
	"bytes"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"trawl/internal/urlpath"
)

// FuzzRobotsSpellings checks, for a robots.txt file and a path (with an
// optional query), that:
//   - parseRobots and Allowed never panic, whatever the file and URL;
//   - every spelling of the URL that trawl's normalizer treats as the same
//     page (unreserved characters percent-encoded, escapes in another hex
//     case, "./" and "x/../" inserted, an empty '?' added) gets the verdict
//     of the original;
//   - each rule matches exactly when a simple reference matcher on the
//     rule's pattern says it does, and the verdict is that of the longest
//     matching rule, an allow winning a tie.
//
// seed drives the choice of spellings. go test runs the seed corpus only;
// run the fuzzer with
//
//	go test -run '^$' -fuzz FuzzRobotsSpellings -fuzztime 3m ./fetch
func FuzzRobotsSpellings(f *testing.F) {
	f.Add("User-agent: *\nDisallow: /robots/private/\n", "/robots/private/leak", uint64(1))
	f.Add("User-agent: *\nDisallow: /robots/private/\nAllow: /robots/private/ok$\n", "/robots/pub/../private/ok", uint64(2))
	f.Add("User-agent: *\nDisallow: /*?sid=\nAllow: /a/*.html$\n", "/a/b.html?sid=1", uint64(3))
	f.Add("User-agent: trawl\nDisallow: /caf%C3%A9\n", "/café/x", uint64(4))
	f.Add("User-agent: *\nDisallow: /foo*bar\nAllow: /foo/\n", "/foo/x/bar", uint64(5))
	f.Add("User-agent: *\nDisallow: /a%2Fb\n", "/a%2fb/c?q=%7e", uint64(6))
	f.Add("User-agent: *\nDisallow: /*.pdf$\n", "/x/y.pdf", uint64(7))
	f.Add("User-agent: *\nDisallow: /x/../y\nDisallow: /y$\n", "/x/../y", uint64(8))
	f.Add("User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*b\n", "/"+strings.Repeat("a", 300)+"b", uint64(9))
	f.Add("\xEF\xBB\xBFuser-agent: *\rdisallow: /%2e%2E/x\r", "/./x", uint64(10))
	f.Add("User-agent: *\nDisallow: /path/file-with-a-%2A.html\nDisallow: /p$q\nDisallow: /r-%24\n", "/path/file-with-a-*.html", uint64(11))
	f.Add("User-agent: Trawl/1.0\nAllow: /\nDisallow: /*$\nDisallow: /~user/\n", "/%7Euser/%7e?", uint64(12))
	f.Add("useragent trawl\ndisalow /a?b\n", "/a?b=%41%2b", uint64(13))
	f.Add("User-agent: *\nDisallow: /é\n", "/%C3%A9/..", uint64(14))
	f.Add("User-agent: *\nDisallow: /a b\"<>\n", "/a%20b%22%3C%3E", uint64(15))

	f.Fuzz(func(t *testing.T, robots, path string, seed uint64) {
		r := parseRobots([]byte(robots), "trawl")
		// Arbitrary url.URL values must not panic.
		r.Allowed(&url.URL{Path: path, RawPath: path, RawQuery: path})
		r.Allowed(&url.URL{Path: path, RawQuery: robots})
		r.Sitemaps()
		r.CrawlDelay()

		if !strings.HasPrefix(path, "/") || len(path) > 2000 {
			return
		}
		u, err := url.Parse("http://example.com" + path)
		if err != nil {
			return
		}
		want := r.Allowed(u)
		p, q := urlpath.Escaped(u), u.RawQuery
		key := urlpath.AppendPathQuery(nil, p, q)
		if r.group != nil && !isRobotsTxt(key) {
			if ref, ok := referenceVerdict(t, r.group.rules, string(key)); ok && want != ref {
				t.Fatalf("Allowed(%q): got %v, reference matcher says %v", key, want, ref)
			}
		}

		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		for range 8 {
			s := respell(rng, p, q)
			v, err := url.Parse("http://example.com" + s)
			if err != nil {
				t.Fatalf("spelling %q of %q does not parse: %v", s, path, err)
			}
			if got := urlpath.AppendPathQuery(nil, urlpath.Escaped(v), v.RawQuery); !bytes.Equal(got, key) {
				t.Fatalf("spelling %q normalizes to %q, %q to %q; want the same", s, got, path, key)
			}
			if got := r.Allowed(v); got != want {
				t.Errorf("Allowed(%q): got %v, want %v as for %q", s, got, want, path)
			}
		}
	})
}

func isRobotsTxt(key []byte) bool {
	k, _, _ := bytes.Cut(key, []byte("?"))
	return string(k) == "/robots.txt"
}

// respell writes the escaped path p and query q (no '?' if empty) another
// way that normalizes the same: unreserved characters percent-encoded,
// escapes in random hex case, "./" and "x/../" inserted after a '/' of the
// path, an empty query added.
func respell(rng *rand.Rand, p, q string) string {
	var b strings.Builder
	respellPart(&b, rng, p, true)
	switch {
	case q != "":
		b.WriteByte('?')
		respellPart(&b, rng, q, false)
	case rng.IntN(2) == 0:
		b.WriteByte('?')
	}
	return b.String()
}

func respellPart(b *strings.Builder, rng *rand.Rand, s string, path bool) {
	hex := func(c byte) byte {
		const lower, upper = "0123456789abcdef", "0123456789ABCDEF"
		if rng.IntN(2) == 0 {
			return lower[c]
		}
		return upper[c]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]):
			b.WriteByte('%')
			b.WriteByte(flipCase(rng, s[i+1]))
			b.WriteByte(flipCase(rng, s[i+2]))
			i += 2
		case urlpath.IsUnreserved(c) && rng.IntN(4) == 0:
			b.WriteByte('%')
			b.WriteByte(hex(c >> 4))
			b.WriteByte(hex(c & 15))
		default:
			b.WriteByte(c)
		}
		if path && c == '/' {
			switch rng.IntN(8) {
			case 0:
				b.WriteString("./")
			case 1:
				b.WriteString("x/../")
			case 2:
				b.WriteString("%2e/")
			case 3:
				b.WriteString("%78/%2E%2e/")
			}
		}
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func flipCase(rng *rand.Rand, c byte) byte {
	if rng.IntN(2) == 0 {
		return c
	}
	switch {
	case 'a' <= c && c <= 'f':
		return c - 'a' + 'A'
	case 'A' <= c && c <= 'F':
		return c - 'A' + 'a'
	}
	return c
}

// referenceVerdict is Allowed's verdict for the normalized path and query
// key computed the slow way: every rule's pattern is matched against key
// by referenceMatch, and the matching rule with the most octets wins, an allow
// winning a tie. It also checks matchRule against referenceMatch, rule by
// rule. ok is false if a rule was too large to check.
func referenceVerdict(t *testing.T, rules []robotsRule, key string) (allow, ok bool) {
	best := -1
	allow = true
	for _, rule := range rules {
		m, ok := referenceMatch(rule.pattern, key)
		if !ok {
			return false, false
		}
		if got := matchRule(&rule, key); got != m {
			t.Fatalf("rule %q on %q: got match %v, reference says %v", rule.pattern, key, got, m)
		}
		if m && (rule.octets > best || rule.octets == best && rule.allow) {
			best, allow = rule.octets, rule.allow
		}
	}
	return allow, true
}

// referenceMatch matches a normalized rule pattern against a normalized
// path and query by memoized recursion over (pattern, text) positions,
// reading the pattern's syntax from its text: '*' matches any run of
// bytes, a final '$' anchors, "%2A" and "%24" (and a non-final '$') match
// the character raw or encoded. ok is false if the inputs are too large.
func referenceMatch(pattern, s string) (match, ok bool) {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	w := len(s) + 1
	if (len(pattern)+1)*w > 1<<18 {
		return false, false
	}
	memo := make([]int8, (len(pattern)+1)*w) // 0 unknown, 1 no, 2 yes
	var rec func(i, j int) bool
	rec = func(i, j int) bool {
		if v := memo[i*w+j]; v != 0 {
			return v == 2
		}
		var res bool
		switch {
		case i == len(pattern):
			res = !anchored || j == len(s)
		case pattern[i] == '*':
			res = rec(i+1, j) || j < len(s) && rec(i, j+1)
		default:
			alts, n := []string{pattern[i : i+1]}, 1
			switch {
			case strings.HasPrefix(pattern[i:], "%2A"):
				alts, n = []string{"*", "%2A"}, 3
			case strings.HasPrefix(pattern[i:], "%24"):
				alts, n = []string{"$", "%24"}, 3
			case pattern[i] == '$':
				alts = []string{"$", "%24"}
			}
			for _, a := range alts {
				if strings.HasPrefix(s[j:], a) && rec(i+n, j+len(a)) {
					res = true
					break
				}
			}
		}
		memo[i*w+j] = 1
		if res {
			memo[i*w+j] = 2
		}
		return res
	}
	return rec(0, 0), true
}
