// Package redistest runs a real redis-server for tests: Start launches one
// on a free loopback port with its data in the test's temporary
// directory, and stops it when the test ends.
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t, redistest.Options{AppendOnly: true})
//		c := srv.Client(t)
//		...
//		srv.Kill()       // kill -9: AOF everysec may lose the last second
//		srv.Restart(t)   // same port and directory: the AOF is replayed
//	}
//
// When redis-server is not on PATH, Start skips the test, unless the
// environment variable TRAWL_REQUIRE_REDIS is 1 (as in CI), in which case
// the test fails.
package redistest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RequireEnv is the environment variable that, set to 1, makes Start fail
// instead of skip when redis-server is missing.
const RequireEnv = "TRAWL_REQUIRE_REDIS"

// startTimeout bounds how long Start and Restart wait for the server to
// answer PING.
const startTimeout = 10 * time.Second

// Options configures the server. The zero value runs it without
// persistence.
type Options struct {
	// AppendOnly turns the AOF on (--appendonly yes).
	AppendOnly bool
	// Fsync is the AOF's appendfsync policy: "everysec" (empty means
	// this) or "always". It matters only with AppendOnly.
	Fsync string
	// Args are more command-line arguments, in pairs such as
	// "--set-max-intset-entries", "512".
	Args []string
}

// Server is a redis-server process started by Start. Its methods are safe
// for concurrent use.
type Server struct {
	opts Options
	bin  string
	port int
	dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts a redis-server for t and registers its end with
// t.Cleanup. It skips t (or fails it, see RequireEnv) when redis-server
// is not on PATH, and fails t when the server does not answer PING
// within ten seconds.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("redistest: redis-server not found on PATH and %s=1: %v", RequireEnv, err)
		}
		t.Skipf("redistest: redis-server not found on PATH (set %s=1 to fail instead): %v", RequireEnv, err)
	}
	switch opts.Fsync {
	case "":
		opts.Fsync = "everysec"
	case "everysec", "always", "no":
	default:
		t.Fatalf("redistest: Options.Fsync %q: want everysec or always", opts.Fsync)
	}
	s := &Server{opts: opts, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Kill)
	// A free port may be taken between finding it and the server binding
	// it: try a few.
	var last error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		if last = s.start(); last == nil {
			return s
		}
	}
	t.Fatalf("redistest: %v", last)
	return nil
}

// Addr returns the server's address, 127.0.0.1:PORT.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's URL for database 0, redis://127.0.0.1:PORT/0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir returns the server's working directory (its AOF is under it).
func (s *Server) Dir() string { return s.dir }

// Client returns a new client of the server, closed when t ends.
func (s *Server) Client(t testing.TB) *goredis.Client {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
	t.Cleanup(func() { c.Close() })
	return c
}

// Kill kills the server with SIGKILL and waits for it to exit; with
// appendfsync everysec it may lose its last second of writes. Killing a
// server that is not running does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Stop shuts the server down cleanly (SHUTDOWN, which writes out the
// AOF) and waits for it to exit; if it has not exited after ten seconds it
// is killed.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), MaxRetries: -1})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	_ = c.Shutdown(ctx).Err() // the connection closes: an error is expected
	cancel()
	c.Close()
	select {
	case <-s.done:
	case <-time.After(startTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts the server again on the same port and directory, after
// Kill or Stop (or kills it first if it runs), so that it replays its AOF.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Kill()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: restart: %v", err)
	}
}

// Info returns the fields of INFO section (such as "memory").
func (s *Server) Info(t testing.TB, section string) map[string]string {
	t.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr()})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	text, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatalf("redistest: INFO %s: %v", section, err)
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") {
			m[k] = v
		}
	}
	return m
}

// UsedMemory returns the server's used_memory (INFO memory), in bytes.
func (s *Server) UsedMemory(t testing.TB) int64 {
	t.Helper()
	v := s.Info(t, "memory")["used_memory"]
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("redistest: used_memory %q: %v", v, err)
	}
	return n
}

// start launches the server and waits until it answers PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	appendonly := "no"
	if s.opts.AppendOnly {
		appendonly = "yes"
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", appendonly,
		"--appendfsync", s.opts.Fsync,
		"--logfile", "redis.log",
		"--daemonize", "no",
	}
	args = append(args, s.opts.Args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	var out bytes.Buffer // what it prints before the log file is open
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	fail := func(err error) error {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return fmt.Errorf("redis-server on port %d: %w\n%s%s", s.port, err, out.String(), s.logTail())
	}

	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("no answer to PING after %v: %w", startTimeout, err))
		}
		select {
		case <-done:
			return fail(errors.New("exited at start"))
		case <-tick.C:
		}
	}
	s.cmd, s.done = cmd, done
	return nil
}

// logTail returns the end of the server's log file, for error messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if err != nil {
		return ""
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
