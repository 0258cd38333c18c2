package proctree_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"testing"
	"time"

	"trawl/internal/proctree"
)

// TestTree starts a child process and finds it, and its memory, in the
// tree of the test process.
func TestTree(t *testing.T) {
	if runtime.GOOS != "linux" {
		if proctree.PSS(os.Getpid()) != 0 || proctree.Descendants(os.Getpid()) != nil {
			t.Error("PSS or Descendants not empty without /proc")
		}
		t.Skip("no /proc")
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skipf("no sleep: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sleep", "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	child := cmd.Process.Pid

	me := os.Getpid()
	if d := proctree.Descendants(me); !slices.Contains(d, child) {
		t.Errorf("Descendants(%d) = %v, want %d among them", me, d, child)
	}
	if d := proctree.Descendants(child); len(d) != 0 {
		t.Errorf("Descendants(sleep) = %v, want none", d)
	}
	if slices.Contains(proctree.Descendants(me), me) {
		t.Error("Descendants includes the process itself")
	}

	own := proctree.OwnPSS(me)
	if own <= 0 {
		t.Fatalf("OwnPSS(%d) = %d, want > 0", me, own)
	}
	// The child's PSS may still be zero-ish while it execs; the tree's is
	// at least the process's own, sampled a moment earlier (the Go heap
	// barely moves between the two reads).
	if tree := proctree.PSS(me); tree < own*9/10 {
		t.Errorf("PSS(%d) = %d, want ≥ its own %d", me, tree, own)
	}
	if kids := proctree.DescendantsPSS(me); kids < 0 {
		t.Errorf("DescendantsPSS = %d", kids)
	}
	// Burn a little CPU so that the process has used some.
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
	}
	if got := proctree.CPUTime(me); got <= 0 || got > time.Hour {
		t.Errorf("CPUTime(%d) = %v", me, got)
	}
	if got := proctree.CPUTime(-1); got != 0 {
		t.Errorf("CPUTime(-1) = %v, want 0", got)
	}
	if got := proctree.OwnPSS(-1); got != 0 {
		t.Errorf("OwnPSS(-1) = %d, want 0", got)
	}
}
