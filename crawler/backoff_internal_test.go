package crawler

import (
	"testing"
	"time"
)

// TestBackoff checks the retry back-off: base·2^attempt with ±50% jitter,
// and none at all for a negative RetryBackoff (which once panicked).
func TestBackoff(t *testing.T) {
	for attempt := range 4 {
		want := time.Second << attempt
		for range 50 {
			if d := backoff(time.Second, attempt); d < want/2 || d >= want*3/2 {
				t.Fatalf("backoff(1s, %d) = %v, want in [%v, %v)", attempt, d, want/2, want*3/2)
			}
		}
	}
	if d := backoff(-1, 0); d != 0 {
		t.Errorf("backoff(-1, 0) = %v, want 0", d)
	}
}
