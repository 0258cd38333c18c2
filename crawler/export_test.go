package crawler

import "sync"

// ScopeKeyForTest exposes scopeKey to the external tests: that of one
// run per Scope, so that its cache of domains serves from the second call
// for a host on.
func ScopeKeyForTest(s Scope, host string) string {
	r, ok := scopeRuns.Load(s)
	if !ok {
		r, _ = scopeRuns.LoadOrStore(s, &run{cfg: Config{Scope: s}})
	}
	return r.(*run).scopeKey(host)
}

var scopeRuns sync.Map // Scope -> *run

// SetMaxPendingForTest sets the most a Flusher may hold between
// checkpoints and returns a function that restores it.
func SetMaxPendingForTest(n int) (restore func()) {
	old := maxPending
	maxPending = n
	return func() { maxPending = old }
}
