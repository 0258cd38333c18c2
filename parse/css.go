package parse

import (
	"bytes"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/transform"
)

// CSS finds the URLs a stylesheet loads: every url(...) (including
// @font-face src and image-set), and every @import, whether written as
// @import url(...) or @import "...". body is a fetched text/css file
// whose Content-Type header value is contentType; its encoding follows
// CSS Syntax §3.2 (a byte order mark, the charset parameter, an @charset
// rule, else UTF-8). Links are resolved against base (a nil base is an
// empty URL), unique by Key, in order, all KindAsset, with Source "css"
// for url() and "css@import" for imports (the first occurrence of a URL
// gives its source). Comments and strings are tokenized as CSS does, so
// a url(...) inside a comment is not a link; see cssRefs for what
// counts. CSS never fails: broken CSS gives what could be read. It
// takes time linear in len(body).
func CSS(body []byte, contentType string, base *url.URL) []Link {
	s := newUniqueLinks(base, 0)
	cssRefs(decodeStylesheet(body, contentType), func(u string, imp bool) {
		if imp {
			s.add(u, KindAsset, "css@import", "")
		} else {
			s.add(u, KindAsset, "css", "")
		}
	})
	return s.out
}

// cssRefs calls fn for each URL in css (UTF-8 text) in order, with
// imp set for an @import. It is what CSS, <style> elements and style
// attributes share.
//
// css is tokenized in one pass as CSS Syntax Level 3 does, as far as
// URLs are concerned (comments, strings, escapes, idents, functions,
// numbers, url tokens). The URLs are:
//
//   - the value of every url token (url(a.png), unquoted, whitespace
//     around it allowed, escapes decoded; a bad url token, such as one
//     holding a quote or a space inside, ends at ')' and gives nothing);
//   - the string that follows a url( or src( function (url("a.png"));
//   - the string or url that follows an @import at-keyword;
//   - the strings directly inside image-set() and its vendor-prefixed
//     forms (-webkit-image-set(), -moz-image-set()), not those nested
//     in another function such as type("image/avif").
//
// Other strings, and comments, are skipped whole, so a url( inside one
// is nothing. Escapes are decoded in names too (u\72l(a) is a url).
// Open brackets of all three kinds are counted, not matched by kind, to
// tell image-set's own arguments. An empty URL and a fragment-only one
// (url(#filter), which CSS Values 4 makes a reference into the document
// itself) are left out; invalid UTF-8 and NUL come out as U+FFFD.
// cssRefs takes time linear in len(css); besides a few allocations
// per call, it allocates only for each URL it finds that holds escapes.
func cssRefs(css string, fn func(u string, imp bool)) {
	t := cssTokenizer{s: css, fn: fn}
	t.run()
}

// What the next token after whitespace and comments means, in cssTokenizer.run.
const (
	cssNextAny       = iota
	cssNextImport    // after @import: a string or url is an import
	cssNextURL       // after url( or src( with a quote: the string is a URL
	cssNextImportURL // after @import url(" : the string is an import
)

// cssTokenizer is the state of one cssRefs call.
type cssTokenizer struct {
	s     string
	fn    func(u string, imp bool)
	buf   []byte // scratch for values and names that hold escapes
	depth int    // open brackets and functions
	sets  []int  // depth inside each open image-set(), innermost last
	next  int    // what the next token means: cssNextAny, ...
}

func (t *cssTokenizer) run() {
	s := t.s
	for i := 0; i < len(s); {
		c := s[i]
		class := cssBytes[c]
		if class&cssSpace != 0 {
			i++
			continue
		}
		if c == '/' && i+1 < len(s) && s[i+1] == '*' {
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				return
			}
			i += end + 4
			continue
		}
		pending := t.next
		t.next = cssNextAny
		switch {
		case class&cssNameStart != 0: // the usual case, first
			i = t.ident(i, pending)
		case c == '"' || c == '\'':
			inSet := len(t.sets) > 0 && t.sets[len(t.sets)-1] == t.depth
			want := pending != cssNextAny || inSet
			v, end, ok := t.str(i, want)
			if ok && want {
				t.emit(v, pending == cssNextImport || pending == cssNextImportURL)
			}
			i = end
		case c == '(' || c == '[' || c == '{':
			t.depth++
			i++
		case c == ')' || c == ']' || c == '}':
			if t.depth > 0 {
				t.depth--
				for len(t.sets) > 0 && t.sets[len(t.sets)-1] > t.depth {
					t.sets = t.sets[:len(t.sets)-1]
				}
			}
			i++
		case c == '<' && strings.HasPrefix(s[i:], "<!--"):
			i += 4
		case cssStartsNumber(s, i):
			i = t.numeric(i)
		case c == '-' && strings.HasPrefix(s[i:], "-->"):
			i += 3
		case c == '#' && i+1 < len(s) && (isCSSName(s[i+1]) || cssValidEscape(s, i+1)):
			i = t.nameEnd(i + 1)
		case c == '@' && cssStartsIdent(s, i+1):
			end := t.nameEnd(i + 1)
			if t.nameIs(i+1, end, "import") {
				t.next = cssNextImport
			}
			i = end
		case cssStartsIdent(s, i):
			i = t.ident(i, pending)
		default:
			i++
		}
	}
}

// ident consumes the ident-like token (ident, function or url) that
// starts at t.s[i], after a token that gave pending, and returns the
// index after it.
func (t *cssTokenizer) ident(i, pending int) int {
	s := t.s
	end := t.nameEnd(i)
	if end == len(s) || s[end] != '(' {
		return end
	}
	t.depth++
	switch {
	case t.nameIs(i, end, "url"):
		j := end + 1
		for j < len(s) && isCSSSpace(s[j]) {
			j++
		}
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			t.next = cssNextURL
			if pending == cssNextImport {
				t.next = cssNextImportURL
			}
			return j
		}
		t.depth-- // a url token, not a function
		v, end, ok := t.url(j)
		if ok {
			t.emit(v, pending == cssNextImport)
		}
		return end
	case t.nameIs(i, end, "src"):
		t.next = cssNextURL
	case t.nameIs(i, end, "image-set"), t.nameIs(i, end, "-webkit-image-set"), t.nameIs(i, end, "-moz-image-set"):
		t.sets = append(t.sets, t.depth)
	}
	return end + 1
}

// emit passes a URL to fn, unless it is empty or only a fragment.
func (t *cssTokenizer) emit(u string, imp bool) {
	if u == "" || u[0] == '#' {
		return
	}
	if strings.IndexByte(u, 0) >= 0 {
		u = strings.ReplaceAll(u, "\x00", "\uFFFD")
	}
	if !utf8.ValidString(u) {
		u = strings.ToValidUTF8(u, "\uFFFD")
	}
	t.fn(u, imp)
}

// str consumes the string token whose quote is at t.s[i], returning its
// value (built only when want is set), the index after it and whether
// it is a string token: ok is false for a bad string, which an
// unescaped newline ends (the newline is not consumed).
func (t *cssTokenizer) str(i int, want bool) (v string, end int, ok bool) {
	s := t.s
	quote := s[i]
	start := i + 1 // start of the run not yet copied into t.buf
	escaped := false
	j := start
	for j < len(s) {
		switch c := s[j]; {
		case c == quote:
			return t.value(escaped, start, j), j + 1, true
		case c == '\n' || c == '\r' || c == '\f':
			return "", j, false
		case c == '\\':
			if want {
				if !escaped {
					t.buf = t.buf[:0]
				}
				t.buf = append(t.buf, s[start:j]...)
				escaped = true
			}
			switch {
			case j+1 == len(s): // a backslash at the end is dropped
				j++
			case isCSSNewline(s[j+1]): // a line continuation
				j = skipCSSNewline(s, j+1)
			default:
				j = t.escape(j+1, want)
			}
			start = j
		default:
			j++
		}
	}
	return t.value(escaped, start, j), j, true
}

// value returns the string whose escapes went into t.buf, if escaped
// holds, with t.s[start:end] appended; else t.s[start:end].
func (t *cssTokenizer) value(escaped bool, start, end int) string {
	if !escaped {
		return t.s[start:end]
	}
	t.buf = append(t.buf, t.s[start:end]...)
	return string(t.buf)
}

// url consumes the url token whose value starts at t.s[i] (after
// "url(" and whitespace), returning its value, the index after it and
// whether it is a url token: ok is false for a bad url, whose remnants
// are consumed up to ')'.
func (t *cssTokenizer) url(i int) (v string, end int, ok bool) {
	s := t.s
	start := i
	escaped := false
	for j := i; j < len(s); {
		c := s[j]
		switch {
		case c == ')':
			return t.value(escaped, start, j), j + 1, true
		case isCSSSpace(c):
			k := j
			for k < len(s) && isCSSSpace(s[k]) {
				k++
			}
			if k == len(s) || s[k] == ')' {
				return t.value(escaped, start, j), min(k+1, len(s)), true
			}
			return "", t.badURL(k), false
		case c == '"' || c == '\'' || c == '(' || c <= 0x08 && c != 0 || c == 0x0B || 0x0E <= c && c <= 0x1F || c == 0x7F:
			return "", t.badURL(j), false
		case c == '\\':
			if !cssValidEscape(s, j) {
				return "", t.badURL(j), false
			}
			if !escaped {
				t.buf = t.buf[:0]
				escaped = true
			}
			t.buf = append(t.buf, s[start:j]...)
			j = t.escape(j+1, true)
			start = j
		default:
			j++
		}
	}
	return t.value(escaped, start, len(s)), len(s), true
}

// badURL consumes the remnants of a bad url from t.s[i] and returns the
// index after the ')' that ends it, or len(t.s).
func (t *cssTokenizer) badURL(i int) int {
	s := t.s
	for i < len(s) {
		switch {
		case s[i] == ')':
			return i + 1
		case cssValidEscape(s, i):
			i = t.escape(i+1, false)
		default:
			i++
		}
	}
	return i
}

// escape consumes the escaped code point after a backslash, which
// starts at t.s[i] (not a newline), appends it to t.buf when want is
// set, and returns the index after it: up to six hex digits and one
// whitespace, or one code point. Zero, a surrogate, a value past
// U+10FFFF and the end of input give U+FFFD.
func (t *cssTokenizer) escape(i int, want bool) int {
	s := t.s
	if i == len(s) {
		if want {
			t.buf = utf8.AppendRune(t.buf, utf8.RuneError)
		}
		return i
	}
	if !isCSSHex(s[i]) {
		_, n := utf8.DecodeRuneInString(s[i:])
		if want {
			t.buf = append(t.buf, s[i:i+n]...)
		}
		return i + n
	}
	r := rune(0)
	j := i
	for j < len(s) && j-i < 6 && isCSSHex(s[j]) {
		r = r<<4 | rune(cssUnhex(s[j]))
		j++
	}
	if j < len(s) && isCSSSpace(s[j]) {
		if isCSSNewline(s[j]) {
			j = skipCSSNewline(s, j)
		} else {
			j++
		}
	}
	if want {
		if r == 0 || 0xD800 <= r && r <= 0xDFFF || r > utf8.MaxRune {
			r = utf8.RuneError
		}
		t.buf = utf8.AppendRune(t.buf, r)
	}
	return j
}

// nameEnd returns the index after the name (ident sequence) that starts
// at t.s[i].
func (t *cssTokenizer) nameEnd(i int) int {
	s := t.s
	for i < len(s) {
		switch {
		case isCSSName(s[i]):
			i++
		case cssValidEscape(s, i):
			i = t.escape(i+1, false)
		default:
			return i
		}
	}
	return i
}

// nameIs reports whether the name t.s[start:end], escapes decoded,
// is the lower-case ASCII word lower, ignoring ASCII case.
func (t *cssTokenizer) nameIs(start, end int, lower string) bool {
	name := t.s[start:end]
	if strings.IndexByte(name, '\\') < 0 {
		return lowerIs(name, lower)
	}
	// Each code point of lower takes at most 9 bytes escaped
	// ("\00006c\r\n").
	if len(name) > 9*len(lower) {
		return false
	}
	t.buf = t.buf[:0]
	for i := start; i < end; {
		if t.s[i] == '\\' {
			i = t.escape(i+1, true)
		} else {
			t.buf = append(t.buf, t.s[i])
			i++
		}
	}
	return lowerIs(string(t.buf), lower)
}

// numeric consumes the numeric token (number, percentage or dimension)
// that starts at t.s[i] and returns the index after it.
func (t *cssTokenizer) numeric(i int) int {
	s := t.s
	if s[i] == '+' || s[i] == '-' {
		i++
	}
	i = cssDigitsEnd(s, i)
	if i+1 < len(s) && s[i] == '.' && isCSSDigit(s[i+1]) {
		i = cssDigitsEnd(s, i+1)
	}
	if i+1 < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if s[j] == '+' || s[j] == '-' {
			j++
		}
		if j < len(s) && isCSSDigit(s[j]) {
			i = cssDigitsEnd(s, j)
		}
	}
	switch {
	case cssStartsIdent(s, i):
		return t.nameEnd(i)
	case i < len(s) && s[i] == '%':
		return i + 1
	}
	return i
}

func cssDigitsEnd(s string, i int) int {
	for i < len(s) && isCSSDigit(s[i]) {
		i++
	}
	return i
}

// cssStartsNumber reports whether a number starts at s[i] (CSS Syntax
// §4.3.10).
func cssStartsNumber(s string, i int) bool {
	switch c := s[i]; {
	case isCSSDigit(c):
		return true
	case c == '+' || c == '-':
		return i+1 < len(s) && (isCSSDigit(s[i+1]) || s[i+1] == '.' && i+2 < len(s) && isCSSDigit(s[i+2]))
	case c == '.':
		return i+1 < len(s) && isCSSDigit(s[i+1])
	}
	return false
}

// cssStartsIdent reports whether an ident sequence starts at s[i] (CSS
// Syntax §4.3.9); false at the end of s.
func cssStartsIdent(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	switch c := s[i]; {
	case c == '-':
		return i+1 < len(s) && (isCSSNameStart(s[i+1]) || s[i+1] == '-' || cssValidEscape(s, i+1))
	case c == '\\':
		return cssValidEscape(s, i)
	default:
		return isCSSNameStart(c)
	}
}

// cssValidEscape reports whether s[i] is a backslash that starts an
// escape: one not followed by a newline (the end of input counts).
func cssValidEscape(s string, i int) bool {
	return i < len(s) && s[i] == '\\' && (i+1 == len(s) || !isCSSNewline(s[i+1]))
}

// Byte classes for the tokenizer, in cssBytes.
const (
	cssSpace     = 1 << iota // whitespace: space, tab, newline, CR, FF
	cssNameStart             // starts a name: a letter, '_', a byte of a non-ASCII code point
	cssName                  // in a name: a name start, a digit or '-'
	cssDigit
	cssHexDigit
)

var cssBytes = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			t[c] = cssSpace
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c >= utf8.RuneSelf:
			t[c] = cssNameStart | cssName
			if 'a' <= c|0x20 && c|0x20 <= 'f' {
				t[c] |= cssHexDigit
			}
		case '0' <= c && c <= '9':
			t[c] = cssName | cssDigit | cssHexDigit
		case c == '-':
			t[c] = cssName
		}
	}
	return t
}()

func isCSSNameStart(c byte) bool { return cssBytes[c]&cssNameStart != 0 }

func isCSSName(c byte) bool { return cssBytes[c]&cssName != 0 }

func isCSSSpace(c byte) bool { return cssBytes[c]&cssSpace != 0 }

func isCSSNewline(c byte) bool { return c == '\n' || c == '\r' || c == '\f' }

// skipCSSNewline returns the index after the newline at s[i], taking
// "\r\n" as one.
func skipCSSNewline(s string, i int) int {
	if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
		return i + 2
	}
	return i + 1
}

func isCSSDigit(c byte) bool { return cssBytes[c]&cssDigit != 0 }

func isCSSHex(c byte) bool { return cssBytes[c]&cssHexDigit != 0 }

func cssUnhex(c byte) byte {
	if isCSSDigit(c) {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// decodeStylesheet returns body decoded to UTF-8 (CSS Syntax §3.2, without a
// referring document): a byte order mark decides, then the charset
// parameter of contentType, then an @charset rule at the very start of
// body (a UTF-16 label there means UTF-8), else UTF-8. Decoding errors
// keep what was decoded before them.
func decodeStylesheet(body []byte, contentType string) string {
	var label string
	switch {
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		return string(body[3:])
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		label, body = "utf-16be", body[2:]
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		label, body = "utf-16le", body[2:]
	}
	if label == "" {
		if _, params, _ := mime.ParseMediaType(contentType); params["charset"] != "" {
			if _, name := charset.Lookup(params["charset"]); name != "" {
				label = name
			}
		}
	}
	if label == "" {
		label = atCharset(body)
	}
	enc, name := charset.Lookup(label)
	switch name {
	case "", "utf-8":
		return string(body)
	case "utf-16be", "utf-16le", "iso-2022-jp", "replacement":
		// Not ASCII-compatible: always decode.
	default:
		if isASCII(body) {
			return string(body)
		}
	}
	out, _, _ := transform.Bytes(enc.NewDecoder(), body)
	return string(out)
}

// atCharset returns the encoding name of an @charset rule that starts
// body, as CSS Syntax §3.2 recognizes it (`@charset "label";` written
// exactly so, within the first 1024 bytes), "utf-8" for a UTF-16 label,
// or "" when there is none or the label is unknown.
func atCharset(body []byte) string {
	const prefix = `@charset "`
	if !bytes.HasPrefix(body, []byte(prefix)) {
		return ""
	}
	head := body[len(prefix):min(len(body), 1024)]
	end := bytes.IndexByte(head, '"')
	if end < 0 || end+1 == len(head) || head[end+1] != ';' {
		return ""
	}
	_, name := charset.Lookup(string(head[:end]))
	if name == "utf-16be" || name == "utf-16le" {
		return "utf-8"
	}
	return name
}
