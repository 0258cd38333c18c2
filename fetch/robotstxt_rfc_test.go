package fetch

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// check is one URL (path, query and all, as written after the host) and
// whether it may be fetched.
type check struct {
	path  string
	allow bool
}

// rfcCase is a robots.txt file and what it allows to an agent.
type rfcCase struct {
	name   string
	agent  string // "" means "trawl"
	robots string
	checks []check
}

// rfcCases exercises RFC 9309 through parseRobots and Allowed; the section
// a case comes from is in its name.
var rfcCases = []rfcCase{
	// §2.2.2: percent-encoded unreserved octets are decoded before
	// comparison; trawl also removes dot segments, as its normalizer does.
	{
		name:   "2.2.2 bypass spellings of a disallowed directory",
		robots: "User-agent: *\nDisallow: /robots/private/\n",
		checks: []check{
			{"/robots/private/leak", false},
			{"/robots/%70rivate/leak", false},
			{"/robots/%70%72ivate/x", false},
			{"/robots/%70%72%69%76%61%74%65/x", false},
			{"/robots/./private/x", false},
			{"/robots/pub/../private/x", false},
			{"/robots/%2E/private/x", false},
			{"/robots/%2e%2e/robots/private/x", false},
			{"/x/../robots/private/", false},
			{"/robots/private/?q=1", false},
			{"/robots/PRIVATE/x", true},    // paths are case-sensitive
			{"/robots/%2Fprivate/x", true}, // a reserved '/' stays encoded
			{"/robots/%2fprivate/x", true},
			{"/robots/private", true},
			{"/robots/", true},
		},
	},
	{
		name:   "2.2.2 example: query is part of the match",
		robots: "User-agent: *\nDisallow: /foo/bar?baz=quz\n",
		checks: []check{{"/foo/bar?baz=quz", false}, {"/foo/bar?baz=quz&x=1", false}, {"/foo/bar?baz=qu", true}, {"/foo/bar", true}},
	},
	{
		name:   "2.2.2 example: reserved characters in the query as written",
		robots: "User-agent: *\nDisallow: /foo/bar?baz=https://foo.bar\n",
		checks: []check{{"/foo/bar?baz=https://foo.bar", false}, {"/foo/bar?baz=https://foo.baz", true}},
	},
	{
		name:   "2.2.2 example: non-ASCII rule matches its UTF-8 escapes",
		robots: "User-agent: *\nDisallow: /foo/bar/ツ\n",
		checks: []check{{"/foo/bar/%E3%83%84", false}, {"/foo/bar/%e3%83%84", false}, {"/foo/bar/ツ", false}, {"/foo/bar/", true}},
	},
	{
		name:   "2.2.2 example: encoded non-ASCII rule",
		robots: "User-agent: *\nDisallow: /foo/bar/%E3%83%84\n",
		checks: []check{{"/foo/bar/%E3%83%84", false}, {"/foo/bar/ツ", false}},
	},
	{
		name:   "2.2.2 example: encoded unreserved rule",
		robots: "User-agent: *\nDisallow: /foo/bar/%62%61%7A\n",
		checks: []check{{"/foo/bar/baz", false}, {"/foo/bar/%62az", false}, {"/foo/bar/ba", true}},
	},
	{
		name:   "2.2.2 non-ASCII rule, either hex case in the URL",
		robots: "User-agent: *\nDisallow: /café\n",
		checks: []check{{"/caf%C3%A9", false}, {"/caf%c3%a9", false}, {"/café/menu", false}, {"/cafe", true}, {"/caf%C3%A8", true}},
	},
	{
		name:   "2.2.2 reserved escapes in rules compare with upper-case hex",
		robots: "User-agent: *\nDisallow: /a%2fb\nDisallow: /q?x=%3a\n",
		checks: []check{{"/a%2Fb", false}, {"/a%2fb/c", false}, {"/a/b", true}, {"/q?x=%3A", false}, {"/q?x=:", true}},
	},
	{
		name:   "2.2.2 rules are case-sensitive",
		robots: "User-agent: *\nDisallow: /Private\n",
		checks: []check{{"/Private/x", false}, {"/private/x", true}, {"/%50rivate", false}},
	},
	// §2.2.2: longest match wins; allow wins a tie.
	{
		name:   "2.2.2 longest match wins",
		robots: "User-agent: *\nDisallow: /\nAllow: /ok\nDisallow: /ok/no\n",
		checks: []check{{"/", false}, {"/ok", true}, {"/ok/yes", true}, {"/ok/no", false}, {"/ok/nope", false}},
	},
	{
		name:   "2.2.2 tie goes to allow, whatever the order",
		robots: "User-agent: *\nDisallow: /a\nAllow: /a\nAllow: /b\nDisallow: /b\n",
		checks: []check{{"/a", true}, {"/ab", true}, {"/b", true}},
	},
	{
		name:   "2.2.2 a wildcard counts as an octet: /c* outranks /c, /* outranks /",
		robots: "User-agent: *\nDisallow: /c*\nAllow: /c\nAllow: /\nDisallow: /*\n",
		checks: []check{{"/c/d", false}, {"/x", false}},
	},
	{
		name:   "2.2.2 length counts normalized octets",
		robots: "User-agent: *\nDisallow: /x/%61\nAllow: /x/ab\n",
		checks: []check{{"/x/ab", true}, {"/x/ac", false}},
	},
	{
		name:   "2.2.2 wildcard rule longer than the literal one",
		robots: "User-agent: *\nAllow: /page\nDisallow: /*.html\n",
		checks: []check{{"/page.html", false}, {"/page", true}, {"/page.htm", true}},
	},
	{
		name:   "2.2.2 allow root only",
		robots: "User-agent: *\nAllow: /$\nDisallow: /\n",
		checks: []check{{"/", true}, {"", true}, {"/?", true}, {"/?q=1", false}, {"/x", false}},
	},
	// §2.2.3: special characters.
	{
		name:   "2.2.3 end anchor",
		robots: "User-agent: *\nDisallow: /*.pdf$\n",
		checks: []check{{"/a.pdf", false}, {"/a/b/c.pdf", false}, {"/a.pdf?", false}, {"/a.pdf?x=1", true}, {"/a.pdfx", true}, {"/a.PDF", true}},
	},
	{
		name:   "2.2.3 wildcard anchored at the start, never in the middle",
		robots: "User-agent: *\nDisallow: /foo*bar\n",
		checks: []check{{"/x/foo/bar", true}, {"/foo/bar", false}, {"/foobar", false}, {"/foo/x/y/barn", false}, {"/foo", true}, {"/fo/bar", true}},
	},
	{
		name:   "2.2.3 wildcard in the query",
		robots: "User-agent: *\nDisallow: /*?sid=\n",
		checks: []check{{"/a?sid=1", false}, {"/a/b?sid=", false}, {"/?sid=x", false}, {"/a?%73id=1", false}, {"/a?x=1&sid=2", true}, {"/a", true}, {"/a?SID=1", true}},
	},
	{
		name:   "2.2.3 rule starting with a wildcard",
		robots: "User-agent: *\nDisallow: *.gif$\n",
		checks: []check{{"/a.gif", false}, {"/x/y/z.gif", false}, {"/a.gifs", true}},
	},
	{
		name:   "2.2.3 consecutive and trailing wildcards",
		robots: "User-agent: *\nDisallow: /a**b***\nAllow: /a**c\n",
		checks: []check{{"/axxb", false}, {"/ab", false}, {"/axc", true}, {"/a", true}},
	},
	{
		name:   "2.2.3 encoded special characters are literals",
		robots: "User-agent: *\nDisallow: /path/file-with-a-%2A.html\nDisallow: /path/foo-%24\nDisallow: /path/a$b\n",
		checks: []check{
			{"/path/file-with-a-*.html", false},
			{"/path/file-with-a-%2A.html", false},
			{"/path/file-with-a-%2a.html", false},
			{"/path/file-with-a-x.html", true},
			{"/path/foo-$", false},
			{"/path/foo-%24", false},
			{"/path/foo-", true},
			{"/path/foo-x", true},
			{"/path/a$b", false},
			{"/path/a%24b", false},
			{"/path/ab", true},
		},
	},
	{
		name:   "2.2.3 hostile wildcards stay fast",
		robots: "User-agent: *\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b\nDisallow: /*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c$\n",
		checks: []check{
			{"/" + strings.Repeat("a", 5000), true},
			{"/" + strings.Repeat("a", 5000) + "c?", false},
			{"/" + strings.Repeat("a", 5000) + "b" + strings.Repeat("a", 100), false},
		},
	},
	// §2.2.1: groups and user agents.
	{
		name:   "2.2.1 product token: trawlbot is not trawl",
		robots: "User-agent: trawlbot\nDisallow: /\n",
		checks: []check{{"/x", true}},
	},
	{
		name:   "2.2.1 product token: version and comment after the token",
		robots: "User-agent: Trawl/2.0 (+https://example.com)\nDisallow: /x\n\nUser-agent: *\nDisallow: /\n",
		checks: []check{{"/x", false}, {"/y", true}},
	},
	{
		name:   "2.2.1 groups for the same agent are merged, case-insensitively",
		robots: "User-agent: trawl\nDisallow: /a\n\nUser-agent: *\nDisallow: /s\n\nUser-agent: TRAWL\nDisallow: /b\nAllow: /a/ok\n",
		checks: []check{{"/a", false}, {"/b", false}, {"/a/ok", true}, {"/s", true}},
	},
	{
		name:   "2.2.1 star groups are merged",
		robots: "User-agent: *\nDisallow: /a\n\nUser-agent: other\nDisallow: /o\n\nUser-agent: *\nDisallow: /b\n",
		checks: []check{{"/a", false}, {"/b", false}, {"/o", true}},
	},
	{
		name:   "2.2.1 consecutive user-agent lines share a group, blank lines or not",
		robots: "User-agent: other\n\nUser-agent: trawl\n# note\nUser-agent: third\nDisallow: /shared\n",
		checks: []check{{"/shared", false}, {"/x", true}},
	},
	{
		name:   "2.2.1 a user-agent line after a rule starts a group",
		robots: "User-agent: trawl\nDisallow: /t\nUser-agent: other\nDisallow: /o\n",
		checks: []check{{"/t", false}, {"/o", true}},
	},
	{
		name:   "2.2.1 an empty Disallow still ends the user-agent lines",
		robots: "User-agent: trawl\nDisallow:\nUser-agent: other\nDisallow: /\n",
		checks: []check{{"/", true}, {"/x", true}},
	},
	{
		name:   "2.2.1 own empty group beats the star group",
		robots: "User-agent: *\nDisallow: /\n\nUser-agent: trawl\nAllow: /\n",
		checks: []check{{"/x", true}},
	},
	{
		name:   "2.2.1 a group naming trawl and * is trawl's",
		robots: "User-agent: *\nDisallow: /s\n\nUser-agent: *\nUser-agent: trawl\nDisallow: /t\n",
		checks: []check{{"/t", false}, {"/s", true}},
	},
	{
		name:   "2.2.1 rules before any user-agent are ignored",
		robots: "Disallow: /\nAllow: /x\nCrawl-delay: 9\nUser-agent: *\nDisallow: /y\n",
		checks: []check{{"/a", true}, {"/y", false}},
	},
	{
		name:   "2.2.1 no group for us and no star group allows all",
		robots: "User-agent: otherbot\nDisallow: /\n",
		checks: []check{{"/", true}, {"/x", true}},
	},
	{
		name:   "2.2.2 empty Disallow is ignored",
		robots: "User-agent: *\nDisallow:\nDisallow:   # nothing\n",
		checks: []check{{"/", true}, {"/x", true}},
	},
	{
		name:   "rule without a leading slash gets one",
		robots: "User-agent: *\nDisallow: private\nDisallow: %2Fenc\n",
		checks: []check{{"/private", false}, {"/privateer", false}, {"/x/private", true}, {"/%2Fenc", false}},
	},
	{
		name:   "robots.txt is always allowed",
		robots: "User-agent: *\nDisallow: /\nDisallow: /robots.txt\n",
		checks: []check{{"/robots.txt", true}, {"/robots.txt?x=1", true}, {"/%72obots.txt", true}, {"/robots.txtx", false}, {"/", false}},
	},
	// §5: the RFC's examples.
	{
		name:   "5.1 simple example: foobot",
		agent:  "foobot",
		robots: rfcSimpleExample,
		checks: []check{{"/", false}, {"/example/page.html", true}, {"/example/allowed.gif", true}, {"/example/other", false}, {"/publications/x", false}, {"/x.gif", false}},
	},
	{
		name:   "5.1 simple example: barbot",
		agent:  "barbot",
		robots: rfcSimpleExample,
		checks: []check{{"/example/page.html", false}, {"/example/other", true}, {"/x.gif", true}},
	},
	{
		name:   "5.1 simple example: bazbot",
		agent:  "bazbot",
		robots: rfcSimpleExample,
		checks: []check{{"/example/page.html", false}, {"/example/other", true}},
	},
	{
		name:   "5.1 simple example: quxbot (empty group)",
		agent:  "quxbot",
		robots: rfcSimpleExample,
		checks: []check{{"/example/page.html", true}, {"/x.gif", true}},
	},
	{
		name:   "5.1 simple example: any other crawler",
		robots: rfcSimpleExample,
		checks: []check{{"/x.gif", false}, {"/a/b.gif", false}, {"/example/x", false}, {"/publications/x", true}, {"/", true}},
	},
	{
		name:   "5.2 longest match",
		agent:  "foobot",
		robots: "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n",
		checks: []check{{"/example/page/", true}, {"/example/page/other.gif", true}, {"/example/page/disallowed.gif", false}},
	},
	// Path and query normalization on the URL side.
	{
		name:   "empty path and empty query",
		robots: "User-agent: *\nDisallow: /$\nDisallow: /a$\n",
		checks: []check{{"", false}, {"/", false}, {"/?", false}, {"/a?", false}, {"/a?b", true}, {"/a/", true}},
	},
	// Syntax.
	{
		name:   "misspelled keys",
		robots: "useragent: trawl\ndissallow: /a\ndissalow: /b\ndisalow: /c\ndiasllow: /d\ndisallaw: /e\nDISALLOW : /f\n",
		checks: []check{{"/a", false}, {"/b", false}, {"/c", false}, {"/d", false}, {"/e", false}, {"/f", false}, {"/g", true}},
	},
	{
		name:   "user agent with a space",
		robots: "user agent: trawl\nDisallow: /a\n",
		checks: []check{{"/a", false}},
	},
	{
		name:   "key and value without a colon",
		robots: "User-agent *\nDisallow /a\nDisallow /b /c\nAllow\t/a/b\n",
		checks: []check{{"/a", false}, {"/a/b", true}, {"/b", true}, {"/c", true}},
	},
	{
		name:   "unknown keys are ignored and do not end the user-agent lines",
		robots: "User-agent: other\nNoindex: /x\nUser-agent: trawl\nDisallow: /a\n",
		checks: []check{{"/a", false}, {"/x", true}},
	},
	{
		name:   "byte order mark",
		robots: "\xEF\xBB\xBFUser-agent: *\nDisallow: /x\n",
		checks: []check{{"/x", false}, {"/y", true}},
	},
	{
		name:   "CR line ends",
		robots: "User-agent: *\rDisallow: /x\rAllow: /x/y\r",
		checks: []check{{"/x", false}, {"/x/y", true}},
	},
	{
		name:   "CRLF line ends, blank lines and whitespace",
		robots: "\r\n  User-agent:\t*  \r\n\r\n\tDisallow :  /x y  \r\n",
		checks: []check{{"/x%20y", false}, {"/x y", false}, {"/x", true}},
	},
	{
		name:   "comments",
		robots: "# User-agent: *\n# Disallow: /\nUser-agent: * # all\nDisallow: /a#b\n",
		checks: []check{{"/a", false}, {"/b", true}},
	},
}

const rfcSimpleExample = `User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot

EOF
`

func TestRobotsRFC9309(t *testing.T) {
	for _, tc := range rfcCases {
		t.Run(tc.name, func(t *testing.T) {
			agent := tc.agent
			if agent == "" {
				agent = "trawl"
			}
			r := parseRobots([]byte(tc.robots), agent)
			for _, c := range tc.checks {
				u, err := url.Parse("http://example.com" + c.path)
				if err != nil {
					t.Fatal(err)
				}
				if got := r.Allowed(u); got != c.allow {
					t.Errorf("Allowed(%q): got %v, want %v", c.path, got, c.allow)
				}
			}
		})
	}
}

func TestRobotsAllowedURLValues(t *testing.T) {
	r := parseRobots([]byte("User-agent: *\nDisallow: /a/b\nDisallow: /x%2Fy\n"), "trawl")
	tests := []struct {
		name string
		u    *url.URL
		want bool
	}{
		{"path without slash", &url.URL{Path: "a/b"}, false},
		{"empty", &url.URL{}, true},
		{"inconsistent RawPath ignored", &url.URL{Path: "/a/b", RawPath: "/c"}, false},
		{"encoded slash kept from RawPath", &url.URL{Path: "/x/y", RawPath: "/x%2Fy"}, false},
		{"decoded slash", &url.URL{Path: "/x/y"}, true},
		{"ForceQuery", &url.URL{Path: "/a/b", ForceQuery: true}, false},
		{"raw bytes in the query", &url.URL{Path: "/a/b", RawQuery: "q=a b\x00"}, false},
	}
	for _, tc := range tests {
		if got := r.Allowed(tc.u); got != tc.want {
			t.Errorf("%s: Allowed(%#v): got %v, want %v", tc.name, tc.u, got, tc.want)
		}
	}
}

func TestCompileRule(t *testing.T) {
	tests := []struct {
		in, pattern string
	}{
		{"/a", "/a"},
		{"a", "/a"},
		{"*a", "*a"},
		{"/a**b", "/a*b"},
		{"/a*", "/a"},
		{"/a***", "/a"},
		{"/a*$", "/a"},
		{"/*", "/"},
		{"*", ""},
		{"$", "/$"},
		{"/a$", "/a$"},
		{"/a$$", "/a$$"},
		{"/a$*", "/a$*"},
		{"/a$b", "/a$b"},
		{"/%7e%41%2f%2a%c3%A9", "/~A%2F%2A%C3%A9"},
		{"/é ü", "/%C3%A9%20%C3%BC"},
		{"/100%", "/100%25"},
		{"/a/../b/./c", "/a/../b/./c"},
		{"/a?b=c&d", "/a?b=c&d"},
	}
	for _, tc := range tests {
		r, ok := compileRule(tc.in, false)
		if !ok || r.pattern != tc.pattern {
			t.Errorf("compileRule(%q): got %q, %v, want %q, true", tc.in, r.pattern, ok, tc.pattern)
		}
	}
	if r, ok := compileRule("", true); ok {
		t.Errorf("compileRule(\"\"): got %+v, true, want false", r)
	}
}

func TestParseRobotsCrawlDelay(t *testing.T) {
	tests := []struct {
		name, robots string
		want         time.Duration
		hasRules     bool
	}{
		{"integer", "User-agent: *\nCrawl-delay: 10\n", 10 * time.Second, true},
		{"fraction", "User-agent: *\nCrawl-delay: 0.5\n", 500 * time.Millisecond, true},
		{"leading dot", "User-agent: *\nCrawl-delay: .25\n", 250 * time.Millisecond, true},
		{"trailing dot", "User-agent: *\nCrawl-delay: 3.\n", 3 * time.Second, true},
		{"beyond nanoseconds", "User-agent: *\nCrawl-delay: 1.0000000019\n", time.Second + 1, true},
		{"zero", "User-agent: *\nCrawl-delay: 0\n", 0, true},
		{"misspelled", "User-agent: *\ncrawldelay: 2\n", 2 * time.Second, true},
		{"huge", "User-agent: *\nCrawl-delay: 99999999999999999999999\n", math.MaxInt64, true},
		{"largest", "User-agent: *\nCrawl-delay: 9223372036.854775807\n", math.MaxInt64, true},
		{"just too large", "User-agent: *\nCrawl-delay: 9223372036.854775808\n", math.MaxInt64, true},
		{"negative", "User-agent: *\nCrawl-delay: -1\n", 0, false},
		{"exponent", "User-agent: *\nCrawl-delay: 1e3\n", 0, false},
		{"words", "User-agent: *\nCrawl-delay: soon\n", 0, false},
		{"unit", "User-agent: *\nCrawl-delay: 5s\n", 0, false},
		{"dot only", "User-agent: *\nCrawl-delay: .\n", 0, false},
		{"empty", "User-agent: *\nCrawl-delay:\n", 0, false},
		{"two dots", "User-agent: *\nCrawl-delay: 1.2.3\n", 0, false},
		{"last valid wins", "User-agent: *\nCrawl-delay: 5\nCrawl-delay: 7\nCrawl-delay: x\n", 7 * time.Second, true},
		{"own group's", "User-agent: *\nCrawl-delay: 5\n\nUser-agent: trawl\nCrawl-delay: 2\n", 2 * time.Second, true},
		{"own group without one", "User-agent: *\nCrawl-delay: 5\n\nUser-agent: trawl\nDisallow: /x\n", 0, true},
		{"merged groups: the last", "User-agent: trawl\nCrawl-delay: 5\nUser-agent: x\nDisallow: /\nUser-agent: trawl\nCrawl-delay: 3\n", 3 * time.Second, true},
		{"ends the user-agent lines", "User-agent: other\nCrawl-delay: 5\nUser-agent: trawl\nDisallow: /x\n", 0, true},
		{"other agent's", "User-agent: slowbot\nCrawl-delay: 60\n", 0, false},
		{"before any user-agent", "Crawl-delay: 5\nUser-agent: *\nDisallow: /x\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRobots([]byte(tc.robots), "trawl")
			if got := r.CrawlDelay(); got != tc.want {
				t.Errorf("CrawlDelay: got %v, want %v", got, tc.want)
			}
			if got := r.hasRules(); got != tc.hasRules {
				t.Errorf("hasRules: got %v, want %v", got, tc.hasRules)
			}
		})
	}
}

func TestRobotsHasRules(t *testing.T) {
	tests := []struct {
		robots string
		want   bool
	}{
		{"", false},
		{"# nothing\n", false},
		{"User-agent: *\n", false},
		{"User-agent: *\nDisallow:\n", false},
		{"User-agent: other\nDisallow: /\n", false},
		{"Sitemap: https://example.com/s.xml\n", false},
		{"User-agent: *\nAllow: /\n", true},
		{"User-agent: *\nDisallow: /\n", true},
	}
	for _, tc := range tests {
		if got := parseRobots([]byte(tc.robots), "trawl").hasRules(); got != tc.want {
			t.Errorf("parseRobots(%q).hasRules(): got %v, want %v", tc.robots, got, tc.want)
		}
	}
	var nilRobots *Robots
	if nilRobots.hasRules() || (&Robots{}).hasRules() {
		t.Error("nil or zero Robots: got hasRules true, want false")
	}
}

func TestRobotsSitemaps(t *testing.T) {
	robots := "Sitemap: https://example.com/a.xml\n" +
		"User-agent: other\nDisallow: /\nSITEMAP: https://example.com/b.xml # in another group\n" +
		"site-map: http://cdn.example.net/c.xml?x=1\n" +
		"Sitemap: https://example.com/a.xml\n" + // repeat
		"Sitemap: /relative.xml\n" + // not absolute
		"Sitemap: ftp://example.com/d.xml\n" +
		"Sitemap:\n" +
		"Sitemap https://example.com/e.xml\n" + // key "Sitemap https", as for Google
		"User-agent: trawl\nSitemap: https://example.com/f.xml\nDisallow: /x\n"
	want := []string{
		"https://example.com/a.xml",
		"https://example.com/b.xml",
		"http://cdn.example.net/c.xml?x=1",
		"https://example.com/f.xml",
	}
	r := parseRobots([]byte(robots), "trawl")
	if got := r.Sitemaps(); !slices.Equal(got, want) {
		t.Errorf("Sitemaps: got %q, want %q", got, want)
	}
	r.Sitemaps()[0] = "changed"
	if got := r.Sitemaps()[0]; got != want[0] {
		t.Errorf("Sitemaps after changing a returned slice: got %q first, want %q", got, want[0])
	}
	// A sitemap line between user-agent lines does not split the group.
	if r.Allowed(&url.URL{Path: "/x"}) {
		t.Error("Allowed(/x): got true, want false")
	}

	var b strings.Builder
	for i := range robotsMaxSitemaps + 200 {
		fmt.Fprintf(&b, "Sitemap: https://example.com/s%d.xml\n", i)
	}
	got := parseRobots([]byte(b.String()), "trawl").Sitemaps()
	if len(got) != robotsMaxSitemaps || got[robotsMaxSitemaps-1] != fmt.Sprintf("https://example.com/s%d.xml", robotsMaxSitemaps-1) {
		t.Errorf("Sitemaps of %d lines: got %d, last %q; want the first %d", robotsMaxSitemaps+200, len(got), got[len(got)-1], robotsMaxSitemaps)
	}
	var nilRobots *Robots
	if got := nilRobots.Sitemaps(); got != nil {
		t.Errorf("nil Robots: got Sitemaps %q, want nil", got)
	}
}

func TestRobotsAllowedAllocs(t *testing.T) {
	r := parseRobots([]byte(benchRobots), "trawl")
	for _, raw := range []string{
		"https://www.example.com/blog/2024/05/an-article-title",
		"https://www.example.com/products/widget?id=42&color=red",
		"https://www.example.com/blog/./2024/../2024/%7eitem?q=%2a",
		"https://www.example.com/collections/mugs%2Bcups",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { r.Allowed(u) }); n != 0 {
			t.Errorf("Allowed(%s): got %v allocations, want 0", raw, n)
		}
	}
}

// benchRobots is a realistic robots.txt with 30 rules for trawl.
const benchRobots = `# robots.txt for www.example.com
User-agent: Googlebot
Disallow: /nogoogle/

User-agent: *
Disallow: /admin/
Disallow: /cart
Disallow: /checkout
Disallow: /account/
Disallow: /search
Disallow: /*?sort=
Disallow: /*&sort=
Disallow: /*?sessionid=
Disallow: /*.json$
Disallow: /api/
Allow: /api/public/
Disallow: /tmp/
Disallow: /cgi-bin/
Disallow: /wp-admin/
Allow: /wp-admin/admin-ajax.php
Disallow: /*/print$
Disallow: /collections/*+*
Disallow: /collections/*%2B*
Disallow: /blogs/*/tagged/
Disallow: /private
Disallow: /login
Disallow: /register
Disallow: /*.pdf$
Disallow: /downloads/*.zip
Allow: /downloads/free/
Disallow: /internal/
Disallow: /staging/
Disallow: /preview/
Disallow: /*?ref=
Disallow: /feed/
Crawl-delay: 1

Sitemap: https://www.example.com/sitemap.xml
`

func BenchmarkRobotsAllowed(b *testing.B) {
	r := parseRobots([]byte(benchRobots), "trawl")
	for _, bc := range []struct{ name, url string }{
		{"Path", "https://www.example.com/blog/2024/05/an-article-title"},
		{"Query", "https://www.example.com/products/widget?id=42&color=red"},
		{"Disallowed", "https://www.example.com/admin/users"},
		{"Messy", "https://www.example.com/blog/./2024/../2024/%7eitem?q=%2a"},
	} {
		u, err := url.Parse(bc.url)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Allowed(u)
			}
		})
	}
}

func BenchmarkParseRobots(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchRobots)))
	for b.Loop() {
		parseRobots([]byte(benchRobots), "trawl")
	}
}
