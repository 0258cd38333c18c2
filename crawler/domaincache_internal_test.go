package crawler

import (
	"fmt"
	"testing"

	"golang.org/x/net/publicsuffix"
)

// TestDomainCache checks that the cache gives what the lookup gives, from
// memory the second time, and that it stays within maxDomains.
func TestDomainCache(t *testing.T) {
	var c domainCache
	for _, tc := range []struct{ host, want string }{
		{"blog.example.co.uk:8080", "example.co.uk"},
		{"www.example.com", "example.com"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"[::1]:8080", "::1"},
		{"localhost", "localhost"},
		{"co.uk", "co.uk"},
	} {
		for round := range 2 {
			if got := c.get(tc.host); got != tc.want {
				t.Errorf("round %d: get(%q) = %q, want %q", round, tc.host, got, tc.want)
			}
		}
	}
	if n := len(c.m); n != 6 {
		t.Errorf("%d hosts cached, want 6", n)
	}
	for i := range maxDomains + 10 {
		h := fmt.Sprintf("h%d.example.org", i)
		if got := c.get(h); got != "example.org" {
			t.Fatalf("get(%q) = %q", h, got)
		}
		if len(c.m) > maxDomains {
			t.Fatalf("%d hosts cached, more than %d", len(c.m), maxDomains)
		}
	}
	if d, _ := publicsuffix.EffectiveTLDPlusOne("a.b.example.net"); c.get("a.b.example.net") != d {
		t.Error("a host after the reset got another domain than the lookup's")
	}
}
