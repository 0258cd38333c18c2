package parse

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, key, host string
	}{
		{"already normal", "http://example.com/a/b?x=1", "http://example.com/a/b?x=1", "example.com"},
		{"scheme and host case", "HTTP://WWW.Example.COM/Path/Case", "http://www.example.com/Path/Case", "www.example.com"},
		{"https scheme case", "HtTpS://example.com/", "https://example.com/", "example.com"},
		{"http default port", "http://example.com:80/a", "http://example.com/a", "example.com"},
		{"https default port", "https://example.com:443/a", "https://example.com/a", "example.com"},
		{"http on 443 kept", "http://example.com:443/a", "http://example.com:443/a", "example.com:443"},
		{"https on 80 kept", "https://example.com:80/a", "https://example.com:80/a", "example.com:80"},
		{"non-default port kept", "http://Example.com:8080/a", "http://example.com:8080/a", "example.com:8080"},
		{"port leading zeros", "http://example.com:0080/", "http://example.com/", "example.com"},
		{"port leading zeros kept value", "http://example.com:08080/", "http://example.com:8080/", "example.com:8080"},
		{"empty port", "http://example.com:/a", "http://example.com/a", "example.com"},
		{"empty path", "http://example.com", "http://example.com/", "example.com"},
		{"empty path with query", "http://example.com?q=1", "http://example.com/?q=1", "example.com"},
		{"fragment dropped", "http://example.com/a#sec", "http://example.com/a", "example.com"},
		{"fragment after query", "http://example.com/a?b=1#sec", "http://example.com/a?b=1", "example.com"},
		{"empty fragment", "http://example.com/a#", "http://example.com/a", "example.com"},
		{"dot segment", "http://example.com/a/./b", "http://example.com/a/b", "example.com"},
		{"dotdot segment", "http://example.com/a/b/../c", "http://example.com/a/c", "example.com"},
		{"dotdot above root", "http://example.com/../../a", "http://example.com/a", "example.com"},
		{"trailing dot", "http://example.com/a/.", "http://example.com/a/", "example.com"},
		{"trailing dotdot", "http://example.com/a/b/..", "http://example.com/a/", "example.com"},
		{"only dotdot", "http://example.com/..", "http://example.com/", "example.com"},
		{"dots in names kept", "http://example.com/a.b/..c/c../.d", "http://example.com/a.b/..c/c../.d", "example.com"},
		{"encoded dot segment", "http://example.com/a/%2e%2E/b", "http://example.com/b", "example.com"},
		{"double slash kept", "http://example.com//a//b", "http://example.com//a//b", "example.com"},
		{"encoded tilde decoded", "http://example.com/%7euser", "http://example.com/~user", "example.com"},
		{"encoded unreserved decoded", "http://example.com/%41%7A%30%2D%5F%2e", "http://example.com/Az0-_.", "example.com"},
		{"encoded slash kept", "http://example.com/a%2fb", "http://example.com/a%2Fb", "example.com"},
		{"lower hex upper-cased", "http://example.com/%c3%a9t%c3%a9", "http://example.com/%C3%A9t%C3%A9", "example.com"},
		{"reserved unencoded kept", "http://example.com/a:b@c!$&'()*+,;=", "http://example.com/a:b@c!$&'()*+,;=", "example.com"},
		{"reserved encoded kept", "http://example.com/a%3Ab%40c%21", "http://example.com/a%3Ab%40c%21", "example.com"},
		{"space encoded", "http://example.com/a b", "http://example.com/a%20b", "example.com"},
		{"raw non-ASCII encoded", "http://example.com/été", "http://example.com/%C3%A9t%C3%A9", "example.com"},
		{"raw non-ASCII with encoded slash", "http://example.com/é%2f", "http://example.com/%C3%A9%2F", "example.com"},
		{"query order kept", "http://example.com/?b=2&a=1&b=1", "http://example.com/?b=2&a=1&b=1", "example.com"},
		{"query plus kept", "http://example.com/?q=a+b&r=a%20b", "http://example.com/?q=a+b&r=a%20b", "example.com"},
		{"query hex upper-cased", "http://example.com/?q=%e9%7e%2b", "http://example.com/?q=%E9~%2B", "example.com"},
		{"query reserved as written", "http://example.com/?a[]=1&u=/x?y", "http://example.com/?a[]=1&u=/x?y", "example.com"},
		{"query bad escape", "http://example.com/?q=100%", "http://example.com/?q=100%25", "example.com"},
		{"query space", "http://example.com/?q=a b", "http://example.com/?q=a%20b", "example.com"},
		{"empty query dropped", "http://example.com/a?", "http://example.com/a", "example.com"},
		{"empty query and fragment dropped", "http://example.com/a?#f", "http://example.com/a", "example.com"},
		{"IDNA", "http://BÜCHER.example/", "http://xn--bcher-kva.example/", "xn--bcher-kva.example"},
		{"IDNA percent-encoded host", "http://b%C3%BCcher.example/", "http://xn--bcher-kva.example/", "xn--bcher-kva.example"},
		{"IDNA with port", "https://bücher.example:8443/x", "https://xn--bcher-kva.example:8443/x", "xn--bcher-kva.example:8443"},
		{"punycode host kept", "http://XN--BCHER-KVA.example/", "http://xn--bcher-kva.example/", "xn--bcher-kva.example"},
		{"underscore host", "http://my_host.example.com/", "http://my_host.example.com/", "my_host.example.com"},
		{"trailing dot host", "http://example.com./", "http://example.com./", "example.com."},
		{"IPv4", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/", "127.0.0.1:8080"},
		{"IPv6 canonical", "http://[2001:DB8:0:0::1]/", "http://[2001:db8::1]/", "[2001:db8::1]"},
		{"IPv6 port", "https://[::1]:443/", "https://[::1]/", "[::1]"},
		{"IPv6 non-default port", "http://[::1]:8080/", "http://[::1]:8080/", "[::1]:8080"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, host, err := NormalizeString(tc.in)
			if err != nil {
				t.Fatalf("NormalizeString(%q): %v", tc.in, err)
			}
			if key != tc.key || host != tc.host {
				t.Errorf("NormalizeString(%q) = %q, %q; want %q, %q", tc.in, key, host, tc.key, tc.host)
			}
			// Idempotent: a key normalizes to itself.
			key2, host2, err := NormalizeString(key)
			if err != nil || key2 != key || host2 != host {
				t.Errorf("NormalizeString(%q) = %q, %q, %v; want it unchanged", key, key2, host2, err)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name, in, want string // want: substring of the error
	}{
		{"mailto", "mailto:someone@example.com", "unsupported scheme"},
		{"ftp", "ftp://example.com/file", "unsupported scheme"},
		{"javascript", "javascript:void(0)", "unsupported scheme"},
		{"relative", "/a/b", "unsupported scheme"},
		{"scheme-relative", "//example.com/a", "unsupported scheme"},
		{"no host", "http:///a", "missing host"},
		{"opaque", "http:example.com", "missing host"},
		{"userinfo", "http://user:secret@example.com/", "userinfo"},
		{"empty userinfo", "http://@example.com/", "userinfo"},
		{"bad host char", "http://exa!mple.com/", "invalid host"},
		{"empty label", "http://a..example.com/", "invalid host"},
		{"leading dot", "http://.example.com/", "invalid host"},
		{"long label", "http://" + strings.Repeat("a", 64) + ".com/", "invalid host"},
		{"invalid IDNA", "http://a\u200db.example/", "invalid host"},
		{"port zero", "http://example.com:0/", "invalid port"},
		{"port too big", "http://example.com:65536/", "invalid port"},
		{"IPv6 zone", "http://[fe80::1%25en0]/", "invalid host"},
		{"bracketed IPv4", "http://[127.0.0.1]/", "IP-literal"},
		{"unparsable", "http://example.com/%zz", "invalid URL escape"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key, host, err := NormalizeString(tc.in)
			if err == nil {
				t.Fatalf("NormalizeString(%q) = %q, %q, nil; want error containing %q", tc.in, key, host, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "parse: ") {
				t.Errorf("NormalizeString(%q) error = %q; want prefix \"parse: \" and %q", tc.in, err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the password", err)
			}
		})
	}
}

func TestNormalizeURLValues(t *testing.T) {
	tests := []struct {
		name string
		u    *url.URL
		key  string
		err  bool
	}{
		{"nil", nil, "", true},
		{"constructed upper scheme", &url.URL{Scheme: "HTTP", Host: "Example.com", Path: "/a b"}, "http://example.com/a%20b", false},
		{"constructed path without slash", &url.URL{Scheme: "http", Host: "example.com", Path: "a"}, "http://example.com/a", false},
		{"literal percent in path", &url.URL{Scheme: "http", Host: "example.com", Path: "/100%"}, "http://example.com/100%25", false},
		{"inconsistent RawPath ignored", &url.URL{Scheme: "http", Host: "example.com", Path: "/a", RawPath: "/b"}, "http://example.com/a", false},
		{"ForceQuery dropped", &url.URL{Scheme: "http", Host: "example.com", Path: "/a", ForceQuery: true}, "http://example.com/a", false},
		{"bad port text", &url.URL{Scheme: "http", Host: "example.com:http"}, "", true},
		{"bracketed IPv4", &url.URL{Scheme: "http", Host: "[127.0.0.1]"}, "", true},
		{"unclosed bracket", &url.URL{Scheme: "http", Host: "[::1"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before string
			if tc.u != nil {
				before = tc.u.String()
			}
			key, _, err := Normalize(tc.u)
			if (err != nil) != tc.err || key != tc.key {
				t.Errorf("Normalize = %q, %v; want %q, error %v", key, err, tc.key, tc.err)
			}
			if tc.u != nil && tc.u.String() != before {
				t.Errorf("Normalize modified its argument: %q, was %q", tc.u, before)
			}
		})
	}
}

// FuzzNormalize holds the URL normalizer to the properties that stored
// fingerprints and robots.txt matching depend on: a key normalizes to
// itself, parses back to a URL, holds its host key right after the scheme,
// and spellings that differ only in the case of percent-escapes, encoded
// unreserved characters, dot segments or an empty query share the key.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"http://example.com/a/b?x=1",
		"HTTP://WWW.Example.COM:80/Path/%7euser/./a/../b?",
		"https://[2001:DB8::1]:443/%2fx%2F?q=%e2%82%ac",
		"http://bücher.example/straße?ä=1#frag",
		"http://a.test/robots/%70rivate/leak",
		"http://a.test/%2E%2E/x/%2e/y",
		"http://a.test",
		"http://a.test/a b/%zz/%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		key, host, err := NormalizeString(raw)
		if err != nil {
			return
		}
		again, host2, err := NormalizeString(key)
		if err != nil || again != key || host2 != host {
			t.Fatalf("Normalize(%q) = %q, %q; normalizing the key gives %q, %q, %v", raw, key, host, again, host2, err)
		}
		scheme, rest, ok := strings.Cut(key, "://")
		if !ok || (scheme != "http" && scheme != "https") || !strings.HasPrefix(rest, host) {
			t.Fatalf("key %q: want scheme://%s...", key, host)
		}
		// Respell: escape the first unreserved letter of the path, and
		// flip the case of escapes: the key must not change.
		u, err := url.Parse(raw)
		if err != nil || u.RawQuery != "" || u.Fragment != "" {
			return
		}
		p := u.EscapedPath()
		for i := 0; i < len(p); i++ {
			if c := p[i]; 'a' <= c && c <= 'z' {
				respelt := strings.Replace(raw, p, p[:i]+fmt.Sprintf("%%%02x", c)+p[i+1:], 1)
				if k2, _, err := NormalizeString(respelt); err == nil && k2 != key {
					t.Fatalf("%q and %q normalize to %q and %q", raw, respelt, key, k2)
				}
				break
			}
		}
	})
}
