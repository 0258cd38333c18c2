package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"trawl/fetch"
)

// cookieJar returns the crawl's cookie jar holding the cookies of --cookie
// (name=value, sent to the seeds' hosts) and --cookie-file (a Netscape
// cookies.txt file).
func cookieJar(pairs []string, file string, seeds []string) (http.CookieJar, error) {
	jar := fetch.NewJar()
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("--cookie %q: want name=value", p)
		}
		for _, s := range seeds {
			u, err := url.Parse(s)
			if err != nil {
				continue // reported as a bad seed
			}
			jar.SetCookies(u, []*http.Cookie{{Name: name, Value: strings.TrimSpace(value), Path: "/"}})
		}
	}
	if file != "" {
		if err := loadCookieFile(jar, file); err != nil {
			return nil, err
		}
	}
	return jar, nil
}

// loadCookieFile adds the cookies of a Netscape cookies.txt file, the
// format curl (-c), wget (--save-cookies) and browser extensions write:
// one cookie per line, seven fields separated by tabs (domain, whether
// subdomains match, path, secure, expiry in Unix seconds, name, value);
// lines starting with '#' are comments, except "#HttpOnly_" before a
// domain. Expired cookies are skipped.
func loadCookieFile(jar http.CookieJar, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--cookie-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	now := time.Now()
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		httpOnly := strings.HasPrefix(line, "#HttpOnly_")
		if httpOnly {
			line = strings.TrimPrefix(line, "#HttpOnly_")
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 7 {
			return fmt.Errorf("--cookie-file %s line %d: want 7 tab-separated fields, got %d", path, n, len(fields))
		}
		domain, sub, cpath, secure, expires, name, value := fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]
		exp, err := strconv.ParseInt(expires, 10, 64)
		if err != nil {
			return fmt.Errorf("--cookie-file %s line %d: bad expiry %q", path, n, expires)
		}
		c := &http.Cookie{Name: name, Value: value, Path: cpath, Secure: strings.EqualFold(secure, "TRUE"), HttpOnly: httpOnly}
		if exp != 0 { // 0 is a session cookie
			c.Expires = time.Unix(exp, 0)
			if c.Expires.Before(now) {
				continue
			}
		}
		host := strings.TrimPrefix(domain, ".")
		if strings.EqualFold(sub, "TRUE") {
			c.Domain = host // the jar then sends it to subdomains too
		}
		scheme := "http"
		if c.Secure {
			scheme = "https"
		}
		jar.SetCookies(&url.URL{Scheme: scheme, Host: host, Path: cpath}, []*http.Cookie{c})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--cookie-file %s: %w", path, err)
	}
	return nil
}
