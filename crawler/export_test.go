package crawler

// ScopeKeyForTest exposes scopeKey to the external tests.
func ScopeKeyForTest(s Scope, host string) string {
	return (&run{cfg: Config{Scope: s}}).scopeKey(host)
}
