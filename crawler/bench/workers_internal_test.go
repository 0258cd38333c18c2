package bench

import (
	"slices"
	"testing"
	"time"
)

// TestRedisInfoParse reads the fields a scaling run compares from INFO
// text as Redis 7 writes it, and their difference per page.
func TestRedisInfoParse(t *testing.T) {
	before := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:2.250000\r\nused_cpu_sys_children:9.0\r\n" +
		"# Memory\r\nused_memory:1000000\r\nused_memory_human:976.56K\r\n" +
		"# Commandstats\r\ncmdstat_evalsha:calls=100,usec=500,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_zadd:calls=40,usec=40,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n"
	after := "used_cpu_sys:2.000000\r\nused_cpu_user:2.750000\r\nused_memory:3000000\r\n" +
		"cmdstat_evalsha:calls=2100,usec=9000\r\ncmdstat_eval:calls=10,usec=50\r\ncmdstat_zadd:calls=4040,usec=1\r\ncmdstat_info:calls=3,usec=1\r\n"
	var b, a redisInfo
	if err := b.parse(before); err != nil {
		t.Fatal(err)
	}
	if err := a.parse(after); err != nil {
		t.Fatal(err)
	}
	got := a.since(b, 1000)
	want := RedisCost{CPU: time.Second, CPUPer1000: 1, Memory: 2_000_000, MemoryPer1000: 2_000_000,
		Scripts: 2010, ScriptsPerPage: 2.01, Commands: 6013, CommandsPerPage: 6.013}
	if *got != want {
		t.Errorf("since: got %+v, want %+v", *got, want)
	}
	if err := b.parse("cmdstat_get:usec=1\r\n"); err == nil {
		t.Error("parse of a commandstats line without calls: got no error")
	}
}

// TestWorkerArgs: each worker crawls the site from its root with
// politeness off, -c and --per-host at Concurrency, its own output and
// name, every host resolved to the site.
func TestWorkerArgs(t *testing.T) {
	o, err := WorkersOptions{Options: Options{Hosts: 2, Concurrency: 8}, Redis: "redis://127.0.0.1:6379/0", Crawl: "b", Command: "trawl"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	got := o.workerArgs(1, "127.0.0.1:9", "/tmp/w1.jsonl")
	want := []string{"--redis", "redis://127.0.0.1:6379/0", "--crawl", "b", "--worker", "b-w1",
		"-o", "/tmp/w1.jsonl", "-q", "-c", "8", "--per-host", "8", "--rate", "-1",
		"--ignore-robots", "--no-sitemaps", "--scope", "domain",
		"--resolve", "h0.bench.test:80:127.0.0.1:9", "--resolve", "h1.bench.test:80:127.0.0.1:9",
		"http://h0.bench.test/p/0"}
	if !slices.Equal(got, want) {
		t.Errorf("workerArgs:\ngot  %q\nwant %q", got, want)
	}
	if o.Workers != 1 {
		t.Errorf("Workers: got %d, want the default 1", o.Workers)
	}
}
