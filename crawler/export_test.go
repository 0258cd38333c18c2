package crawler

// ScopeKeyForTest exposes scopeKey to the external tests.
func ScopeKeyForTest(s Scope, host string) string {
	return (&run{cfg: Config{Scope: s}}).scopeKey(host)
}

// SetMaxPendingForTest sets the most a Flusher may hold between
// checkpoints and returns a function that restores it.
func SetMaxPendingForTest(n int) (restore func()) {
	old := maxPending
	maxPending = n
	return func() { maxPending = old }
}
