// This file parses robots.txt files and matches URLs against their rules
// per RFC 9309 (the Robots Exclusion Protocol), tolerating what Google's
// open-source reference parser tolerates.
//
// Why trawl has its own parser: trawl was shown to fetch
// "/robots/%70rivate/leak" although robots.txt said
// "Disallow: /robots/private/", because RFC 9309 §2.2.2 wants the
// percent-encoded octets of unreserved characters decoded before comparison
// and github.com/temoto/robotstxt (the only Go robots.txt library the module
// proxy serves here) compares the escaped path as written. That library
// also compiles wildcard rules into unanchored regular expressions (so
// "Disallow: /foo*bar" matched "/x/foo/bar"), measures a rule's length on
// its regular expression instead of its pattern, lets a disallow beat an
// allow of the same length, rejects a whole file for one bad line, and
// picks a user-agent group by prefix of the whole User-Agent string instead
// of by product token. The URL side here is normalized exactly as
// parse.Normalize normalizes a path and query (trawl/internal/urlpath), so
// two URLs trawl treats as the same page always get the same verdict.

package fetch

import (
	"bytes"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"trawl/internal/urlpath"
)

// robotsMaxSitemaps caps the Sitemap lines a Robots keeps.
const robotsMaxSitemaps = 1000

// Robots holds the robots.txt rules of one origin that apply to the client's
// user agent. A nil or zero Robots allows everything. Robots is immutable
// and safe for concurrent use; most callers use Allowed.
type Robots struct {
	// group is the chosen group; nil when it has no rule and no
	// Crawl-delay, which allows everything. Test it with hasRules.
	group      *ruleGroup
	crawlDelay time.Duration
	sitemaps   []string                    // Sitemap URLs as written, in file order, distinct
	fetched    time.Time                   // when the file was fetched; zero if never (nil rules)
	exchanges  atomic.Pointer[[]*Exchange] // of the fetch that made it, with Config.Capture; taken once
}

// TakeExchanges returns, the first time it is called, the requests and
// responses of the fetch of robots.txt that produced r, redirect hops
// first, when the Client has Config.Capture set; later calls, and rules
// loaded from a RobotsCache or made without a response, return nil. A
// crawler archives them once however many callers share r.
func (r *Robots) TakeExchanges() []*Exchange {
	if r == nil {
		return nil
	}
	if p := r.exchanges.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// ruleGroup holds the rules of the user-agent group(s) chosen for the
// client's agent, merged.
type ruleGroup struct {
	// rules is sorted by precedence: longer patterns first, and an allow
	// before a disallow of the same length; the first match decides.
	rules []robotsRule
}

// robotsRule is one Allow or Disallow line, its pattern pre-normalized and
// compiled for matching.
type robotsRule struct {
	// pattern is the normalized pattern (see compileRule), kept for tests
	// and error messages.
	pattern string
	// octets is the length of the rule's value once percent-encoding is
	// normalized, wildcards included: RFC 9309's "most octets" precedence
	// (so Disallow: /* outranks Allow: /, as in Google's parser).
	octets int
	// match is pattern compiled for matching: '*' is the wildcard,
	// litStar and litDollar stand for a literal '*' or '$', every other
	// byte matches itself. The anchoring '$' is not in it (see anchored).
	match string
	// lit is the length of match's literal prefix (up to the first '*',
	// litStar or litDollar); lit == len(match) for a plain prefix rule.
	lit int
	// segs, for a rule whose only special bytes are '*', holds the
	// literal runs after the prefix, between '*'s; nil otherwise.
	segs     []string
	anchored bool // pattern ended in '$': match the whole path and query
	allow    bool
}

// Bytes that stand for a literal '*' or '$' in robotsRule.match: a literal
// '*' matches "*" or "%2A" in the URL, a literal '$' matches "$" or "%24".
// Control bytes never appear unencoded in a normalized rule.
const (
	litStar       = 0x01
	litDollar     = 0x02
	litStarDollar = "\x01\x02"
)

// Allowed reports whether u's path and query may be fetched. A nil or empty
// Robots allows everything, and /robots.txt itself is always allowed.
//
// The path and query are taken as the request sends them (u.RawPath when it
// is consistent, so "%2F" stays encoded) and normalized as parse.Normalize
// normalizes them: empty path is "/"; escapes of unreserved characters are
// decoded and other escapes upper-cased; bytes not allowed raw are
// percent-encoded; "." and ".." segments are removed; an empty query is
// none. Each rule matches from the start of that string ('*' matches any
// run of bytes, a final '$' anchors the end); the matching rule with the
// longest pattern wins, an allow winning a tie; no matching rule allows
// (RFC 9309 §2.2.2).
//
// Allowed does not allocate unless the path or query needs normalizing and
// the result is longer than 256 bytes.
func (r *Robots) Allowed(u *url.URL) bool {
	if r == nil || r.group == nil || len(r.group.rules) == 0 {
		return true
	}
	path, query := urlpath.Escaped(u), u.RawQuery
	if query == "" && urlpath.IsNormalPath(path) {
		return path == "/robots.txt" || allowedBy(r.group.rules, path)
	}
	var buf [256]byte
	b := urlpath.AppendPathQuery(buf[:0], path, query)
	// pq shares b's memory (on the stack unless b outgrew buf); it is
	// not kept beyond this call and b is not changed while it is in use.
	pq := unsafe.String(unsafe.SliceData(b), len(b))
	if p, _, _ := strings.Cut(pq, "?"); p == "/robots.txt" {
		return true
	}
	return allowedBy(r.group.rules, pq)
}

// CrawlDelay is the Crawl-delay of the chosen group, uncapped; zero if none
// or r is nil.
func (r *Robots) CrawlDelay() time.Duration {
	if r == nil {
		return 0
	}
	return r.crawlDelay
}

// Sitemaps returns the URLs of the file's Sitemap lines, whatever group
// they appear in: absolute http or https URLs as written, in file order,
// without repeats, at most 1,000. It returns nil if there are none or r is
// nil. The caller owns the returned slice.
func (r *Robots) Sitemaps() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.sitemaps)
}

// FetchedAt is when the robots.txt file these rules come from was fetched
// from the server (for rules kept in a RobotsCache, when that fetch was
// made); zero for a nil Robots. A caller that schedules requests itself
// can tell from it whether its call to Client.Robots made a request to the
// host.
func (r *Robots) FetchedAt() time.Time {
	if r == nil {
		return time.Time{}
	}
	return r.fetched
}

// hasRules reports whether r restricts anything or sets a Crawl-delay:
// whether the chosen group had an Allow or Disallow rule or a Crawl-delay.
// A Robots without is the same as an empty file (as far as rules go).
func (r *Robots) hasRules() bool {
	return r != nil && r.group != nil
}

// allowedBy reports the verdict of rules, sorted by precedence, for the
// normalized path and query pq.
func allowedBy(rules []robotsRule, pq string) bool {
	for i := range rules {
		if matchRule(&rules[i], pq) {
			return rules[i].allow
		}
	}
	return true
}

// matchRule reports whether rule matches the normalized path and query s:
// from its start, and to its end if the rule is anchored.
func matchRule(rule *robotsRule, s string) bool {
	lit := rule.match[:rule.lit]
	// Most prefixes start with '/': their second byte rejects most paths
	// before a full comparison.
	if len(s) < len(lit) || len(lit) > 1 && s[1] != lit[1] || s[:len(lit)] != lit {
		return false
	}
	s = s[len(lit):]
	switch {
	case rule.lit == len(rule.match):
		return !rule.anchored || s == ""
	case rule.segs != nil:
		return matchSegments(rule.segs, s, rule.anchored)
	}
	return glob(rule.match[rule.lit:], s, rule.anchored)
}

// matchSegments reports whether "*" + segs joined by "*" (+ "$" if
// anchored) matches a prefix of s. Each segment is found at its leftmost
// place after the previous one (strings.Index), which leaves the most room
// for the rest; the last one of an anchored pattern must end s. It takes
// O(len(s)·len(segs)) steps at worst.
func matchSegments(segs []string, s string, anchored bool) bool {
	var last string
	if anchored {
		last, segs = segs[len(segs)-1], segs[:len(segs)-1]
	}
	for _, seg := range segs {
		k := strings.Index(s, seg)
		if k < 0 {
			return false
		}
		s = s[k+len(seg):]
	}
	return !anchored || strings.HasSuffix(s, last)
}

// glob reports whether the compiled pattern p matches a prefix of s (all
// of s if anchored). It is the greedy two-pointer wildcard algorithm: on a
// mismatch it lets the last '*' absorb one more byte and retries from
// there. Once a later '*' has matched, an earlier one never needs to absorb
// more, so it takes O(len(p)·len(s)) steps at worst, never exponential
// time. It serves the rules with a literal '*' or '$' (see matchByte);
// matchSegments is faster for the others.
func glob(p, s string, anchored bool) bool {
	i, j := 0, 0        // next byte of p, of s
	star, mark := -1, 0 // p index after the last '*' seen; s index it resumes at
	for {
		if i == len(p) {
			if !anchored || j == len(s) {
				return true
			}
		} else if p[i] == '*' {
			i++
			star, mark = i, j
			continue
		} else if n := matchByte(p[i], s, j); n > 0 {
			i++
			j += n
			continue
		}
		if star < 0 || mark >= len(s) {
			return false
		}
		mark++
		i, j = star, mark
	}
}

// matchByte reports how many bytes of s at j the compiled pattern byte pc
// matches: 1 for an equal byte, 1 or 3 for a literal '*' or '$' ("*" or
// "%2A", "$" or "%24"), 0 for no match.
func matchByte(pc byte, s string, j int) int {
	if j >= len(s) {
		return 0
	}
	switch c := s[j]; pc {
	case c:
		return 1
	case litStar:
		if c == '*' {
			return 1
		}
		if strings.HasPrefix(s[j:], "%2A") {
			return 3
		}
	case litDollar:
		if c == '$' {
			return 1
		}
		if strings.HasPrefix(s[j:], "%24") {
			return 3
		}
	}
	return 0
}

// compileRule turns the value of an Allow or Disallow line into a rule;
// ok is false for an empty value, which RFC 9309 ignores.
//
// The value gets a leading '/' unless it starts with '/' or '*' (as
// temoto/robotstxt did: "Disallow: private" means "/private"). Its
// percent-encoding is normalized like a URL's (urlpath.AppendNormal:
// unreserved escapes decoded, hex upper-cased, non-ASCII and other bytes
// not allowed raw percent-encoded), but its dot segments are kept. Then
// runs of '*' become one '*', and a trailing '*' (or "*$") is dropped, since
// it matches the same paths: "/a**", "/a*", "/a*$" and "/a" are the same
// rule, length included. (A '*' right after a literal '$' stays, so that
// the pattern never reads as anchored when it is not.) The result is the
// rule's pattern; its length in bytes is the rule's precedence.
//
// In the pattern, '*' matches any run of bytes and a final '$' anchors the
// match at the end of the path and query; a '$' elsewhere is a literal '$'.
// To match the characters themselves a rule writes "%2A" and "%24" (RFC
// 9309 §2.2.3); since trawl keeps a URL's reserved characters as written,
// these literals (and a non-final '$') match the character raw or
// percent-encoded: "%2A" matches "*" and "%2A".
func compileRule(value string, allow bool) (robotsRule, bool) {
	if value == "" {
		return robotsRule{}, false
	}
	var b []byte
	if value[0] != '/' && value[0] != '*' {
		b = append(b, '/')
	}
	b = urlpath.AppendNormal(b, value)
	octets := len(b)
	// Collapse runs of '*'.
	w := 0
	for _, c := range b {
		if c == '*' && w > 0 && b[w-1] == '*' {
			continue
		}
		b[w] = c
		w++
	}
	b = b[:w]
	anchored := false
	if n := len(b); n > 0 && b[n-1] == '$' {
		anchored = true
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '*' && (n == 1 || b[n-2] != '$') {
		// A '*' after a literal '$' stays, so that the pattern does not
		// read as anchored.
		b = b[:n-1]
		anchored = false
	}
	rule := robotsRule{pattern: string(b), octets: octets, anchored: anchored, allow: allow}
	if anchored {
		rule.pattern += "$"
	}
	m := make([]byte, 0, len(b))
	rule.lit = -1
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '%' && i+2 < len(b) && b[i+1] == '2' && (b[i+2] == 'A' || b[i+2] == '4'):
			c = litStar
			if b[i+2] == '4' {
				c = litDollar
			}
			i += 2
		case c == '$':
			c = litDollar
		}
		if rule.lit < 0 && (c == '*' || c == litStar || c == litDollar) {
			rule.lit = len(m)
		}
		m = append(m, c)
	}
	if rule.lit < 0 {
		rule.lit = len(m)
	}
	rule.match = string(m)
	if rest := rule.match[rule.lit:]; rest != "" && !strings.ContainsAny(rest, litStarDollar) {
		rule.segs = strings.Split(rest[1:], "*") // rest[0] is '*'
	}
	return rule, true
}

// parseRobots parses a robots.txt body for agent, the lower-case product
// token of the client's User-Agent (such as "trawl"). It never fails: lines
// it cannot use are skipped, and a file with nothing usable allows all.
//
// Lines end in LF, CR or CRLF; a UTF-8 byte order mark at the start is
// skipped; '#' starts a comment. A line is "key: value", keys compared
// without case and with whitespace trimmed around key and value; like
// Google's parser it also accepts "key value" (exactly two words, no colon)
// and the misspellings "useragent", "user agent", "dissallow", "dissalow",
// "disalow", "diasllow", "disallaw", "crawldelay" and "site-map". Unknown
// keys are ignored.
//
// One or more User-agent lines start a group, whose rules (Allow, Disallow,
// Crawl-delay) follow until a User-agent line that comes after a rule;
// rules before the first User-agent line are ignored. The groups that name
// agent (compared without case against the product token of the
// User-agent value: the value up to the first byte not in [a-zA-Z_-], so
// "Trawl/2.0" names trawl and "trawlbot" does not) are merged; if there are
// none, the "*" groups are merged; if there are none either, everything is
// allowed (RFC 9309 §2.2.1).
//
// Allow and Disallow rules with an empty value are ignored; see compileRule
// for the rest. Crawl-delay is a non-negative decimal number of seconds
// ("10", "0.5"); invalid values are ignored, huge ones saturate, and the
// last valid one of the chosen groups counts. Sitemap lines count wherever
// they are (see Robots.Sitemaps).
func parseRobots(body []byte, agent string) *Robots {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	var (
		specific, star       ruleGroup
		specificDelay        time.Duration
		starDelay            time.Duration
		hasSpecificDelay     bool
		hasStarDelay         bool
		seenAgent, named     bool // a User-agent line at all; one naming agent
		inAgents             bool // the last group line was a User-agent line
		curSpecific, curStar bool // the current group names agent, or "*"
		sitemaps             []string
		seenSitemap          map[string]bool
	)
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexAny(body, "\r\n"); i >= 0 {
			line = body[:i]
			if body[i] == '\r' && i+1 < len(body) && body[i+1] == '\n' {
				i++
			}
			body = body[i+1:]
		} else {
			line, body = body, nil
		}
		key, value, ok := splitRobotsLine(line)
		if !ok {
			continue
		}
		k := robotsKey(key)
		switch k {
		case keyUserAgent:
			if !inAgents {
				curSpecific, curStar = false, false
				inAgents = true
			}
			seenAgent = true
			switch {
			case value == "*" || len(value) > 1 && value[0] == '*' && isSpace(value[1]):
				curStar = true
			default:
				if tok := robotsProductToken(value); tok != "" && strings.EqualFold(tok, agent) {
					curSpecific, named = true, true
				}
			}
		case keyAllow, keyDisallow:
			if !seenAgent {
				continue
			}
			inAgents = false
			if !curSpecific && !curStar {
				continue
			}
			rule, ok := compileRule(value, k == keyAllow)
			if !ok {
				continue
			}
			if curSpecific {
				specific.rules = append(specific.rules, rule)
			}
			if curStar {
				star.rules = append(star.rules, rule)
			}
		case keyCrawlDelay:
			if !seenAgent {
				continue
			}
			inAgents = false
			d, ok := parseCrawlDelay(value)
			if !ok {
				continue
			}
			if curSpecific {
				specificDelay, hasSpecificDelay = d, true
			}
			if curStar {
				starDelay, hasStarDelay = d, true
			}
		case keySitemap:
			if len(sitemaps) >= robotsMaxSitemaps || !isSitemapURL(value) || seenSitemap[value] {
				continue
			}
			if seenSitemap == nil {
				seenSitemap = make(map[string]bool)
			}
			seenSitemap[value] = true
			sitemaps = append(sitemaps, value)
		}
	}

	g, delay, hasDelay := &star, starDelay, hasStarDelay
	if named {
		g, delay, hasDelay = &specific, specificDelay, hasSpecificDelay
	}
	r := &Robots{crawlDelay: delay, sitemaps: sitemaps}
	if len(g.rules) > 0 || hasDelay {
		slices.SortStableFunc(g.rules, func(a, b robotsRule) int {
			if d := b.octets - a.octets; d != 0 {
				return d
			}
			switch {
			case a.allow == b.allow:
				return 0
			case a.allow:
				return -1
			default:
				return 1
			}
		})
		r.group = g
	}
	return r
}

// Keys of robots.txt lines that parseRobots uses.
const (
	keyUnknown = iota
	keyUserAgent
	keyAllow
	keyDisallow
	keyCrawlDelay
	keySitemap
)

// robotsKey returns which key k is, compared without case, accepting the
// misspellings Google's parser accepts.
func robotsKey(k string) int {
	if len(k) > len("crawl-delay") {
		return keyUnknown
	}
	switch strings.ToLower(k) {
	case "user-agent", "useragent", "user agent":
		return keyUserAgent
	case "allow":
		return keyAllow
	case "disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw":
		return keyDisallow
	case "crawl-delay", "crawldelay":
		return keyCrawlDelay
	case "sitemap", "site-map":
		return keySitemap
	}
	return keyUnknown
}

// splitRobotsLine splits a robots.txt line into key and value, both
// trimmed, dropping any comment. ok is false for a line with no key: a
// blank or comment line, or one with neither a colon nor exactly two
// words.
func splitRobotsLine(line []byte) (key, value string, ok bool) {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = trimSpace(line)
	if len(line) == 0 {
		return "", "", false
	}
	k, v, found := bytes.Cut(line, []byte(":"))
	if !found {
		// "Disallow /x": Google accepts whitespace instead of the colon
		// when the line has exactly two words.
		i := indexSpace(line)
		if i < 0 {
			return "", "", false
		}
		k, v = line[:i], trimSpace(line[i:])
		if indexSpace(v) >= 0 {
			return "", "", false
		}
	}
	k = trimSpace(k)
	if len(k) == 0 {
		return "", "", false
	}
	return string(k), string(trimSpace(v)), true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' }

func indexSpace(b []byte) int {
	for i, c := range b {
		if isSpace(c) {
			return i
		}
	}
	return -1
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// robotsProductToken returns the product token of a User-agent value: the
// value up to the first byte not in [a-zA-Z_-] (RFC 9309 §2.2.1).
func robotsProductToken(v string) string {
	for i := 0; i < len(v); i++ {
		if c := v[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return v[:i]
		}
	}
	return v
}

// parseCrawlDelay parses a Crawl-delay value: a non-negative decimal number
// of seconds with an optional fraction ("10", "0.5", ".5", "5."), to the
// nanosecond (further digits are dropped). A value too large for a
// time.Duration gives the largest one. ok is false for anything else.
func parseCrawlDelay(v string) (d time.Duration, ok bool) {
	const maxSecs = math.MaxInt64 / int64(time.Second)
	var secs, nanos int64
	digits, over := 0, false
	i := 0
	for ; i < len(v) && '0' <= v[i] && v[i] <= '9'; i++ {
		digits++
		if secs > maxSecs {
			over = true
			continue
		}
		secs = secs*10 + int64(v[i]-'0')
	}
	if i < len(v) && v[i] == '.' {
		i++
		scale := int64(time.Second / 10)
		for ; i < len(v) && '0' <= v[i] && v[i] <= '9'; i++ {
			digits++
			nanos += int64(v[i]-'0') * scale
			scale /= 10
		}
	}
	if i != len(v) || digits == 0 {
		return 0, false
	}
	if over || secs > (math.MaxInt64-nanos)/int64(time.Second) {
		return math.MaxInt64, true
	}
	return time.Duration(secs*int64(time.Second) + nanos), true
}

// isSitemapURL reports whether v is an absolute http or https URL.
func isSitemapURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && u.Host != "" &&
		(strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https"))
}

// ParseRobots parses a robots.txt body as Client.Robots does, choosing the
// group of userAgent's product token ("trawl/0.1 (+https://…)" picks the
// "trawl" group): for checking rules without a server. It never fails:
// lines it cannot read are skipped. The Robots it returns has a zero
// FetchedAt.
func ParseRobots(body []byte, userAgent string) *Robots {
	return parseRobots(body, productToken(userAgent))
}
