// Package browsertest is what trawl's tests that start a browser share:
// whether they may run, and the second fence around them.
//
// A test that starts Chromium calls Require first, with
// render.FindBrowser. Without a browser it
// is skipped, unless TRAWL_REQUIRE_BROWSER=1 (as .ci/run sets) makes that
// a failure.
//
// # The second fence
//
// trawl keeps the browser in with its own proxy and resolver rules (see
// trawl/fetch/render). So that a bug there cannot let a test's browser
// reach the network, the browser tests run inside a network namespace
// that has nothing but a loopback interface, when the machine allows it
// (as root, with unshare(1) and ip(8)): each package with browser tests
// names its browser tests with Register and has a test that calls
// RunFenced, which runs the package's test binary again, with those tests,
// inside "unshare -n" after "ip link set lo up". Outside the fence,
// Require skips the browser tests, which run inside it (and fails a test
// that the registered pattern does not name, so that none is left out).
// Where no fence can be made (not root, no unshare, or
// TRAWL_NO_FENCE=1 to run one test quickly), they run as they are, guarded
// by containment alone; TRAWL_REQUIRE_FENCE=1 makes that a failure.
// Benchmarks are not fenced.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// envFenced is set to 1 in the environment of a test binary that RunFenced
// started inside the fence.
const envFenced = "TRAWL_FENCED"

// pattern is the -test.run expression of the package's browser tests.
var pattern string

// Register names the browser tests of the calling package, as a -test.run
// expression, for RunFenced and Require. Call it once, from a package-level
// variable's initializer: var _ = browsertest.Register("^TestRender").
func Register(expr string) bool {
	if _, err := regexp.Compile(expr); err != nil {
		panic(fmt.Sprintf("browsertest.Register(%q): %v", expr, err))
	}
	pattern = expr
	return true
}

// Require skips the test when no browser is installed, or fails it under
// TRAWL_REQUIRE_BROWSER=1. Outside the fence, when a fence can be made, it
// skips the test too, since RunFenced runs it inside; but it fails a test
// that the package's Register pattern does not name. It returns the
// browser's path, as find (render.FindBrowser, passed in so that package
// render's own tests can use this package) found it.
func Require(t testing.TB, find func(path string) (string, error)) string {
	t.Helper()
	p, err := find("")
	if err != nil {
		if os.Getenv("TRAWL_REQUIRE_BROWSER") == "1" {
			t.Fatalf("TRAWL_REQUIRE_BROWSER=1: %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	if _, bench := t.(*testing.B); bench || Fenced() || fenceErr() != nil {
		return p
	}
	top, _, _ := strings.Cut(t.Name(), "/")
	if ok, _ := regexp.MatchString(pattern, top); pattern == "" || !ok {
		t.Fatalf("browser test %s is not named by the package's browsertest.Register pattern %q: it would never run fenced", top, pattern)
	}
	t.Skip("runs inside a loopback-only network namespace, in the package's fenced test")
	return p
}

// Fenced reports whether this process runs inside the fence: started by
// RunFenced, in a network namespace whose only interface is loopback. A
// process told it is fenced that sees another interface panics: its
// tests would run unguarded.
func Fenced() bool {
	if os.Getenv(envFenced) != "1" {
		return false
	}
	ifs, err := net.Interfaces()
	if err != nil {
		panic(fmt.Sprintf("browsertest: %s=1 but the interfaces cannot be listed: %v", envFenced, err))
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			panic(fmt.Sprintf("browsertest: %s=1 but interface %s is not loopback", envFenced, i.Name))
		}
	}
	return true
}

var fenceOnce = sync.OnceValue(func() error {
	if os.Getenv("TRAWL_NO_FENCE") == "1" {
		return errors.New("TRAWL_NO_FENCE=1")
	}
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	for _, tool := range []string{"unshare", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "unshare", "-n", "ip", "link", "set", "lo", "up").CombinedOutput()
	if err != nil {
		return fmt.Errorf("unshare -n: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
})

// fenceErr says why no fence can be made here; nil if it can.
func fenceErr() error {
	if Fenced() {
		return nil
	}
	return fenceOnce()
}

// RunFenced runs the tests of this test binary that the package's Register
// pattern names inside the fence, with the flags the binary got
// (-test.count, -test.timeout, ...), and fails t if they fail or none
// passed. Their output goes to this test's log. Inside the fence, or where
// no fence can be made, it skips t (the browser tests then run where they
// are); TRAWL_REQUIRE_FENCE=1 makes the latter a failure.
func RunFenced(t *testing.T) {
	t.Helper()
	if pattern == "" {
		t.Fatal("browsertest.RunFenced: the package registered no pattern (browsertest.Register)")
	}
	if Fenced() {
		t.Skip("inside the fence already")
	}
	if err := fenceErr(); err != nil {
		if os.Getenv("TRAWL_REQUIRE_FENCE") == "1" {
			t.Fatalf("TRAWL_REQUIRE_FENCE=1 but no loopback-only network namespace can be made: %v", err)
		}
		t.Skipf("no fence (%v): the browser tests run unfenced", err)
	}
	args := []string{"-n", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, os.Args[0]}
	for _, a := range os.Args[1:] {
		if strings.HasPrefix(a, "-test.run=") || strings.HasPrefix(a, "-test.v=") || strings.HasPrefix(a, "-test.skip") ||
			strings.HasPrefix(a, "-test.coverprofile") || strings.HasPrefix(a, "-test.gocoverdir") {
			continue // go test passes its flags in the -name=value form
		}
		args = append(args, a)
	}
	args = append(args, "-test.run="+pattern, "-test.v=true")
	timeout := 15 * time.Minute
	if d, ok := t.Deadline(); ok {
		timeout = time.Until(d) - 10*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", args...)
	cmd.Env = append(os.Environ(), envFenced+"=1")
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	for line := range strings.Lines(string(out)) {
		t.Log(strings.TrimRight(line, "\n"))
	}
	if err != nil {
		t.Fatalf("the browser tests inside the fence failed: %v", err)
	}
	if !strings.Contains(string(out), "\n--- PASS: ") {
		t.Fatalf("no test matching %q passed inside the fence", pattern)
	}
}
