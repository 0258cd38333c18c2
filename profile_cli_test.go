package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCPUProfile: --cpuprofile (hidden) writes the crawl's CPU profile,
// and trawl bench --cpuprofile the measured crawl's: pprof files, which
// are gzip-compressed.
func TestCPUProfile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"crawl", []string{"demo", "-q", "-o", filepath.Join(dir, "demo.jsonl")}},
		{"bench", []string{"bench", "--pages", "300", "--baselines=false", "--jsonl"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prof := filepath.Join(dir, tc.name+".prof")
			_, stderr, code := trawl(t, append(tc.args, "--cpuprofile", prof)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			b, err := os.ReadFile(prof)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 100 || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
				t.Errorf("the profile is %d bytes, starting %x: want a gzip-compressed pprof file", len(b), b[:min(len(b), 4)])
			}
		})
	}
	_, stderr, code := trawl(t, "demo", "-q", "-o", filepath.Join(dir, "x.jsonl"), "--cpuprofile", filepath.Join(dir, "missing", "p.prof"))
	if code != exitFailure || !bytes.Contains([]byte(stderr), []byte("--cpuprofile")) {
		t.Errorf("a profile in a missing folder: exit %d, %q; want exit %d naming --cpuprofile", code, stderr, exitFailure)
	}
}
