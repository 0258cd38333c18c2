package fetch

import (
	"bytes"
	"net/url"
	"strings"
	"time"

	"github.com/temoto/robotstxt"
)

// Robots holds the robots.txt rules of one origin that apply to the client's
// user agent. A nil *Robots allows everything. Robots is immutable and safe
// for concurrent use.
type Robots struct {
	group      *robotstxt.Group // nil: allow all
	crawlDelay time.Duration
	fetched    time.Time // when the file was fetched; zero if never (nil rules)
}

// Allowed reports whether u's path and query may be fetched. /robots.txt
// itself is always allowed. Rules match the escaped path as written, with
// the "*" and "$" wildcards.
func (r *Robots) Allowed(u *url.URL) bool {
	if r == nil || r.group == nil {
		return true
	}
	p := u.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // an empty path, or one built without its slash
	}
	if p == "/robots.txt" {
		return true
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return r.group.Test(p)
}

// CrawlDelay is the Crawl-delay of the chosen group; zero if none or r is nil.
func (r *Robots) CrawlDelay() time.Duration {
	if r == nil {
		return 0
	}
	return r.crawlDelay
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

// parseRobots parses a robots.txt body for the client's agent. temoto's
// parser rejects a whole file for one bad line (a rule before any
// User-agent, a malformed Crawl-delay); such lines are dropped and the rest
// parsed, and a file that still fails allows all.
func parseRobots(body []byte, agent string) *Robots {
	data, err := robotstxt.FromBytes(body)
	if err != nil {
		data, err = robotstxt.FromBytes(sanitizeRobots(body))
		if err != nil {
			return &Robots{}
		}
	}
	g := data.FindGroup(agent)
	return &Robots{group: g, crawlDelay: g.CrawlDelay}
}

// sanitizeRobots drops the lines temoto's parser rejects: group rules before
// the first User-agent line and Crawl-delay values that are not a
// non-negative number.
func sanitizeRobots(body []byte) []byte {
	var out bytes.Buffer
	seenAgent := false
	for line := range bytes.Lines(body) {
		text := string(line)
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		key, val, ok := strings.Cut(text, ":")
		key = strings.ToLower(strings.TrimSpace(key))
		val = strings.TrimSpace(val)
		if ok {
			switch key {
			case "user-agent", "useragent":
				seenAgent = true
			case "allow", "disallow":
				if !seenAgent {
					continue
				}
			case "crawl-delay", "crawldelay":
				if !seenAgent || !validDelay(val) {
					continue
				}
			}
		}
		out.Write(line)
	}
	return out.Bytes()
}

func validDelay(v string) bool {
	if v == "" {
		return false
	}
	dot := false
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
		case r == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return v != "."
}
