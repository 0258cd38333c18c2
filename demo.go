package main

import (
	"net/http"
	"time"

	"trawl/fixtures"
)

// demoHosts are the host names the demo site answers to.
func demoHosts(site string) []string {
	switch site {
	case "hostile":
		return []string{hostileHost, "slow." + hostileHost}
	case "links":
		return []string{fixtures.LinksHost}
	}
	return []string{fixtures.WWW, fixtures.Blog}
}

// startDemo serves the demo site on loopback and points opts at it: its
// seed, and a transport that dials only the demo server. The caller must
// Close the server.
func startDemo(opts *options) *fixtures.Server {
	handler, seed := fixtures.SiteHandler(fixtures.Basic()), "http://"+fixtures.WWW+"/"
	switch opts.demoSite {
	case "hostile":
		handler, seed = fixtures.Hostile(), "http://"+hostileHost+"/hostile/"
	case "links":
		handler, seed = fixtures.Links(), "http://"+fixtures.LinksHost+"/"
	}
	srv := fixtures.NewServer(handler)
	opts.cfg.Transport = demoTransport(srv.Resolve(demoHosts(opts.demoSite)...))
	opts.cfg.Resolve = nil // --resolve was refused; the transport dials
	opts.seeds = []string{seed}
	return srv
}

// demoTransport is the demo's transport: the default fetcher's, except
// that it dials only the addresses in resolve ("host:port" to the demo
// server) and refuses every other one at once, without DNS, so the demo
// never leaves loopback whatever its flags (--scope any included) and
// links to other hosts end as error records.
func demoTransport(resolve map[string]string) *http.Transport {
	return &http.Transport{
		DialContext:            fixtures.DialFunc(resolve),
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		MaxResponseHeaderBytes: 1 << 20,
		DisableCompression:     true, // fetch decodes bodies itself
	}
}
