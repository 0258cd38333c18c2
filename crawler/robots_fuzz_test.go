package crawler_test

import (
	"net/url"
	"testing"

	"trawl/fetch"
	"trawl/parse"
)

// FuzzRobotsNormalize holds robots.txt matching and URL normalization to
// one property, which the crawler relies on: it deduplicates URLs on their
// normalized key but requests, and checks against robots.txt, the URL as
// the page wrote it. Two URLs with the same key must get the same
// verdict, or a second spelling of a disallowed page gets through.
func FuzzRobotsNormalize(f *testing.F) {
	const rules = "User-agent: *\nDisallow: /robots/private/\nDisallow: /*.pdf$\nDisallow: /*?sid=\nAllow: /robots/private/ok\nDisallow: /caf\u00e9\n"
	for _, raw := range []string{
		"http://a.test/robots/private/x",
		"http://a.test/robots/%70rivate/leak",
		"http://a.test/robots/%70%72ivate/c",
		"http://a.test/robots/./private/d",
		"http://a.test/robots/x/../private/e",
		"http://a.test/robots/%2E/private/f",
		"http://a.test/robots/%2e%2e/robots/private/g",
		"http://A.TEST:80/robots/PRIVATE/i",
		"http://a.test/robots/%2Fprivate/j",
		"http://a.test/robots/private/ok",
		"http://a.test/robots/private/%6Fk",
		"http://a.test/doc.pdf",
		"http://a.test/doc.%70df",
		"http://a.test/doc.pdf?",
		"http://a.test/page?sid=1",
		"http://a.test/page?%73id=1",
		"http://a.test/caf%C3%A9",
		"http://a.test/caf%c3%a9/x",
		"http://a.test/café",
		"http://a.test",
		"http://a.test/a b/%zz",
	} {
		f.Add(rules, raw)
	}
	f.Fuzz(func(t *testing.T, rules, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		key, _, err := parse.Normalize(u)
		if err != nil {
			return
		}
		k, err := url.Parse(key)
		if err != nil {
			t.Fatalf("key %q of %q does not parse: %v", key, raw, err)
		}
		rob := fetch.ParseRobots([]byte(rules), fetch.DefaultUserAgent)
		if a, b := rob.Allowed(u), rob.Allowed(k); a != b {
			t.Fatalf("robots.txt %q:\n  %q allowed %v\n  its key %q allowed %v", rules, raw, a, key, b)
		}
	})
}
