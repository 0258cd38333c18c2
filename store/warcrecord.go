package store

// This file builds the records of WARC.Write: digests, record IDs, the
// revisit decision and the gzip member of each record.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base32"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/gzip"
	"github.com/nlnwa/gowarc/v3"

	"trawl/fetch"
)

// A warcBatch holds the records of one Write while they are built.
// Batches are pooled: get one with newWARCBatch and give it back with
// free.
type warcBatch struct {
	prep   []warcPrep
	infoID uuid.UUID     // the warcinfo ID the records name
	out    bytes.Buffer  // the records, each a gzip member
	hdr    []byte        // a record's header
	sha    hash.Hash     // SHA-1, for blocks in two pieces
	rnd    *bufio.Reader // random bytes for record IDs
}

// warcPrep is what Write knows of one exchange: its records' IDs, its
// digests (each computed once, when first needed) and how its response is
// written.
type warcPrep struct {
	ex            *fetch.Exchange
	uri           string
	date          time.Time
	reqID, respID uuid.UUID
	reqSum        [sha1.Size]byte // of Request
	paySum        [sha1.Size]byte // of Payload
	blockSum      [sha1.Size]byte // of Response + Payload, if haveBlock
	hdrSum        [sha1.Size]byte // of Response, if haveHdr
	haveBlock     bool
	haveHdr       bool
	dedupable     bool       // the payload may be written as a revisit
	revisit       bool       // it is, of orig
	orig          warcOrigin // the record with the payload
	respStart     int        // where the response member starts in out
}

var warcBatches = sync.Pool{New: func() any {
	return &warcBatch{sha: sha1.New(), rnd: bufio.NewReaderSize(rand.Reader, 512)}
}}

func newWARCBatch() *warcBatch { return warcBatches.Get().(*warcBatch) }

// free gives b back to the pool, unless a huge fetch grew its buffer.
func (b *warcBatch) free() {
	clear(b.prep) // let go of the exchanges
	b.prep = b.prep[:0]
	if b.out.Cap() > 4<<20 {
		return
	}
	b.out.Reset()
	warcBatches.Put(b)
}

var emptySHA1 = sha1.Sum(nil)

// prepare fills b.prep for ex: record IDs, request and payload digests,
// and whether each payload is known, as the index says now.
func (w *WARC) prepare(b *warcBatch, ex []*fetch.Exchange) error {
	for _, e := range ex {
		if e == nil {
			return fmt.Errorf("%s: write of a nil exchange", warcErr)
		}
		p := warcPrep{ex: e, uri: fieldValue(e.URL), date: e.Started}
		if p.date.IsZero() {
			p.date = time.Now()
		}
		if err := newRecordID(b.rnd, &p.reqID); err != nil {
			return err
		}
		if err := newRecordID(b.rnd, &p.respID); err != nil {
			return err
		}
		p.reqSum = sha1.Sum(e.Request)
		p.paySum = sha1.Sum(e.Payload)
		p.dedupable = w.dedup && len(e.Payload) > 0 && !e.Truncated
		b.prep = append(b.prep, p)
	}
	if !w.dedup {
		return nil
	}
	w.idxMu.RLock()
	defer w.idxMu.RUnlock()
	for i := range b.prep {
		if p := &b.prep[i]; p.dedupable {
			p.orig, p.revisit = w.idx[p.paySum]
		}
	}
	return nil
}

// newRecordID sets id to a new random (version 4) UUID read from r, as
// uuid.NewRandomFromReader does, without making id escape.
func newRecordID(r *bufio.Reader, id *uuid.UUID) error {
	b, err := r.Peek(len(id)) // not Read: id would escape
	if err != nil {
		return fmt.Errorf("%s: record ID: %w", warcErr, err)
	}
	r.Discard(copy(id[:], b))
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // variant RFC 4122
	return nil
}

// decide settles, for real, which responses are revisits, and adds the
// other payloads to the index. It reports whether a decision changed
// since prepare. It requires w.mu.
func (w *WARC) decide(b *warcBatch) (changed bool) {
	if !w.dedup {
		return false
	}
	w.idxMu.Lock()
	defer w.idxMu.Unlock()
	for i := range b.prep {
		p := &b.prep[i]
		if !p.dedupable {
			continue
		}
		o, ok := w.idx[p.paySum]
		if ok != p.revisit || o != p.orig {
			p.revisit, p.orig, changed = ok, o, true
		}
		if !ok && len(w.idx) < w.idxMax {
			w.idx[p.paySum] = warcOrigin{id: p.respID, uri: p.uri, date: p.date.UnixNano()}
		}
	}
	return changed
}

// build writes b's records into b.out, naming the warcinfo record infoID.
func (w *WARC) build(b *warcBatch, infoID uuid.UUID) {
	b.out.Reset()
	b.infoID = infoID
	for i := range b.prep {
		p := &b.prep[i]
		e := p.ex
		h := append(b.hdr[:0], "WARC/1.1\r\n"...)
		h = appendField(h, gowarc.WarcType, gowarc.Request.String())
		h = appendIDField(h, gowarc.WarcRecordID, p.reqID)
		h = appendCommon(h, p, infoID, p.respID)
		h = appendField(h, gowarc.ContentType, "application/http;msgtype=request")
		h = appendDigestField(h, gowarc.WarcBlockDigest, &p.reqSum)
		h = appendDigestField(h, gowarc.WarcPayloadDigest, &emptySHA1)
		h = appendLengthField(h, len(e.Request))
		w.member(&b.out, h, e.Request, nil)

		p.respStart = b.out.Len()
		h = append(h[:0], "WARC/1.1\r\n"...)
		if p.revisit {
			if !p.haveHdr {
				p.hdrSum, p.haveHdr = sha1.Sum(e.Response), true
			}
			h = appendField(h, gowarc.WarcType, gowarc.Revisit.String())
			h = appendIDField(h, gowarc.WarcRecordID, p.respID)
			h = appendCommon(h, p, infoID, p.reqID)
			h = appendField(h, gowarc.WarcProfile, gowarc.ProfileIdenticalPayloadDigestV1_1)
			h = appendIDField(h, gowarc.WarcRefersTo, p.orig.id)
			h = appendField(h, gowarc.WarcRefersToTargetURI, p.orig.uri)
			h = appendDateField(h, gowarc.WarcRefersToDate, time.Unix(0, p.orig.date))
			h = appendField(h, gowarc.ContentType, "application/http;msgtype=response")
			h = appendDigestField(h, gowarc.WarcBlockDigest, &p.hdrSum)
			h = appendDigestField(h, gowarc.WarcPayloadDigest, &p.paySum)
			h = appendField(h, gowarc.WarcTruncated, "length")
			h = appendLengthField(h, len(e.Response))
			w.member(&b.out, h, e.Response, nil)
		} else {
			if !p.haveBlock {
				b.sha.Reset()
				b.sha.Write(e.Response)
				b.sha.Write(e.Payload)
				b.sha.Sum(p.blockSum[:0])
				p.haveBlock = true
			}
			h = appendField(h, gowarc.WarcType, gowarc.Response.String())
			h = appendIDField(h, gowarc.WarcRecordID, p.respID)
			h = appendCommon(h, p, infoID, p.reqID)
			h = appendField(h, gowarc.ContentType, "application/http;msgtype=response")
			h = appendDigestField(h, gowarc.WarcBlockDigest, &p.blockSum)
			h = appendDigestField(h, gowarc.WarcPayloadDigest, &p.paySum)
			if e.Truncated {
				h = appendField(h, gowarc.WarcTruncated, "length")
			}
			h = appendLengthField(h, len(e.Response)+len(e.Payload))
			w.member(&b.out, h, e.Response, e.Payload)
		}
		b.hdr = h
	}
}

// appendCommon appends the fields that a request record and its response
// share, and WARC-Concurrent-To naming the other, other.
func appendCommon(h []byte, p *warcPrep, infoID, other uuid.UUID) []byte {
	h = appendDateField(h, gowarc.WarcDate, p.date)
	h = appendField(h, gowarc.WarcTargetURI, p.uri)
	if ip := p.ex.IP; ip != "" && !strings.ContainsFunc(ip, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		h = appendField(h, gowarc.WarcIPAddress, ip)
	}
	h = appendIDField(h, gowarc.WarcWarcinfoID, infoID)
	return appendIDField(h, gowarc.WarcConcurrentTo, other)
}

var crlfcrlf = []byte("\r\n\r\n")

// member appends to out a gzip member of one record: its header h, then
// its block, a and b, and the two line ends that end a record.
func (w *WARC) member(out *bytes.Buffer, h, a, b []byte) {
	zw := w.gz.Get().(*gzip.Writer)
	zw.Reset(out)
	// Writes to a bytes.Buffer do not fail.
	zw.Write(h)
	zw.Write(a)
	zw.Write(b)
	zw.Write(crlfcrlf)
	zw.Close()
	w.gz.Put(zw)
}

// fieldValue returns s with the bytes that cannot be in a WARC header
// value (control characters, space and bytes beyond ASCII, which a URI
// does not hold) percent-encoded.
func fieldValue(s string) string {
	bad := func(c byte) bool { return c <= ' ' || c >= 0x7f }
	i := 0
	for i < len(s) && !bad(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; bad(c) {
			b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xF])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

func appendField(h []byte, name, value string) []byte {
	return append(append(append(append(h, name...), ": "...), value...), "\r\n"...)
}

func appendIDField(h []byte, name string, id uuid.UUID) []byte {
	h = append(append(h, name...), ": <urn:uuid:"...)
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			h = append(h, '-')
		}
		h = append(h, hex[c>>4], hex[c&0xF])
	}
	return append(h, ">\r\n"...)
}

// appendDateField appends t in UTC as RFC 3339 with as many fractional
// digits as it needs, up to nanoseconds (WARC 1.1 allows them, and
// gowarc writes them so).
func appendDateField(h []byte, name string, t time.Time) []byte {
	h = append(append(h, name...), ": "...)
	return append(t.UTC().AppendFormat(h, time.RFC3339Nano), "\r\n"...)
}

func appendDigestField(h []byte, name string, sum *[sha1.Size]byte) []byte {
	h = append(append(h, name...), ": sha1:"...)
	var b32 [32]byte
	base32.StdEncoding.Encode(b32[:], sum[:])
	return append(append(h, b32[:]...), "\r\n"...)
}

// appendLengthField appends Content-Length, the last field, and the empty
// line that ends the header.
func appendLengthField(h []byte, n int) []byte {
	h = append(append(h, gowarc.ContentLength...), ": "...)
	return append(strconv.AppendInt(h, int64(n), 10), "\r\n\r\n"...)
}
