package redistest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"trawl/store/redis/redistest"
)

func TestStartRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := redistest.Start(t, redistest.Options{AppendOnly: true, Fsync: "always"})
	if !strings.HasPrefix(srv.URL(), "redis://127.0.0.1:") {
		t.Fatalf("URL = %q", srv.URL())
	}
	c := srv.Client(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if srv.UsedMemory(t) <= 0 {
		t.Fatal("used_memory not positive")
	}
	if got := srv.Info(t, "persistence")["aof_enabled"]; got != "1" {
		t.Fatalf("aof_enabled = %q, want 1", got)
	}

	srv.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	srv.Restart(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after kill and restart GET = %q, %v; want v (appendfsync always)", got, err)
	}

	srv.Stop()
	srv.Restart(t)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after stop and restart GET = %q, %v; want v", got, err)
	}
}
