package fetch

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

func TestRobotsRules(t *testing.T) {
	tests := []struct {
		name   string
		ua     string
		robots string
		checks map[string]bool // path?query -> allowed
	}{
		{
			name:   "disallow prefix",
			robots: "User-agent: *\nDisallow: /private\n",
			checks: map[string]bool{"/private": false, "/private/a": false, "/privateer": false, "/public": true, "/": true},
		},
		{
			name:   "longer allow wins",
			robots: "User-agent: *\nDisallow: /\nAllow: /ok\n",
			checks: map[string]bool{"/ok": true, "/ok/deep": true, "/no": false, "/": false},
		},
		{
			name:   "end anchor",
			robots: "User-agent: *\nDisallow: /*.pdf$\n",
			checks: map[string]bool{"/a/b.pdf": false, "/b.pdf": false, "/a/b.pdfx": true, "/a/b.pdf?x=1": true, "/a/b.html": true},
		},
		{
			name:   "wildcard in query",
			robots: "User-agent: *\nDisallow: /*?session=\n",
			checks: map[string]bool{"/page?session=1": false, "/x/y?session=": false, "/page": true, "/page?id=2": true},
		},
		{
			name:   "own group chosen over star",
			robots: "User-agent: *\nDisallow: /all\n\nUser-agent: Trawl\nDisallow: /t\n",
			checks: map[string]bool{"/t": false, "/all": true},
		},
		{
			name:   "other agent gets star group",
			ua:     "otherbot/1.0",
			robots: "User-agent: *\nDisallow: /all\n\nUser-agent: trawl\nDisallow: /t\n",
			checks: map[string]bool{"/t": true, "/all": false},
		},
		{
			name:   "only another bot restricted",
			robots: "User-agent: googlebot\nDisallow: /\n",
			checks: map[string]bool{"/": true, "/x": true},
		},
		{
			name:   "several agents share a group",
			robots: "User-agent: googlebot\nUser-agent: trawl\nDisallow: /shared\n",
			checks: map[string]bool{"/shared": false, "/other": true},
		},
		{
			name:   "bad lines skipped, rest kept",
			robots: "Disallow: /x\nCrawl-delay: soon\nUser-agent: *\nCrawl-delay: abc\nDisallow: /y\n",
			checks: map[string]bool{"/y": false, "/x": true},
		},
		{
			name:   "robots.txt itself allowed",
			robots: "User-agent: *\nDisallow: /\n",
			checks: map[string]bool{"/robots.txt": true, "/": false, "/a": false},
		},
		{
			name:   "empty file",
			robots: "",
			checks: map[string]bool{"/": true, "/a": true},
		},
		{
			name:   "comments and blank lines",
			robots: "# hello\n\nUser-agent: * # everyone\nDisallow: /tmp # scratch\n",
			checks: map[string]bool{"/tmp/x": false, "/": true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, _ := robotsServer(t, http.StatusOK, tc.robots)
			c := newClient(t, Config{UserAgent: tc.ua})
			rb, err := c.Robots(context.Background(), mustURL(t, ts.URL+"/anything"))
			if err != nil {
				t.Fatal(err)
			}
			for p, want := range tc.checks {
				if got := rb.Allowed(mustURL(t, ts.URL+p)); got != want {
					t.Errorf("Allowed(%s): got %v, want %v", p, got, want)
				}
			}
		})
	}
}

func TestRobotsNilAllowsAll(t *testing.T) {
	var r *Robots
	if !r.Allowed(&url.URL{Path: "/x"}) || r.CrawlDelay() != 0 {
		t.Error("nil Robots must allow all with no crawl delay")
	}
}
