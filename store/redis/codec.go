package redis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"trawl/parse"
	"trawl/store"
)

// The stored form of an entry (see "Keys" in the package doc):
//
//	fp(8) attempt|depth|redirects|kind|flags|len(url)|len(key)|len(parent)| url key parent
//
// The scripts read the fingerprint (to check that a lease is still the
// URL's), the attempt (Retry adds one) and, for the record of a URL
// refused by a full host queue, the URL, depth, parent and kind.
const (
	entryKeyIsURL = 1 // flags: the key is the URL, not stored again

	// The first byte of a stored URL: what it stands for.
	elideLiteral = 0 // the rest of the string as is
	elideHTTP    = 1 // "http://" + host + the rest
	elideHTTPS   = 2 // "https://" + host + the rest
)

// appendEntry appends e's stored form to dst.
func appendEntry(dst []byte, e *store.Entry) []byte {
	dst = binary.BigEndian.AppendUint64(dst, store.Fingerprint(e.Key))
	flags := 0
	if e.Key == e.URL {
		flags |= entryKeyIsURL
	}
	url, key, parent := elide(e.URL, e.Host), "", elide(e.Parent, e.Host)
	if flags&entryKeyIsURL == 0 {
		key = elide(e.Key, e.Host)
	}
	for _, n := range [...]int{e.Attempt, e.Depth, e.Redirects, int(e.Kind), flags, len(url), len(key), len(parent)} {
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, '|')
	}
	dst = append(dst, url...)
	dst = append(dst, key...)
	return append(dst, parent...)
}

// errBadEntry is a stored entry that does not decode: a bug, or data
// that is not this schema's.
var errBadEntry = errors.New("redis: malformed stored entry")

// decodeEntry decodes a stored entry of host.
func decodeEntry(host, s string) (store.Entry, error) {
	if len(s) < 8 {
		return store.Entry{}, errBadEntry
	}
	rest := s[8:]
	var n [8]int
	for i := range n {
		j := strings.IndexByte(rest, '|')
		if j < 0 {
			return store.Entry{}, errBadEntry
		}
		v, err := strconv.Atoi(rest[:j])
		if err != nil {
			return store.Entry{}, errBadEntry
		}
		n[i], rest = v, rest[j+1:]
	}
	lu, lk, lp := n[5], n[6], n[7]
	if lu < 0 || lk < 0 || lp < 0 || lu+lk+lp != len(rest) {
		return store.Entry{}, errBadEntry
	}
	e := store.Entry{
		Host:      host,
		Attempt:   n[0],
		Depth:     n[1],
		Redirects: n[2],
		Kind:      parse.Kind(n[3]),
		URL:       expand(rest[:lu], host),
		Parent:    expand(rest[lu+lk:], host),
	}
	if n[4]&entryKeyIsURL != 0 {
		e.Key = e.URL
	} else {
		e.Key = expand(rest[lu:lu+lk], host)
	}
	return e, nil
}

// elide returns the stored form of u, a URL of host: its leading
// "http://HOST" or "https://HOST" replaced by one byte.
func elide(u, host string) string {
	if rest, ok := strings.CutPrefix(u, "http://"); ok && strings.HasPrefix(rest, host) {
		return string(rune(elideHTTP)) + rest[len(host):]
	}
	if rest, ok := strings.CutPrefix(u, "https://"); ok && strings.HasPrefix(rest, host) {
		return string(rune(elideHTTPS)) + rest[len(host):]
	}
	if u != "" && u[0] <= elideHTTPS {
		return string(rune(elideLiteral)) + u
	}
	return u
}

// expand undoes elide.
func expand(s, host string) string {
	if s == "" {
		return ""
	}
	switch s[0] {
	case elideLiteral:
		return s[1:]
	case elideHTTP:
		return "http://" + host + s[1:]
	case elideHTTPS:
		return "https://" + host + s[1:]
	}
	return s
}

// fpBytes returns the fingerprint of key as stored at the head of an
// entry.
func fpBytes(key string) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], store.Fingerprint(key))
	return string(b[:])
}

// seenMember returns the seen-set bucket (a key suffix) and member of key
// in a crawl of 2^bits buckets: the top bits of its fingerprint and the
// rest in decimal, so that the bucket is an intset.
func seenMember(key string, bits int) (bucket, member string) {
	fp := store.Fingerprint(key)
	return strconv.FormatUint(fp>>(64-bits), 16), strconv.FormatUint(fp<<bits>>bits, 10)
}

// seenBits returns the bucket bits for a crawl of n URLs: enough buckets
// that they average at most 256 fingerprints (about 150 at n), well
// under the default set-max-intset-entries of 512.
func seenBits(n int64) int {
	b := bits.Len64(uint64(max(n-1, 0)) / 256)
	return min(max(b, 1), 32)
}

// kindNames lists the names of the link kinds after KindPage, for the
// scripts' records: kindNames[i-1] is Kind(i)'s name.
func kindNames() []string {
	var names []string
	for k := parse.KindPage + 1; k.Valid(); k++ {
		names = append(names, k.String())
	}
	return names
}

// toMs returns t in Unix milliseconds for the scripts: 0, "never", for
// the zero time and times before 1970.
func toMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixMilli(), 0)
}

// durMs returns d in milliseconds, rounded up: 0 for d <= 0.
func durMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// fromMs returns the time of Unix milliseconds v; the zero time for 0.
func fromMs(v int64) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// checkName checks a crawl name as Options.Crawl says.
func checkName(crawl string) error {
	ok := crawl != "" && len(crawl) <= 64
	for _, c := range []byte(crawl) {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')
	}
	if !ok {
		return fmt.Errorf("%w: crawl %q: use 1 to 64 letters, digits, '.', '_' and '-'", ErrBadName, crawl)
	}
	return nil
}

// checkWorker checks a worker name as Options.Worker says.
func checkWorker(w string) error {
	ok := w != "" && len(w) <= 200
	for _, c := range []byte(w) {
		ok = ok && c >= ' ' && c != 0x7f
	}
	if !ok {
		return fmt.Errorf("%w: worker %q: use 1 to 200 bytes without control characters", ErrBadName, w)
	}
	return nil
}

// crawlPrefix returns the prefix of every key of crawl.
func crawlPrefix(crawl string) string { return "trawl:{" + crawl + "}:" }
