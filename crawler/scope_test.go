package crawler_test

import (
	"testing"

	"trawl/crawler"
)

func TestScopeKey(t *testing.T) {
	tests := []struct {
		scope      crawler.Scope
		host, want string
	}{
		{crawler.ScopeHost, "www.example.com", "www.example.com"},
		{crawler.ScopeHost, "www.example.com:8080", "www.example.com:8080"},
		{crawler.ScopeDomain, "www.example.com", "example.com"},
		{crawler.ScopeDomain, "blog.example.co.uk:8080", "example.co.uk"},
		{crawler.ScopeDomain, "a.b.trawl.test", "trawl.test"},
		{crawler.ScopeDomain, "127.0.0.1:8080", "127.0.0.1"},
		{crawler.ScopeDomain, "[::1]:8080", "::1"},
		{crawler.ScopeDomain, "localhost", "localhost"},
		{crawler.ScopeDomain, "user.github.io", "user.github.io"},
	}
	for _, tc := range tests {
		if got := crawler.ScopeKeyForTest(tc.scope, tc.host); got != tc.want {
			t.Errorf("scopeKey(%v, %q) = %q, want %q", tc.scope, tc.host, got, tc.want)
		}
	}
}
