package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"trawl/crawler"
	"trawl/crawler/metrics"
)

// This file wires --metrics ADDR: a Prometheus /metrics endpoint served
// while the crawl runs (package trawl/crawler/metrics has the metrics).
// The address is checked when the flags are parsed (a bad one is bad
// usage, exit 2); it is listened on before any output is opened (a
// failure, such as an address in use, exits 1, as another process in the
// way does); the server is shut down when run returns.

// metricsAddr is the flag.Value of --metrics: a HOST:PORT to listen on.
type metricsAddr struct{ addr *string }

// addMetricsFlag defines --metrics on fs.
func addMetricsFlag(fs *pflag.FlagSet, addr *string) {
	fs.Var(metricsAddr{addr}, "metrics", "serve Prometheus metrics on http://`ADDR`/metrics while the crawl runs, e.g. 127.0.0.1:9100 (a bare :9100 listens on all interfaces; port 0 picks a free one, printed on stderr)")
}

func (m metricsAddr) String() string {
	if m.addr == nil {
		return ""
	}
	return *m.addr
}

func (metricsAddr) Type() string { return "ADDR" }

// Set checks that s is HOST:PORT, with a port from 0 to 65535 and an
// optional host.
func (m metricsAddr) Set(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return errors.New("want HOST:PORT, such as 127.0.0.1:9100, or :9100 for all interfaces")
	}
	*m.addr = s
	return nil
}

// metricsServer serves /metrics on a listener opened before the crawl.
// A nil *metricsServer (no --metrics) does nothing.
type metricsServer struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed when Serve has returned
}

// listenMetrics listens on addr, if it is set, and says where on stderr
// unless quiet. The server serves nothing until serve is called.
func listenMetrics(addr string, quiet bool, stderr io.Writer) (*metricsServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) {
			err = oe.Err // "bind: address already in use"
		}
		return nil, fmt.Errorf("--metrics %s: %v", addr, err)
	}
	if !quiet {
		fmt.Fprintf(stderr, "trawl: metrics on %s\n", metricsURL(ln.Addr()))
	}
	return &metricsServer{ln: ln}, nil
}

// metricsURL is the URL of /metrics on a listener's address; for an
// unspecified address (all interfaces), through localhost.
func metricsURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/metrics"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "http://" + net.JoinHostPort("localhost", port) + "/metrics (all interfaces)"
	}
	return "http://" + net.JoinHostPort(host, port) + "/metrics"
}

// serve starts serving c's metrics at /metrics, in a goroutine that
// close waits for.
func (m *metricsServer) serve(c *crawler.Crawler) {
	if m == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(c))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.done = make(chan struct{})
	go func() {
		defer close(m.done)
		m.srv.Serve(m.ln) // returns http.ErrServerClosed once close runs
	}()
}

// close shuts the server down, letting a scrape in progress finish for a
// moment, and waits for it; without serve it closes the listener.
func (m *metricsServer) close() {
	if m == nil {
		return
	}
	if m.srv == nil {
		m.ln.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if m.srv.Shutdown(ctx) != nil {
		m.srv.Close()
	}
	<-m.done
}
