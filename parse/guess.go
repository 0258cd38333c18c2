package parse

import (
	"bytes"
	"net/url"
	"unicode"
	"unicode/utf8"
)

// maxGuessed is the most links one GuessLinks call returns.
const maxGuessed = 10000

// GuessLinks finds URLs written as text, such as in a script, a JSON
// document or plain text: absolute http(s) URLs, and root-relative
// ("/a/b.html") or dot-relative ("./a.png", "../a.css") paths that end in
// a known file extension (see guessKind). Protocol-relative
// "//host/path" counts as absolute. It is a heuristic (text holds
// things that look like URLs and are not), so callers use it only when
// asked (Options.GuessLinks, the CLI's --guess-links). Links are
// resolved against base (a nil base is an empty URL), unique by Key, in
// order, with Source source and a kind from the extension: images,
// media, fonts, scripts, stylesheets and archives are KindAsset; .xml
// sitemaps and feeds KindSitemap when named so (sitemap*.xml,
// sitemap*.xml.gz, *.rss, *.atom, feed.xml, rss.xml, atom.xml); the rest
// KindPage.
//
// A URL ends at ASCII whitespace or a control character, a quote
// (" ' `), one of < > { } | ^, a backslash, an HTML-escaped quote or
// angle bracket (&quot; &#34; &#39; &apos; &lt; &gt;), or a non-ASCII
// space or punctuation mark; trailing punctuation (. , ; : ! ? *) and a
// closing ) or ] without its opening one are not part of it. The JSON
// and JavaScript escapes \/ and \uXXXX are decoded ("http:\/\/a.com\/x"
// is http://a.com/x); any other backslash ends the URL. An absolute URL
// may not follow a letter, digit, '+', '-' or '.' (so "xhttp://" and
// "svn+http://" are not taken); a relative path, a protocol-relative
// one included, must follow a delimiter: the start of text, whitespace,
// a quote, '(' or '=', written as is or as a \uXXXX escape. A
// protocol-relative URL needs a host that looks like a domain name
// ("//cdn.example.com", not "// comment" or "//TODO"), and, unless a
// quote, '(' or '=' comes before it, a path ("//a.example/x"): this
// leaves out JavaScript comments such as "//console.log".
//
// GuessLinks takes time linear in len(text) and returns at most 10,000
// links; the rest of text is then not read.
func GuessLinks(text []byte, base *url.URL, source string) []Link {
	s := newUniqueLinks(base, maxGuessed)
	var buf []byte
	relFrom := 0 // no relative path starts before this: it is inside a rejected one
	for i := 0; i < len(text) && !s.full(); {
		abs := guessAbsoluteAt(text, i)
		if !abs && (i < relFrom || !guessRelativeAt(text, i)) {
			i++
			continue
		}
		var v []byte
		var end int
		v, end, buf = guessRead(text, i, buf)
		v = guessTrim(v)
		k, ok := guessClassify(v, abs, guessQuoted(text, i))
		if ok {
			s.add(string(v), k, source, "")
		} else if !abs {
			// Go on at the next byte, without starting another relative
			// path inside this one (that would take quadratic time).
			relFrom = end
			i++
			continue
		}
		i = max(end, i+1)
	}
	return s.out
}

// guessAbsoluteAt reports whether an absolute http(s) URL starts at
// text[i]: "http://", "https://" (any case) or their JSON-escaped forms
// ("http:\/\/"), not following a letter, digit, '+', '-' or '.'.
func guessAbsoluteAt(text []byte, i int) bool {
	if text[i]|0x20 != 'h' || len(text)-i < len("http://") ||
		text[i+1]|0x20 != 't' || text[i+2]|0x20 != 't' || text[i+3]|0x20 != 'p' {
		return false
	}
	j := i + 4
	if text[j]|0x20 == 's' {
		j++
	}
	if j == len(text) || text[j] != ':' {
		return false
	}
	rest := text[j+1:]
	if !bytes.HasPrefix(rest, []byte("//")) && !bytes.HasPrefix(rest, []byte(`\/\/`)) {
		return false
	}
	r := guessPrev(text, i)
	return !('a' <= r|0x20 && r|0x20 <= 'z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')
}

// guessRelativeAt reports whether a root-, dot- or protocol-relative
// path starts at text[i]: "/", "./" or "../" (or these with "\/" for
// "/") after a delimiter.
func guessRelativeAt(text []byte, i int) bool {
	switch rest := text[i:]; {
	case rest[0] == '/', bytes.HasPrefix(rest, []byte(`\/`)),
		bytes.HasPrefix(rest, []byte("./")), bytes.HasPrefix(rest, []byte(`.\/`)),
		bytes.HasPrefix(rest, []byte("../")), bytes.HasPrefix(rest, []byte(`..\/`)):
	default:
		return false
	}
	r := guessPrev(text, i)
	return r < 0 || guessQuote(r) || r < utf8.RuneSelf && isASCIISpace(byte(r))
}

// guessQuoted reports whether text[i] follows a quote, '(' or '='.
func guessQuoted(text []byte, i int) bool { return guessQuote(guessPrev(text, i)) }

func guessQuote(r rune) bool {
	return r == '"' || r == '\'' || r == '`' || r == '(' || r == '='
}

// guessPrev returns the code point before text[i]: the one a \uXXXX
// escape ending there gives, else the one written there; -1 at the
// start of text.
func guessPrev(text []byte, i int) rune {
	if i >= 6 && text[i-6] == '\\' && text[i-5] == 'u' {
		if r, ok := guessHex4(text[i-4 : i]); ok {
			return r
		}
	}
	if i == 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRune(text[:i])
	return r
}

// guessHex4 decodes four hex digits.
func guessHex4(b []byte) (rune, bool) {
	var r rune
	for _, c := range b[:4] {
		if !isCSSHex(c) {
			return 0, false
		}
		r = r<<4 | rune(cssUnhex(c))
	}
	return r, true
}

// guessRead reads the URL that starts at text[i] and returns it with
// the escapes \/ and \uXXXX decoded, and the index after it. The URL is
// either a part of text or, when it holds escapes, buf's contents; buf
// is returned for reuse.
func guessRead(text []byte, i int, buf []byte) (v []byte, end int, _ []byte) {
	start, j := i, i
	escaped := false
	for j < len(text) {
		c := text[j]
		switch {
		case c == '\\':
			var r rune
			n := 0
			switch {
			case j+1 < len(text) && text[j+1] == '/':
				r, n = '/', 2
			case j+6 <= len(text) && text[j+1] == 'u':
				if h, ok := guessHex4(text[j+2 : j+6]); ok {
					r, n = h, 6
				}
			}
			if n == 0 || !guessURLRune(r) || r == '&' && guessEntity(text[j+n:]) {
				return guessValue(text, start, j, buf, escaped)
			}
			if !escaped {
				buf = buf[:0]
				escaped = true
			}
			buf = append(buf, text[start:j]...)
			buf = utf8.AppendRune(buf, r)
			j += n
			start = j
		case c < utf8.RuneSelf:
			if !guessURLRune(rune(c)) || c == '&' && guessEntity(text[j+1:]) {
				return guessValue(text, start, j, buf, escaped)
			}
			j++
		default:
			r, n := utf8.DecodeRune(text[j:])
			if r == utf8.RuneError && n == 1 || !guessURLRune(r) {
				return guessValue(text, start, j, buf, escaped)
			}
			j += n
		}
	}
	return guessValue(text, start, j, buf, escaped)
}

// guessValue finishes guessRead: the URL ends at text[end].
func guessValue(text []byte, start, end int, buf []byte, escaped bool) ([]byte, int, []byte) {
	if !escaped {
		return text[start:end], end, buf
	}
	buf = append(buf, text[start:end]...)
	return buf, end, buf
}

// guessURLRune reports whether r may be part of a guessed URL.
func guessURLRune(r rune) bool {
	if r < utf8.RuneSelf {
		switch r {
		case '"', '\'', '`', '<', '>', '{', '}', '|', '^', '\\':
			return false
		}
		return r > ' ' && r != 0x7F
	}
	return unicode.IsPrint(r) && !unicode.IsPunct(r)
}

// guessEntity reports whether b, which follows a '&', starts with the
// rest of an HTML character reference for a quote or an angle bracket.
func guessEntity(b []byte) bool {
	for _, e := range [...]string{"quot;", "#34;", "#39;", "apos;", "lt;", "gt;", "#x22;", "#x27;"} {
		if len(b) >= len(e) && lowerIs(string(b[:len(e)]), e) {
			return true
		}
	}
	return false
}

// guessTrim removes the trailing punctuation that ends a sentence or
// surrounds a URL in text from v: . , ; : ! ? * and a ) or ] that
// closes nothing in v.
func guessTrim(v []byte) []byte {
	parens := bytes.Count(v, []byte("(")) - bytes.Count(v, []byte(")"))
	brackets := bytes.Count(v, []byte("[")) - bytes.Count(v, []byte("]"))
	for len(v) > 0 {
		switch v[len(v)-1] {
		case '.', ',', ';', ':', '!', '?', '*':
		case ')':
			if parens >= 0 {
				return v
			}
			parens++
		case ']':
			if brackets >= 0 {
				return v
			}
			brackets++
		default:
			return v
		}
		v = v[:len(v)-1]
	}
	return v
}

// guessClassify returns the kind of the guessed URL v, and whether it
// is taken: an absolute URL (abs) always, a protocol-relative one with
// a plausible host and, unless quoted (it follows a quote, '(' or '='),
// a path, and a root- or dot-relative one when its path ends in a known
// extension.
func guessClassify(v []byte, abs, quoted bool) (Kind, bool) {
	switch {
	case abs:
		_, rest, _ := bytes.Cut(v, []byte("//"))
		k, _ := guessKind(guessPath(rest))
		return k, true
	case bytes.HasPrefix(v, []byte("//")):
		rest := v[2:]
		host := rest
		if i := bytes.IndexAny(rest, "/?#"); i >= 0 {
			host = rest[:i]
		}
		path := guessPath(rest)
		if !guessHost(host) || path == nil && !quoted {
			return 0, false
		}
		k, _ := guessKind(path)
		return k, true
	case bytes.HasPrefix(v, []byte("/")), bytes.HasPrefix(v, []byte("./")), bytes.HasPrefix(v, []byte("../")):
		if i := bytes.IndexAny(v, "?#"); i >= 0 {
			v = v[:i]
		}
		return guessKind(v)
	}
	return 0, false
}

// guessPath returns the path of hostAndPath (what follows "//" in a
// URL) without query and fragment, or nil if it has none.
func guessPath(hostAndPath []byte) []byte {
	i := bytes.IndexAny(hostAndPath, "/?#")
	if i < 0 || hostAndPath[i] != '/' {
		return nil
	}
	path := hostAndPath[i:]
	if j := bytes.IndexAny(path, "?#"); j >= 0 {
		path = path[:j]
	}
	return path
}

// guessHost reports whether h looks like a domain name with an optional
// port: dot-separated labels of letters, digits, '-' and non-ASCII
// bytes, at least two, the last starting with a letter or a non-ASCII
// byte.
func guessHost(h []byte) bool {
	if i := bytes.IndexByte(h, ':'); i >= 0 {
		port := h[i+1:]
		if len(port) == 0 || len(port) > 5 {
			return false
		}
		for _, c := range port {
			if !isCSSDigit(c) {
				return false
			}
		}
		h = h[:i]
	}
	labels, label := 0, 0 // labels seen, length of the current one
	for _, c := range h {
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			labels++
			label = 0
		case isCSSName(c) && c != '_':
			label++
		default:
			return false
		}
	}
	if label == 0 || labels == 0 {
		return false
	}
	last := h[len(h)-label]
	return 'a' <= last|0x20 && last|0x20 <= 'z' || last >= utf8.RuneSelf
}

// guessExts maps the file extensions GuessLinks knows to their kinds.
var guessExts = map[string]Kind{
	// pages and documents
	"html": KindPage, "htm": KindPage, "xhtml": KindPage, "shtml": KindPage,
	"php": KindPage, "asp": KindPage, "aspx": KindPage, "jsp": KindPage,
	"cfm": KindPage, "cgi": KindPage, "xml": KindPage, "json": KindPage,
	"txt": KindPage, "md": KindPage, "csv": KindPage, "pdf": KindPage,
	"doc": KindPage, "docx": KindPage, "xls": KindPage, "xlsx": KindPage,
	"ppt": KindPage, "pptx": KindPage, "odt": KindPage, "rtf": KindPage, "epub": KindPage,
	// feeds
	"rss": KindSitemap, "atom": KindSitemap,
	// stylesheets and scripts
	"css": KindAsset, "js": KindAsset, "mjs": KindAsset, "wasm": KindAsset,
	// images
	"png": KindAsset, "jpg": KindAsset, "jpeg": KindAsset, "gif": KindAsset,
	"webp": KindAsset, "svg": KindAsset, "ico": KindAsset, "avif": KindAsset,
	"bmp": KindAsset, "tif": KindAsset, "tiff": KindAsset, "apng": KindAsset, "jxl": KindAsset,
	// media
	"mp4": KindAsset, "m4v": KindAsset, "mov": KindAsset, "webm": KindAsset,
	"ogg": KindAsset, "ogv": KindAsset, "oga": KindAsset, "opus": KindAsset,
	"mp3": KindAsset, "wav": KindAsset, "m4a": KindAsset, "aac": KindAsset, "flac": KindAsset,
	// fonts
	"woff": KindAsset, "woff2": KindAsset, "ttf": KindAsset, "otf": KindAsset, "eot": KindAsset,
	// archives
	"zip": KindAsset, "gz": KindAsset, "tgz": KindAsset, "tar": KindAsset,
	"bz2": KindAsset, "xz": KindAsset, "7z": KindAsset, "rar": KindAsset,
}

// guessKind returns the kind of a URL whose path (without query) is
// path, from the extension of its last segment (see guessExts, any
// case), and whether the extension is known: KindSitemap for a
// sitemap*.xml or sitemap*.xml.gz file, feed.xml, rss.xml, atom.xml,
// *.rss and *.atom; KindPage for an unknown extension or none.
func guessKind(path []byte) (Kind, bool) {
	name := path[bytes.LastIndexByte(path, '/')+1:]
	dot := bytes.LastIndexByte(name, '.')
	if dot <= 0 || len(name)-dot-1 > 8 {
		return KindPage, false
	}
	var b [8]byte
	ext := b[:len(name)-dot-1]
	for i, c := range name[dot+1:] {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		ext[i] = c
	}
	k, ok := guessExts[string(ext)]
	if !ok {
		return KindPage, false
	}
	if len(name) >= len("sitemap") && lowerIs(string(name[:len("sitemap")]), "sitemap") {
		xml := name // sitemap*.xml
		if string(ext) == "gz" {
			xml = name[:dot] // sitemap*.xml.gz
		}
		if len(xml) >= len(".xml") && lowerIs(string(xml[len(xml)-len(".xml"):]), ".xml") {
			return KindSitemap, true
		}
	}
	if string(ext) == "xml" {
		if n := string(name[:dot]); lowerIs(n, "feed") || lowerIs(n, "rss") || lowerIs(n, "atom") {
			return KindSitemap, true
		}
	}
	return k, true
}
