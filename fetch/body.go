package fetch

import (
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"

	"trawl/internal/bufpool"
)

// decodeError is a failure of a decoder while the raw body read cleanly.
type decodeError struct {
	enc string
	err error
}

func (e *decodeError) Error() string { return "decoding " + e.enc + ": " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// maxEncodings is how many stacked content codings a body may declare
// (identity aside): more is refused rather than decoded, since each costs a
// decoder and multiplies the work a small body can ask for (the unbounded
// decoder chain of curl's CVE-2022-32206).
const maxEncodings = 2

// tooManyEncodings refuses a body with more than maxEncodings content
// codings. It matches ErrDecode.
type tooManyEncodings struct{ n int }

func (e *tooManyEncodings) Error() string {
	return fmt.Sprintf("cannot decode body: %d content encodings, at most %d are decoded", e.n, maxEncodings)
}

func (e *tooManyEncodings) Is(target error) bool { return target == ErrDecode }

// rawReader reads the wire body, remembering its first error and how many
// bytes it delivered, so a decoder's failure can be told apart from the
// connection's.
type rawReader struct {
	r   io.Reader
	n   int64
	err error // first error other than io.EOF
	eof bool
}

func (r *rawReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err == io.EOF {
		r.eof = true
	} else if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// prefixReader returns pre, then reads r.
type prefixReader struct {
	pre []byte
	r   io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.r.Read(b)
}

var (
	gzipPool   sync.Pool // *gzip.Reader
	brotliPool sync.Pool // *brotli.Reader
)

// decoder wraps r to undo one content coding. release returns pooled state;
// it must be called once the decoder is no longer read.
func decoder(enc string, r io.Reader) (dec io.Reader, release func(), err error) {
	switch enc {
	case "gzip", "x-gzip":
		if zr, _ := gzipPool.Get().(*gzip.Reader); zr != nil {
			if err := zr.Reset(r); err != nil {
				gzipPool.Put(zr)
				return nil, nil, err
			}
			return zr, func() { gzipPool.Put(zr) }, nil
		}
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, func() { gzipPool.Put(zr) }, nil
	case "br":
		br, _ := brotliPool.Get().(*brotli.Reader)
		if br == nil {
			br = brotli.NewReader(r)
		} else if err := br.Reset(r); err != nil {
			return nil, nil, err
		}
		return br, func() { brotliPool.Put(br) }, nil
	case "deflate":
		// RFC 9110 says zlib; many servers send raw deflate. A zlib stream
		// starts with a CMF/FLG pair: method 8 and a multiple of 31.
		var hdr [2]byte
		n, err := io.ReadFull(r, hdr[:])
		if err != nil && err != io.ErrUnexpectedEOF {
			return nil, nil, err
		}
		pr := &prefixReader{pre: hdr[:n], r: r}
		if n == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			zr, err := zlib.NewReader(pr)
			if err != nil {
				return nil, nil, err
			}
			return zr, func() { zr.Close() }, nil
		}
		fr := flate.NewReader(pr)
		return fr, func() { fr.Close() }, nil
	}
	return r, func() {}, nil // identity and unknown codings: as sent
}

// encodings lists resp's content codings in the order they were applied,
// lower case, without identity; n counts them all, but at most
// maxEncodings+1 are listed.
func encodings(h http.Header) (encs []string, n int) {
	for _, v := range h.Values("Content-Encoding") {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "" || strings.EqualFold(tok, "identity") {
				continue
			}
			if n++; n <= maxEncodings+1 {
				encs = append(encs, strings.ToLower(tok))
			}
		}
	}
	return encs, n
}

// maxPrealloc is the most bytes readBody allocates up front for a body of
// declared length; a longer one grows as it arrives. It matters only with
// a MaxBody above it (or none).
const maxPrealloc = 16 << 20

// readBody reads resp's body decoded, keeping at most maxBody bytes (which
// must be less than math.MaxInt64). When the decoded body is longer it
// returns the first maxBody bytes and truncated; the rest is never read.
// A decoder failure while the wire body read cleanly is a *decodeError; a
// wire failure is returned as is. More than maxEncodings content codings is
// a *tooManyEncodings, with nothing read. A body captured for
// Config.Capture (captureBody) without content coding gets the body
// returned as its payload instead of a copy of what was read.
//
// buf, when not nil, is the bufpool buffer body lives in, for
// Response.Release to give back. A body shared with a capture is not
// pooled: the capture's owner keeps it.
func readBody(resp *http.Response, maxBody int64) (body []byte, buf *[]byte, truncated bool, err error) {
	encs, n := encodings(resp.Header)
	if n > maxEncodings {
		return nil, nil, false, &tooManyEncodings{n: n}
	}
	// A body captured for Config.Capture without content coding is its
	// own payload: the capture shares it rather than keeping a copy.
	cb, _ := resp.Body.(*captureBody)
	if len(encs) > 0 {
		cb = nil
	}
	if cb != nil {
		cb.share()
	}
	raw := &rawReader{r: resp.Body}
	var r io.Reader = raw
	for i := len(encs) - 1; i >= 0; i-- {
		dec, release, derr := decoder(encs[i], r)
		if derr != nil {
			return nil, nil, false, classify(raw, encs[i], derr)
		}
		defer release()
		r = dec
	}

	limit := maxBody + 1
	size := int64(16 << 10) // a first guess for a body of unknown size
	if cl := resp.ContentLength; cl >= 0 && len(encs) == 0 {
		// Known size: read straight into a buffer of that size (+1 to
		// see whether more follows), trusting the server's word for at
		// most maxPrealloc bytes.
		size = min(cl, maxBody, maxPrealloc) + 1
	}
	if cb == nil {
		buf, err = readInto(bufpool.Get(int(min(size, limit))), io.LimitReader(r, limit), limit, true)
		body = *buf
	} else if resp.ContentLength >= 0 && len(encs) == 0 {
		b := make([]byte, 0, size)
		_, err = readInto(&b, io.LimitReader(r, limit), limit, false)
		body = b
	} else {
		body, err = readPooled(io.LimitReader(r, limit), limit)
	}
	if err != nil {
		if buf != nil {
			bufpool.Put(buf)
		}
		return nil, nil, false, classify(raw, strings.Join(encs, ","), err)
	}
	if int64(len(body)) > maxBody {
		body, truncated = body[:maxBody], true
	} else if !raw.eof {
		drain(resp.Body) // bytes after the end of the coded stream; lets the connection be reused
	}
	if cb != nil {
		cb.setPayload(body, truncated)
	}
	return body, buf, truncated, nil
}

// classify decides whose failure err is: the wire's (returned as the wire's
// error) or the decoder's (*decodeError). A decoder failing on an empty body
// is no failure: a 204 or 304 may carry Content-Encoding without a body.
func classify(raw *rawReader, enc string, err error) error {
	if raw.err != nil {
		return raw.err
	}
	if raw.n == 0 && raw.eof {
		return nil
	}
	return &decodeError{enc: enc, err: err}
}

// readInto reads r to EOF appending to *bp, growing it by doubling but
// never asking for more than limit bytes of capacity, so a huge body costs
// at most about 2*limit bytes of allocation (4*limit when pooled: a pooled
// buffer may be up to twice what was asked, its size class). It returns
// the buffer read into: bp, or the one it grew into. With pooled, *bp is a
// bufpool buffer, and so is the buffer returned; one outgrown goes back to
// the pool.
func readInto(bp *[]byte, r io.Reader, limit int64, pooled bool) (*[]byte, error) {
	if cap(*bp) == 0 {
		*bp = make([]byte, 0, 512)
	}
	for {
		b := *bp
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		*bp = b
		if err == io.EOF {
			return bp, nil
		}
		if err != nil {
			return bp, err
		}
		if int64(len(b)) >= limit {
			return bp, nil
		}
		if len(b) == cap(b) {
			size := min(2*int64(cap(b)), limit)
			var nbp *[]byte
			if pooled {
				nbp = bufpool.Get(int(size))
			} else {
				nb := make([]byte, 0, size)
				nbp = &nb
			}
			*nbp = append((*nbp)[:0], b...)
			if pooled {
				bufpool.Put(bp)
			}
			bp = nbp
		}
	}
}

// scratch holds reusable read buffers for bodies of unknown size; buffers
// that grew beyond maxScratch are not kept.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxScratch = 1 << 20

// readPooled reads r to EOF (at most limit bytes) through a pooled buffer
// and returns an exact-size copy: a body of unknown length costs one
// allocation of its own size.
func readPooled(r io.Reader, limit int64) ([]byte, error) {
	bp := scratch.Get().(*[]byte)
	*bp = (*bp)[:0]
	bp, err := readInto(bp, r, limit, false)
	b := *bp
	var out []byte
	if len(b) > 0 {
		out = make([]byte, len(b))
		copy(out, b)
	}
	if cap(b) <= maxScratch {
		*bp = b[:0]
		scratch.Put(bp)
	}
	return out, err
}

// drain discards up to 64 KiB of what is left of body so its connection can
// be reused; bodies longer than that are cut off by Close.
func drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, 64<<10)
}
