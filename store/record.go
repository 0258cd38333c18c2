package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"trawl/parse"
)

// Record is the one terminal record written for each URL the crawler
// decides about. Every record is exactly one of:
//
//   - fetched: the URL was requested and got a response, recorded
//     whatever its status (Status is set; a 404 is fetched);
//   - failed: it was requested, at least once, and ended in an error
//     (Error is set, and Status too when a response came, such as a 429
//     whose Retry-After was too long to wait for);
//   - skipped: it was never requested (Skipped says why: robots, depth,
//     …).
//
// Fetched and failed records are the requested ones: those with Skipped
// empty. The predicates Fetched and Failed tell them apart.
//
// # Schema
//
// JSONL and CSV write the same fields, in this order and under these
// names, and a record has a field exactly when the table says; a field
// it does not have is left out of its JSON object and is an empty cell
// in its CSV row. "Set" means not the zero value (non-empty, non-zero,
// true, non-nil); "requested" means that Skipped is empty. json.Marshal
// writes a Record the same way (see MarshalJSON).
//
//	name             type    present                    value
//	url              string  always                     the URL as the page wrote it
//	final_url        string  set                        the URL the response came from, if not url
//	location         string  set                        where a redirect (3xx) pointed, resolved
//	status           int     requested and set          HTTP status of the response (none without one)
//	depth            int     always                     link hops from a seed (seeds are 0)
//	parent           string  set                        the page the link was found on (none for seeds)
//	content_type     string  set                        the response's Content-Type
//	bytes            int     set                        body bytes read
//	truncated        bool    set (true)                 the body was cut at the size limit
//	title            string  set                        the page's <title>
//	canonical        string  set                        its <link rel="canonical">, resolved
//	description      string  set                        its <meta name="description">
//	lang             string  set                        its <html lang>
//	links            int     set                        links found on the page, all kinds
//	rendered         bool    set (true)                 the page was rendered in a browser (crawler.Config.Render)
//	render_requests  int     rendered, even if 0        requests the rendered page made (any method, refused ones too)
//	render_clicks    int     rendered, even if 0        elements clicked in the rendered page
//	fetched_at       string  requested and set          when the response came: see FetchedAtLayout
//	duration_ms      int     requested, even if 0       milliseconds from the request to the end of the body
//	attempts         int     requested, even if 0       how many times the URL was requested
//	error            string  set                        why the URL failed
//	skipped          string  set                        why the URL was not requested
//	kind             string  set (not "page")           what the link to the URL is for: asset, form or sitemap
//	outlinks         array   set (not empty)            the page's links, when the crawl keeps them: see below
//	warc_file        string  set                        the WARC file that holds the response (its base name)
//	warc_offset      int     warc_file set, even if 0   where the response or revisit record starts in warc_file
//	data             any     set                        what the page hook attached, as JSON
//
// Each element of outlinks is an object with the fields of a Link, in
// this order: url, kind (always, "page" too) and source, the last even
// when empty; then method when set (a form's) and nofollow, as true, when
// set:
//
//	{"url":"http://a.test/s.css","kind":"asset","source":"link[href]"}
//	{"url":"http://a.test/q","kind":"form","source":"form[action]","method":"POST","nofollow":true}
//
// A skipped record never made a request, so it has none of status,
// fetched_at, duration_ms and attempts, even if the Record's fields hold
// values. A requested record always has duration_ms and attempts, even
// when they are 0, so that those columns have no holes but the skipped
// records. duration_ms is 0 for a response in under a millisecond, and,
// as the crawler fills it in, for a failed request without a response,
// which also has no status and no fetched_at.
//
// In CSV, numbers are written in decimal, truncated as "true", fetched_at
// and kind as in JSON without the quotes, and outlinks and data as their
// JSON text; text cells (and data) that a spreadsheet would take for a
// formula get a leading ' (see CSV). In JSON, strings are escaped as
// encoding/json escapes them, but for <, > and &, which are written as
// they are; data is what encoding/json makes of the value.
//
// A kind that parse does not define, of the record or of one of its
// outlinks, cannot be written by name: the sinks refuse the record.
//
// The json tags name the fields for decoding a JSONL line with
// encoding/json (kind is read by parse.Kind's UnmarshalText, and absent
// is parse.KindPage); encoding follows the table above, not the tags.
type Record struct {
	URL         string `json:"url"`
	FinalURL    string `json:"final_url"`
	Location    string `json:"location"`
	Status      int    `json:"status"`
	Depth       int    `json:"depth"`
	Parent      string `json:"parent"`
	ContentType string `json:"content_type"`
	Bytes       int64  `json:"bytes"`
	Truncated   bool   `json:"truncated"`
	Title       string `json:"title"`
	Canonical   string `json:"canonical"`
	Description string `json:"description"`
	Lang        string `json:"lang"`
	Links       int    `json:"links"`
	// Rendered says that the page was loaded in a browser
	// (crawler.Config.Render, the CLI's --render) and its links read from
	// the rendered DOM, the requests it made (RenderRequests, of any
	// method) and the navigations its clicked elements caused
	// (RenderClicks elements clicked). The two counts are written only
	// with Rendered.
	Rendered       bool      `json:"rendered"`
	RenderRequests int       `json:"render_requests"`
	RenderClicks   int       `json:"render_clicks"`
	FetchedAt      time.Time `json:"fetched_at"`
	DurationMS     int64     `json:"duration_ms"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error"`
	Skipped        string    `json:"skipped"`
	// Kind is what the link that found the URL is for; parse.KindPage
	// (the zero value) is not written.
	Kind parse.Kind `json:"kind"`
	// OutLinks are the page's out-links, when the crawl keeps them
	// (crawler.Config.RecordLinks, the CLI's --links).
	OutLinks []Link `json:"outlinks"`
	// WARCFile and WARCOffset say where the URL's response is archived,
	// with a WARC archive (crawler.Config.Archive, the CLI's --warc): the
	// file's base name and the offset of its response or revisit record.
	WARCFile   string `json:"warc_file"`
	WARCOffset int64  `json:"warc_offset"`
	// Data is whatever the user's page hook attached; it is written as JSON.
	Data any `json:"data"`
}

// Link is one out-link of a page as a record lists it: the fields of
// parse.Link that say what and where the link is (see parse.Link).
type Link struct {
	URL      string     `json:"url"`
	Kind     parse.Kind `json:"kind"`
	Source   string     `json:"source"`
	Method   string     `json:"method,omitempty"` // forms only
	NoFollow bool       `json:"nofollow,omitempty"`
}

// FetchedAtLayout is the time layout of fetched_at: RFC 3339 in UTC with
// exactly three fractional digits (milliseconds, truncated). Every value
// has the same 24 characters, so fetched_at sorts as text in time order.
// A FetchedAt whose year in UTC is outside 0–9999 cannot be written this
// way: the sinks refuse the record.
const FetchedAtLayout = "2006-01-02T15:04:05.000Z"

// MarshalJSON encodes r as JSONL writes it, following the table in
// Record's doc. (json.Marshal then escapes <, > and & in strings, as it
// does by default; JSONL does not.) A struct that embeds a Record gets
// this method too, and is marshaled as that Record alone.
func (r Record) MarshalJSON() ([]byte, error) {
	e := newEncoder()
	defer e.free()
	return e.appendJSON(nil, &r)
}

// valueKind is how a field's value is written.
type valueKind uint8

const (
	kindText  valueKind = iota // a JSON string; a CSV text cell
	kindInt                    // a number
	kindBool                   // true (false is never written)
	kindTime                   // FetchedAtLayout: a JSON string, a bare CSV cell
	kindName                   // a parse.Kind's name: a JSON string, a bare CSV cell
	kindLinks                  // Links as a JSON array (see appendLinks); in CSV, its JSON text
	kindData                   // encoding/json's encoding of a value
)

// The fields of a record, in the order they are written.
const (
	fieldURL = iota
	fieldFinalURL
	fieldLocation
	fieldStatus
	fieldDepth
	fieldParent
	fieldContentType
	fieldBytes
	fieldTruncated
	fieldTitle
	fieldCanonical
	fieldDescription
	fieldLang
	fieldLinks
	fieldRendered
	fieldRenderRequests
	fieldRenderClicks
	fieldFetchedAt
	fieldDurationMS
	fieldAttempts
	fieldError
	fieldSkipped
	fieldKind
	fieldOutLinks
	fieldWARCFile
	fieldWARCOffset
	fieldData
	numFields
)

// schema names the fields and says how each is written; Record.has
// says which a record has.
var schema = [numFields]struct {
	name string
	kind valueKind
}{
	fieldURL:            {"url", kindText},
	fieldFinalURL:       {"final_url", kindText},
	fieldLocation:       {"location", kindText},
	fieldStatus:         {"status", kindInt},
	fieldDepth:          {"depth", kindInt},
	fieldParent:         {"parent", kindText},
	fieldContentType:    {"content_type", kindText},
	fieldBytes:          {"bytes", kindInt},
	fieldTruncated:      {"truncated", kindBool},
	fieldTitle:          {"title", kindText},
	fieldCanonical:      {"canonical", kindText},
	fieldDescription:    {"description", kindText},
	fieldLang:           {"lang", kindText},
	fieldLinks:          {"links", kindInt},
	fieldRendered:       {"rendered", kindBool},
	fieldRenderRequests: {"render_requests", kindInt},
	fieldRenderClicks:   {"render_clicks", kindInt},
	fieldFetchedAt:      {"fetched_at", kindTime},
	fieldDurationMS:     {"duration_ms", kindInt},
	fieldAttempts:       {"attempts", kindInt},
	fieldError:          {"error", kindText},
	fieldSkipped:        {"skipped", kindText},
	fieldKind:           {"kind", kindName},
	fieldOutLinks:       {"outlinks", kindLinks},
	fieldWARCFile:       {"warc_file", kindText},
	fieldWARCOffset:     {"warc_offset", kindInt},
	fieldData:           {"data", kindData},
}

// jsonKeys are the fields' keys as JSONL writes them, with the brace or
// comma before: url, always present, opens the object.
var jsonKeys = func() (keys [numFields]string) {
	for i, f := range schema {
		keys[i] = `,"` + f.name + `":`
	}
	keys[fieldURL] = `{"url":`
	return keys
}()

// csvHeader is the header row CSV writes, naming its columns.
var csvHeader = func() []string {
	h := make([]string, numFields)
	for i, f := range schema {
		h[i] = f.name
	}
	return h
}()

// fieldSet is a set of fields, bit i for field i, iterated in schema
// order with next.
type fieldSet uint32

// Every field has a bit in a fieldSet.
var _ [32 - numFields]struct{}

// next removes the first field from s and returns it; s must not be
// empty.
func (s *fieldSet) next() int {
	i := bits.TrailingZeros32(uint32(*s))
	*s &= *s - 1
	return i
}

// has returns the fields r has. It holds the presence rules of Record's
// table for every encoding.
func (r *Record) has() fieldSet {
	requested := r.Skipped == ""
	set := fieldSet(1<<fieldURL | 1<<fieldDepth)
	add := func(i int, ok bool) {
		if ok {
			set |= 1 << i
		}
	}
	add(fieldFinalURL, r.FinalURL != "")
	add(fieldLocation, r.Location != "")
	add(fieldStatus, requested && r.Status != 0)
	add(fieldParent, r.Parent != "")
	add(fieldContentType, r.ContentType != "")
	add(fieldBytes, r.Bytes != 0)
	add(fieldTruncated, r.Truncated)
	add(fieldTitle, r.Title != "")
	add(fieldCanonical, r.Canonical != "")
	add(fieldDescription, r.Description != "")
	add(fieldLang, r.Lang != "")
	add(fieldLinks, r.Links != 0)
	add(fieldRendered, r.Rendered)
	add(fieldRenderRequests, r.Rendered)
	add(fieldRenderClicks, r.Rendered)
	add(fieldFetchedAt, requested && !r.FetchedAt.IsZero())
	add(fieldDurationMS, requested)
	add(fieldAttempts, requested)
	add(fieldError, r.Error != "")
	add(fieldSkipped, !requested)
	add(fieldKind, r.Kind != parse.KindPage)
	add(fieldOutLinks, len(r.OutLinks) > 0)
	add(fieldWARCFile, r.WARCFile != "")
	add(fieldWARCOffset, r.WARCFile != "")
	add(fieldData, r.Data != nil)
	return set
}

// field returns r's field i (in schema order): its text for a kindText
// field, its number for a kindInt one (and nothing for the others, which
// appendValue reads from r).
func (r *Record) field(i int) (s string, n int64) {
	switch i {
	case fieldURL:
		s = r.URL
	case fieldFinalURL:
		s = r.FinalURL
	case fieldLocation:
		s = r.Location
	case fieldStatus:
		n = int64(r.Status)
	case fieldDepth:
		n = int64(r.Depth)
	case fieldParent:
		s = r.Parent
	case fieldContentType:
		s = r.ContentType
	case fieldBytes:
		n = r.Bytes
	case fieldTitle:
		s = r.Title
	case fieldCanonical:
		s = r.Canonical
	case fieldDescription:
		s = r.Description
	case fieldLang:
		s = r.Lang
	case fieldLinks:
		n = int64(r.Links)
	case fieldRenderRequests:
		n = int64(r.RenderRequests)
	case fieldRenderClicks:
		n = int64(r.RenderClicks)
	case fieldDurationMS:
		n = r.DurationMS
	case fieldAttempts:
		n = int64(r.Attempts)
	case fieldError:
		s = r.Error
	case fieldSkipped:
		s = r.Skipped
	case fieldWARCFile:
		s = r.WARCFile
	case fieldWARCOffset:
		n = r.WARCOffset
	}
	return s, n
}

// encoder holds the buffers to encode a record. Encoders are pooled: get
// one with newEncoder and give it back with free.
type encoder struct {
	buf  []byte        // JSONL's line; CSV's cells that are not text
	data bytes.Buffer  // Data's JSON, written by enc
	enc  *json.Encoder // writes to data without escaping <, > and &
}

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(&e.data)
	e.enc.SetEscapeHTML(false)
	return e
}}

func newEncoder() *encoder {
	e := encoders.Get().(*encoder)
	e.buf = e.buf[:0]
	return e
}

// free gives e back to the pool, unless a huge record grew its buffers.
func (e *encoder) free() {
	if cap(e.buf) > sinkBufferSize || e.data.Cap() > sinkBufferSize {
		return
	}
	e.data.Reset()
	encoders.Put(e)
}

// appendJSON appends r as a JSON object, without a newline.
func (e *encoder) appendJSON(dst []byte, r *Record) ([]byte, error) {
	for set := r.has(); set != 0; {
		i := set.next()
		s, n := r.field(i)
		dst = append(dst, jsonKeys[i]...)
		if schema[i].kind == kindText {
			dst = appendJSONString(dst, s)
			continue
		}
		var err error
		if dst, err = e.appendValue(dst, r, i, n, true); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// csvRow fills row with r's cells. The cells that are not text are
// formatted in e.buf and then all made one string, for one allocation.
func (e *encoder) csvRow(row *[numFields]string, r *Record) error {
	var values fieldSet    // the non-text fields r has
	var end [numFields]int // where each ends in e.buf
	for set := r.has(); set != 0; {
		i := set.next()
		s, n := r.field(i)
		if schema[i].kind == kindText {
			row[i] = textCell(validUTF8(s))
			continue
		}
		var err error
		if e.buf, err = e.appendValue(e.buf, r, i, n, false); err != nil {
			return err
		}
		values |= 1 << i
		end[i] = len(e.buf)
	}
	cells, start := string(e.buf), 0
	for values != 0 {
		i := values.next()
		row[i] = cells[start:end[i]]
		start = end[i]
		if schema[i].kind == kindData {
			row[i] = textCell(row[i])
		}
	}
	return nil
}

// validUTF8 returns s with each byte that is not part of valid UTF-8
// replaced by U+FFFD, as JSON strings have it (see appendJSONString), so
// that a CSV cell holds the same text as JSONL.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			b = append(b, string(utf8.RuneError)...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return string(b)
}

// appendValue appends r's field i, which r has and which is not text; n
// is its number from field. quote puts a time in quotes, for JSON.
func (e *encoder) appendValue(dst []byte, r *Record, i int, n int64, quote bool) ([]byte, error) {
	switch schema[i].kind {
	case kindInt:
		return strconv.AppendInt(dst, n, 10), nil
	case kindBool:
		return append(dst, "true"...), nil
	case kindTime:
		t := r.FetchedAt.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("encode fetched_at of %s: year %d is outside 0-9999", r.URL, y)
		}
		if quote {
			dst = append(dst, '"')
		}
		dst = appendFetchedAt(dst, t)
		if quote {
			dst = append(dst, '"')
		}
		return dst, nil
	case kindName:
		if !r.Kind.Valid() {
			_, err := r.Kind.MarshalText()
			return nil, fmt.Errorf("encode kind of %s: %w", r.URL, err)
		}
		name := r.Kind.String()
		if quote {
			return append(append(append(dst, '"'), name...), '"'), nil
		}
		return append(dst, name...), nil
	case kindLinks:
		return appendLinks(dst, r)
	case kindData:
		e.data.Reset()
		if err := e.enc.Encode(r.Data); err != nil {
			return nil, fmt.Errorf("encode data of %s: %w", r.URL, err)
		}
		return append(dst, bytes.TrimSuffix(e.data.Bytes(), []byte{'\n'})...), nil
	}
	panic(fmt.Sprintf("store: field %s has no value to append", schema[i].name))
}

// appendLinks appends r.OutLinks as a JSON array of objects with the
// fields of Link in order (see Record's doc), as json.Marshal writes them
// but for HTML escaping, which it leaves out as appendJSONString does.
func appendLinks(dst []byte, r *Record) ([]byte, error) {
	dst = append(dst, '[')
	for i := range r.OutLinks {
		l := &r.OutLinks[i]
		if !l.Kind.Valid() {
			_, err := l.Kind.MarshalText()
			return nil, fmt.Errorf("encode outlinks of %s: link to %s: %w", r.URL, l.URL, err)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"url":`...)
		dst = appendJSONString(dst, l.URL)
		dst = append(dst, `,"kind":"`...)
		dst = append(dst, l.Kind.String()...)
		dst = append(dst, `","source":`...)
		dst = appendJSONString(dst, l.Source)
		if l.Method != "" {
			dst = append(dst, `,"method":`...)
			dst = appendJSONString(dst, l.Method)
		}
		if l.NoFollow {
			dst = append(dst, `,"nofollow":true`...)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}

// appendFetchedAt appends t, in UTC with a year in 0-9999, as
// t.AppendFormat(dst, FetchedAtLayout) does, in a third of the time.
func appendFetchedAt(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+month/10), byte('0'+month%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return dst
}

const hex = "0123456789abcdef"

// jsonSafe holds the bytes that stand for themselves in a JSON string
// (without HTML escaping): ASCII but control characters, " and \.
var jsonSafe = func() (safe [256]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		safe[b] = b != '"' && b != '\\'
	}
	return safe
}()

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with SetEscapeHTML(false): ", \ and control characters are
// escaped, invalid UTF-8 becomes U+FFFD, and U+2028 and U+2029 are
// escaped for JavaScript's sake; <, > and & are left as they are.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if jsonSafe[s[i]] {
			i++
			continue
		}
		if b := s[i]; b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
