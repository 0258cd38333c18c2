package parse

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html/charset"

	"trawl/internal/urlpath"
)

// The sitemaps protocol's limits on one file (sitemaps.org): a sitemap
// or sitemap index lists at most MaxSitemapURLs URLs and is at most
// MaxSitemapBytes uncompressed.
const (
	MaxSitemapURLs  = 50000
	MaxSitemapBytes = 50 << 20
)

// ErrSitemapLimit is wrapped by the error Sitemap returns with a file
// past one of the protocol's limits; the URLs before the limit are
// returned with it.
var ErrSitemapLimit = errors.New("sitemap exceeds the protocol's limits")

// SitemapFile is what Sitemap found in one file.
type SitemapFile struct {
	// Format is "urlset", "sitemapindex", "text", "rss" or "atom"; it is
	// empty when the file is none of them (Sitemap then returns an
	// error). RSS 1.0 (RDF) feeds are "rss" too.
	Format string
	// Links are the file's URLs, unique by Key, in order: for a urlset,
	// text sitemap or feed, KindPage (Source "sitemap", "rss", "atom"),
	// plus image:loc entries of Google's image extension as KindAsset
	// ("sitemap:image"); for a sitemap index, KindSitemap ("sitemapindex").
	// A URL listed twice keeps its first place and the kind of the
	// occurrence a crawl is most likely to follow (see Link.Kind).
	Links []Link
	// Compressed is set when the file was gzip-compressed.
	Compressed bool
}

// Sitemap reads a sitemap file fetched from u, whose Content-Type header
// value is contentType: an XML sitemap (urlset) or sitemap index, an RSS
// 2.0, RSS 1.0 (RDF) or Atom feed, or a text sitemap (one URL per line),
// any of them gzip-compressed (recognized by its magic bytes, whatever
// the type). The format is told by the document's root element, or for
// text, by the absence of markup: after an optional UTF-8 byte order
// mark, the first byte that is not white space is not '<'. contentType
// is not needed for any of this and is ignored.
//
// The URLs are the text of <loc> in <url> and <sitemap>, of <image:loc>
// in <image:image> in <url>, of <link> in an RSS <item> (or, in RSS 1.0,
// the item's rdf:about when it has no <link>), the href of an Atom
// entry's <link> whose rel is absent or "alternate", and the lines of a
// text sitemap that start with "http://" or "https://". Elements are
// matched by local name, whatever their namespace. The values are
// trimmed of white space. Relative URLs, which the protocol forbids but
// feeds use, are resolved against the xml:base in force, else against
// u; only http(s) URLs count, whatever their host (scope is the
// caller's business). The fragment is dropped, and so is a URL whose
// key is u's. XML is decoded in the encoding its declaration names
// (UTF-8 without one, or when the name is unknown); a text sitemap is
// UTF-8. Entities declared in a DTD are not expanded: a reference to
// one stays as written.
//
// The decompressed size is checked as it is read: past MaxSitemapBytes,
// or past MaxSitemapURLs entries (the URL elements and lines above,
// counted before deduplication and validation, images included),
// Sitemap stops and returns what it found before with an error wrapping
// ErrSitemapLimit. A plain file longer than MaxSitemapBytes gets that
// error even if its document ends before the limit. In XML, a run of
// more than 8 MiB without '<' (a text, comment or tag that
// encoding/xml would hold whole) ends the file too, with an error that
// does not wrap ErrSitemapLimit. Malformed XML ends the file at the
// error, with the URLs found before it and the error. A file with
// markup whose root element is none of urlset, sitemapindex, rss,
// rdf:RDF and feed, such as an HTML page, gives an error, no links and
// an empty Format. Content after the root element's end is not read.
//
// Sitemap always returns a non-nil *SitemapFile. It does not modify or
// keep body, and is safe for concurrent use. A nil u is treated as an
// empty URL (relative URLs are then dropped).
func Sitemap(body []byte, contentType string, u *url.URL) (*SitemapFile, error) {
	return readSitemap(body, u, sitemapLimits{MaxSitemapURLs, MaxSitemapBytes, maxTextRun})
}

// sitemapLimits are the limits on one file: Sitemap's, or smaller ones
// in tests.
type sitemapLimits struct {
	urls  int // entries
	bytes int // decompressed bytes
	run   int // bytes between two '<' in XML
}

// maxTextRun bounds the bytes from one '<' to the next in an XML file.
// encoding/xml holds a text, comment or tag whole, at a cost of two or
// three times its size; a sitemap's are short (URLs have at most 2,048
// characters), and a feed's seldom reach a megabyte.
const maxTextRun = 8 << 20

// The errors of the limits, made into messages by sitemapLimits.describe.
var (
	errTooManyURLs = errors.New("too many URLs")
	errTooLarge    = errors.New("too large")
	errTextRun     = errors.New("too much text without markup")
)

// describe returns the error Sitemap returns for err.
func (lim sitemapLimits) describe(err error) error {
	switch {
	case errors.Is(err, errTooManyURLs):
		return fmt.Errorf("more than %d URLs; the rest are ignored: %w", lim.urls, ErrSitemapLimit)
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("larger than %s uncompressed; the rest is ignored: %w", sizeString(lim.bytes), ErrSitemapLimit)
	case errors.Is(err, errTextRun):
		return fmt.Errorf("more than %s without markup; the rest is ignored", sizeString(lim.run))
	}
	return err
}

func sizeString(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readSitemap is Sitemap with limits.
func readSitemap(body []byte, u *url.URL, lim sitemapLimits) (*SitemapFile, error) {
	s := sitemapScan{f: new(SitemapFile), lim: lim}
	if u != nil {
		s.page = *u
	}
	var err error
	if s.self, _, err = Normalize(&s.page); err != nil {
		s.self = ""
	}
	s.size = len(body)
	var src io.Reader = bytes.NewReader(body)
	if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
		s.f.Compressed = true
		if len(body) >= 18 {
			// The uncompressed size of the last member, modulo 2^32, is
			// the last 4 bytes (RFC 1952); there is usually one member.
			s.size = int(min(binary.LittleEndian.Uint32(body[len(body)-4:]), uint32(lim.bytes)))
		}
		zr, err := gzip.NewReader(src)
		if err != nil {
			return s.f, fmt.Errorf("parse: sitemap %q: gunzip: %w", s.page.Redacted(), err)
		}
		src = gunzipReader{zr}
	}
	size := 64 << 10 // a text line longer than this is not a URL
	if !s.f.Compressed {
		size = min(size, len(body)+1) // room for the whole file (bufio makes it at least 16)
	}
	err = s.read(bufio.NewReaderSize(&capReader{r: src, n: int64(lim.bytes)}, size))
	if err == nil && !s.f.Compressed && len(body) > lim.bytes {
		err = errTooLarge
	}
	s.f.Links = s.links
	if len(s.links) < cap(s.links)/2 {
		s.f.Links = append([]Link(nil), s.links...) // do not keep room that expect made in vain
	}
	if err != nil {
		return s.f, fmt.Errorf("parse: sitemap %q: %w", s.page.Redacted(), lim.describe(err))
	}
	return s.f, nil
}

// sitemapScan is the state of Sitemap while it reads one file.
type sitemapScan struct {
	f     *SitemapFile
	page  url.URL // the sitemap's URL
	self  string  // page's key, or "" if it has none
	lim   sitemapLimits
	n     int // entries met, against lim.urls
	links []Link
	seen  map[string]int // key to index in links
	size  int            // of the file uncompressed, to guess the number of links

	// XML only.
	rdf   bool      // the root is rdf:RDF (RSS 1.0)
	names []string  // local names of the open elements, root first
	bases []xmlBase // xml:base attributes in force, innermost last
	text  []byte    // text of the element being captured
	cap   int       // depth (len(names)) of that element; 0 if none
	kind  Kind      // kind of the captured URL
	src   string    // source of the captured URL
	about string    // rdf:about of the open RSS 1.0 item
	item  int       // depth of that item; 0 if none
	found bool      // a <link> of that item was read
}

// xmlBase is an xml:base in force from the element at depth.
type xmlBase struct {
	depth int
	url   *url.URL
}

// read reads a decompressed file from r, text or XML.
func (s *sitemapScan) read(r *bufio.Reader) error {
	if b, _ := r.Peek(3); string(b) == "\xef\xbb\xbf" {
		r.Discard(3)
	}
	b, err := skipReaderSpace(r)
	switch {
	case err == io.EOF:
		s.f.Format = "text" // empty
		return nil
	case err != nil:
		return err
	case b == '<':
		return s.readXML(r)
	}
	s.f.Format = "text"
	return s.readText(r)
}

// skipReaderSpace discards the ASCII white space at the start of r, and
// returns the byte after it, which it leaves in r.
func skipReaderSpace(r *bufio.Reader) (byte, error) {
	for {
		buf, err := r.Peek(max(r.Buffered(), 1))
		if len(buf) == 0 {
			return 0, err
		}
		i := 0
		for i < len(buf) && isASCIISpace(buf[i]) {
			i++
		}
		r.Discard(i)
		if i < len(buf) {
			return buf[i], nil
		}
	}
}

// readText reads a text sitemap: lines that start with "http://" or
// "https://" (after white space) are URLs, the rest is ignored. A line
// longer than r's buffer is ignored too; the protocol's URLs have at
// most 2,048 characters.
func (s *sitemapScan) readText(r *bufio.Reader) error {
	for {
		if _, err := skipReaderSpace(r); err != nil {
			if err == io.EOF {
				err = nil // blank lines, skipped in bulk, end the file
			}
			return err
		}
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			for err == bufio.ErrBufferFull {
				_, err = r.ReadSlice('\n')
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if err != nil && err != io.EOF {
			return err // the line is cut short: drop it
		}
		if line = bytes.Trim(line, asciiSpace); hasHTTPPrefix(line) {
			if err := s.count(); err != nil {
				return err
			}
			s.add(nil, string(line), KindPage, "sitemap")
		}
		if err == io.EOF {
			return nil
		}
	}
}

// hasHTTPPrefix reports whether b starts with "http://" or "https://",
// ignoring ASCII case.
func hasHTTPPrefix(b []byte) bool {
	return len(b) >= len("http://") && bytes.EqualFold(b[:len("http://")], []byte("http://")) ||
		len(b) >= len("https://") && bytes.EqualFold(b[:len("https://")], []byte("https://"))
}

// readXML reads an XML sitemap, sitemap index or feed from r, which
// starts with '<'.
func (s *sitemapScan) readXML(r io.Reader) error {
	d := xml.NewDecoder(&runReader{r: r, max: s.lim.run})
	d.Strict = false
	d.CharsetReader = xmlCharsetReader
	for {
		tok, err := d.Token()
		if err != nil {
			switch {
			case s.f.Format != "" && err == io.EOF:
				return nil // the decoder reports an unclosed root; this is only for safety
			case s.f.Format != "":
				return err
			case err == io.EOF:
				return errors.New("not a sitemap or feed (no root element)")
			}
			if _, ok := err.(*xml.SyntaxError); ok {
				return fmt.Errorf("not a sitemap or feed: %w", err)
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if s.f.Format == "" {
				switch t.Name.Local {
				case "urlset", "sitemapindex", "rss":
					s.f.Format = t.Name.Local
				case "RDF":
					s.f.Format, s.rdf = "rss", true
				case "feed":
					s.f.Format = "atom"
				default:
					return fmt.Errorf("not a sitemap or feed (root element <%s>)", t.Name.Local)
				}
			}
			if err := s.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			if root, err := s.end(); root || err != nil {
				return err // nil when the root element ended
			}
		case xml.CharData:
			if s.cap > 0 && s.cap == len(s.names) {
				s.text = append(s.text, t...)
			}
		}
	}
}

// xmlCharsetReader is the xml.Decoder's CharsetReader. A label that
// golang.org/x/net/html/charset does not know is read as UTF-8, and so
// is UTF-16: the decoder could read the declaration, so the document is
// in an ASCII-compatible encoding whatever it says.
func xmlCharsetReader(label string, input io.Reader) (io.Reader, error) {
	switch enc, name := charset.Lookup(label); {
	case enc == nil, name == "utf-8", name == "utf-16be", name == "utf-16le":
		return input, nil
	}
	return charset.NewReaderLabel(label, input)
}

// start handles an element's start tag: it pushes its name and xml:base,
// and starts capturing its text, or adds its URL, when it holds one.
func (s *sitemapScan) start(t xml.StartElement) error {
	var parent, grand string
	if n := len(s.names); n >= 2 {
		parent, grand = s.names[n-1], s.names[n-2]
	} else if n == 1 {
		parent = s.names[0]
	}
	local := t.Name.Local
	s.names = append(s.names, local)
	depth := len(s.names)
	for _, a := range t.Attr {
		if a.Name.Local == "base" && (a.Name.Space == "http://www.w3.org/XML/1998/namespace" || a.Name.Space == "xml") {
			if b, ok := resolve(s.base(), a.Value); ok {
				s.bases = append(s.bases, xmlBase{depth, b})
			}
		}
	}
	switch s.f.Format {
	case "urlset":
		switch {
		case local == "loc" && parent == "url":
			return s.capture(KindPage, "sitemap")
		case local == "loc" && parent == "image" && grand == "url":
			return s.capture(KindAsset, "sitemap:image")
		}
	case "sitemapindex":
		if local == "loc" && parent == "sitemap" {
			return s.capture(KindSitemap, "sitemapindex")
		}
	case "rss":
		switch {
		case local == "item" && s.item == 0:
			s.item, s.found, s.about = depth, false, ""
			if s.rdf {
				s.about = xmlAttr(t, "about")
			}
		case local == "link" && parent == "item" && s.item == depth-1:
			s.found = true
			return s.capture(KindPage, "rss")
		}
	case "atom":
		if local == "link" && parent == "entry" {
			if rel := strings.Trim(xmlAttr(t, "rel"), asciiSpace); rel == "" || strings.EqualFold(rel, "alternate") || rel == atomAlternate {
				if err := s.count(); err != nil {
					return err
				}
				s.add(s.base(), xmlAttr(t, "href"), KindPage, "atom")
			}
		}
	}
	return nil
}

// atomAlternate is the IRI form of Atom's rel="alternate" (RFC 4287 §4.2.7.2).
const atomAlternate = "http://www.iana.org/assignments/relation/alternate"

// count counts an entry, and fails past the limit.
func (s *sitemapScan) count() error {
	if s.n++; s.n > s.lim.urls {
		return errTooManyURLs
	}
	return nil
}

// capture counts an entry and starts capturing the text of the element
// just pushed, a URL of kind and source.
func (s *sitemapScan) capture(kind Kind, source string) error {
	if err := s.count(); err != nil {
		return err
	}
	s.cap, s.kind, s.src, s.text = len(s.names), kind, source, s.text[:0]
	return nil
}

// end handles an element's end tag: it adds the URL captured in the
// element, or the rdf:about of an RSS 1.0 item without <link>, and pops
// the element. It reports whether the root element ended.
func (s *sitemapScan) end() (root bool, err error) {
	depth := len(s.names)
	if s.cap == depth {
		s.cap = 0
		s.add(s.base(), string(bytes.TrimSpace(s.text)), s.kind, s.src)
	}
	if s.item == depth {
		s.item = 0
		if s.rdf && !s.found && s.about != "" {
			// The entry of an item without <link>, counted here.
			if err := s.count(); err != nil {
				return false, err
			}
			s.add(s.base(), s.about, KindPage, "rss")
		}
	}
	for len(s.bases) > 0 && s.bases[len(s.bases)-1].depth >= depth {
		s.bases = s.bases[:len(s.bases)-1]
	}
	s.names = s.names[:depth-1]
	return depth == 1, nil
}

// base returns the URL relative URLs are resolved against: the
// innermost xml:base in force, or the sitemap's URL.
func (s *sitemapScan) base() *url.URL {
	if n := len(s.bases); n > 0 {
		return s.bases[n-1].url
	}
	return &s.page
}

// xmlAttr returns the value of t's attribute with the local name, in any
// namespace, or "".
func xmlAttr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// add resolves href against base (the sitemap's URL if nil) and adds it
// to s.links unless it is not http(s), is the sitemap itself or is
// there already; a URL already there takes kind and source if a crawl
// is more likely to follow that kind.
func (s *sitemapScan) add(base *url.URL, href string, kind Kind, source string) {
	if base == nil {
		base = &s.page
	}
	u, ok := resolve(base, href)
	if !ok {
		return
	}
	u.Fragment, u.RawFragment = "", ""
	key, host, err := Normalize(u)
	if err != nil || key == s.self {
		return
	}
	if i, dup := s.seen[key]; dup {
		if l := &s.links[i]; linkRank(kind, "") < linkRank(l.Kind, "") {
			l.Kind, l.Source = kind, source
		}
		return
	}
	if s.seen == nil {
		n := s.expect()
		s.seen = make(map[string]int, n)
		s.links = make([]Link, 0, n)
	}
	s.seen[key] = len(s.links)
	l := Link{URL: key, Key: key, Host: host, Kind: kind, Source: source}
	if !urlpath.StringIs(u, key) {
		l.URL = u.String()
	}
	s.links = append(s.links, l)
}

// expect guesses the number of links in the file from its size: a text
// sitemap spends about 40 bytes on a URL, an XML one 100, a feed many
// more.
func (s *sitemapScan) expect() int {
	per := 100
	switch s.f.Format {
	case "text":
		per = 40
	case "rss", "atom":
		per = 1000
	}
	return min(s.size/per, s.lim.urls)
}

// capReader reads r and fails with errTooLarge once it would read
// more than n bytes in all. Errors are sticky.
type capReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.n <= 0 {
		// At the limit: see whether anything is left.
		var b [1]byte
		n, err := 0, error(nil)
		for n == 0 && err == nil {
			n, err = c.r.Read(b[:])
		}
		if n > 0 {
			err = errTooLarge
		}
		c.err = err
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	c.err = err
	return n, err
}

// runReader reads r, and fails with errTextRun at a run of more than max
// bytes without '<'; it returns the bytes before the run first.
type runReader struct {
	r   io.Reader
	max int
	run int // bytes since the last '<'
}

func (r *runReader) Read(p []byte) (int, error) {
	if r.run > r.max {
		return 0, errTextRun
	}
	n, err := r.r.Read(p)
	b := p[:n]
	for {
		i := bytes.IndexByte(b, '<')
		if i < 0 {
			i = len(b)
		}
		if r.run += i; r.run > r.max {
			if n > len(b) {
				return n - len(b), nil
			}
			return 0, errTextRun
		}
		if i == len(b) {
			return n, err
		}
		b, r.run = b[i+1:], 0
		if len(b) <= r.max {
			// No run in b is too long; the last one goes on.
			r.run = len(b) - 1 - bytes.LastIndexByte(b, '<')
			return n, err
		}
	}
}

// gunzipReader marks the errors of a gzip.Reader as such.
type gunzipReader struct{ r *gzip.Reader }

func (g gunzipReader) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("gunzip: %w", err)
	}
	return n, err
}
