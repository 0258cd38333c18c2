package bench_test

import (
	"os/exec"
	"strings"
	"testing"

	"trawl/crawler/bench"
)

// TestRunWorkersOptionsInvalid: options RunWorkers cannot run are
// refused before anything starts, each named.
func TestRunWorkersOptionsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    bench.WorkersOptions
		want string
	}{
		{"no redis", bench.WorkersOptions{Options: small}, "no Redis URL"},
		{"negative workers", bench.WorkersOptions{Options: small, Redis: "redis://127.0.0.1:1/0", Workers: -1}, "workers -1 is negative"},
		{"state", bench.WorkersOptions{Options: bench.Options{State: true}, Redis: "redis://127.0.0.1:1/0"}, "measured by Run"},
		{"baselines", bench.WorkersOptions{Options: bench.Options{Baselines: true}, Redis: "redis://127.0.0.1:1/0"}, "measured by Run"},
		{"bad site", bench.WorkersOptions{Options: bench.Options{Pages: -1}, Redis: "redis://127.0.0.1:1/0"}, "pages -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := bench.RunWorkers(testContext(t), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("RunWorkers: got %v, %v; want an error containing %q", res, err, tc.want)
			}
		})
	}
}

// TestRunWorkersFailed: a worker that exits with a non-zero status fails
// the run, and the error names each worker that failed.
func TestRunWorkersFailed(t *testing.T) {
	exe, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false command:", err)
	}
	res, err := bench.RunWorkers(testContext(t), bench.WorkersOptions{Options: small, Redis: "redis://127.0.0.1:1/0", Workers: 2, Command: exe})
	if err == nil || !strings.Contains(err.Error(), "worker 0: exit status 1") || !strings.Contains(err.Error(), "worker 1: exit status 1") {
		t.Errorf("RunWorkers with workers that fail: got %v, %v; want an error naming workers 0 and 1", res, err)
	}
}
