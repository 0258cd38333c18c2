package crawler

import (
	"maps"
	"slices"
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	var h histogram
	h.bounds = []time.Duration{10 * time.Millisecond, time.Second}
	for _, d := range []time.Duration{0, 10 * time.Millisecond, 11 * time.Millisecond, time.Second, time.Minute} {
		h.observe(d)
	}
	got := h.snapshot()
	want := Histogram{
		Bounds: h.bounds,
		Counts: []int64{2, 2, 1}, // a bound is in its own bucket
		Count:  5,
		Sum:    time.Minute + time.Second + 21*time.Millisecond,
	}
	if !slices.Equal(got.Bounds, want.Bounds) || !slices.Equal(got.Counts, want.Counts) || got.Count != want.Count || got.Sum != want.Sum {
		t.Errorf("got %+v, want %+v", got, want)
	}
	got.Bounds[0] = 0
	if h.bounds[0] == 0 {
		t.Error("the snapshot shares its bounds with the live histogram")
	}
}

func TestStatusClasses(t *testing.T) {
	s := Stats{Status: map[int]int64{200: 3, 204: 1, 301: 2, 404: 5, 503: 1, 999: 1}}
	want := map[string]int64{"2xx": 4, "3xx": 2, "4xx": 5, "5xx": 1, "other": 1}
	if got := s.StatusClasses(); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := (Stats{}).StatusClasses(); got != nil {
		t.Errorf("nothing fetched: got %v, want nil", got)
	}
}

func TestErrorKindNames(t *testing.T) {
	for _, kind := range []string{"other", "timeout", "dns", "refused", "canceled", errKindRetryWait, errKindParse} {
		if i, ok := errorKindIndex[kind]; !ok || errorKindNames[i] != kind {
			t.Errorf("error kind %q not counted", kind)
		}
	}
	if errorKindNames[0] != "other" || len(errorKindNames) > maxErrorKinds {
		t.Errorf("got kinds %q, want other first and at most %d", errorKindNames, maxErrorKinds)
	}
}
