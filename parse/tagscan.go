package parse

// This file holds the byte-level reading of tags that the streaming pass
// (tokens.go) and skipReader (skip.go) share: tag names, attributes read
// exactly as the tokenizer reads them, and the extent of a tag.

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// tagName returns the name of the tag token raw as written: from raw[i]
// (after "<" or "</") up to the first ASCII space, '/' or '>', like the
// tokenizer's readTagName.
func tagName(raw []byte, i int) []byte {
	if i >= len(raw) {
		return nil
	}
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			return raw[i:j]
		}
	}
	return raw[i:]
}

// lowerInto lower-cases ASCII b into buf (len(buf) >= len(b)).
func lowerInto(buf, b []byte) []byte {
	buf = buf[:len(b)]
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf
}

// lowerName returns name lower-cased as a string, without allocating when it
// is a known atom. A NUL becomes U+FFFD, as the tokenizer's TagName does.
func lowerName(name []byte, a atom.Atom) string {
	if a != 0 {
		return a.String()
	}
	b := make([]byte, 0, len(name))
	for _, c := range name {
		switch {
		case c == 0:
			b = append(b, "\ufffd"...)
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// equalFold reports whether b, a name as written, equals the lower-case
// name s once the tokenizer has lower-cased it and turned each NUL into
// U+FFFD.
func equalFold(b []byte, s string) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return lowerName(b, 0) == s
	}
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// sameName reports whether an end tag named name (as written) closes the
// foreign element named elem: x/net/html compares them with
// strings.EqualFold, which also folds some non-ASCII letters.
func sameName(name []byte, elem string) bool {
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return strings.EqualFold(lowerName(name, 0), elem)
		}
	}
	for i := 0; i < len(elem); i++ {
		if elem[i] >= utf8.RuneSelf {
			return strings.EqualFold(lowerName(name, 0), elem)
		}
	}
	return equalFold(name, elem)
}

// attrs holds the values of the wanted attributes of one start tag, as
// (*html.Tokenizer).TagAttr would return them. The values may alias the
// tokenizer's buffer: they are valid until its next Next.
type attrs struct {
	attrSet[[]byte]
}

// scan finds the wanted attributes (a mask of attrID bits) in raw, the raw
// text of a start tag, reading it the way the tokenizer's readTag does:
// the first of several attributes with the same (case-insensitive) key
// wins. When a wanted value holds '&', '\r' or NUL, which the tokenizer
// decodes, scan takes all values from the tokenizer's TagAttr instead,
// tokenizing raw on its own (a tag's attributes do not depend on what
// precedes it).
func (at *attrs) scan(raw []byte, want uint64) {
	at.has = 0
	if at.find(raw, want, true) {
		return
	}
	at.has = 0
	z := html.NewTokenizer(bytes.NewReader(raw))
	z.Next()
	for more := true; more; {
		var key, val []byte
		key, val, more = z.TagAttr()
		if id := which(key); want&id.bit() != 0 {
			at.set(id, val)
		}
	}
}

// presence finds which of the wanted attributes raw has, without their
// values.
func (at *attrs) presence(raw []byte, want uint64) {
	at.has = 0
	at.find(raw, want, false)
}

// find is scan without the decoding: it reports false if values matters
// and a wanted value needs decoding.
func (at *attrs) find(raw []byte, want uint64, values bool) bool {
	p := afterName(raw, 1)
	for p < len(raw) && raw[p] != '>' {
		var ks, ke, vs, ve int
		ks, ke, vs, ve, p = attrAt(raw, p)
		if ks == ke {
			continue
		}
		if id := which(raw[ks:ke]); want&id.bit() != 0 && at.has&id.bit() == 0 {
			v := raw[vs:ve]
			if values && needsDecoding(v) {
				return false
			}
			at.set(id, v)
		}
	}
	return true
}

// afterName returns the position after the name of the tag in b whose first
// letter is b[i], and after the white space that follows it, like the
// tokenizer's readTagName and skipWhiteSpace.
func afterName(b []byte, i int) int {
	p := i + 1
	for p < len(b) {
		c := b[p]
		if c == '/' || c == '>' {
			break
		}
		p++
		if isASCIISpace(c) {
			break
		}
	}
	return skipSpace(b, p)
}

// attrAt reads the attribute at b[p] (p < len(b), b[p] != '>') like the
// tokenizer's readTagAttrKey and readTagAttrVal: it returns the spans of its
// key and value (either may be empty) and the position after it and the
// white space that follows.
func attrAt(b []byte, p int) (ks, ke, vs, ve, next int) {
	n := len(b)
	ks = p
	for p < n {
		c := b[p]
		p++
		if c == '=' && p == ks+1 {
			continue // a leading '=' is part of the key
		}
		if c == '=' || c == '/' || c == '>' || isASCIISpace(c) {
			p--
			break
		}
	}
	ke = p
	vs, ve = p, p
	p = skipSpace(b, p)
	if p < n {
		c := b[p]
		p++
		switch {
		case c == '/':
		case c != '=':
			p--
		default:
			p = skipSpace(b, p)
			if p >= n {
				break
			}
			q := b[p]
			p++
			switch q {
			case '>':
				p--
			case '"', '\'':
				vs = p
				for p < n && b[p] != q {
					p++
				}
				ve = p
				if p < n {
					p++
				}
			default:
				vs = p - 1
				ve = n
				for p < n {
					c := b[p]
					p++
					if isASCIISpace(c) {
						ve = p - 1
						break
					}
					if c == '>' {
						p--
						ve = p
						break
					}
				}
			}
		}
	}
	return ks, ke, vs, ve, skipSpace(b, p)
}

// tagEnd returns the length of the start or end tag at the start of b
// whose name's first letter is b[i], up to and including its '>', as the
// tokenizer reads it; 0 if b ends first.
func tagEnd(b []byte, i int) int {
	p := afterName(b, i)
	for p < len(b) {
		if b[p] == '>' {
			return p + 1
		}
		_, _, _, _, p = attrAt(b, p)
	}
	return 0
}

// tagEndAttrs is tagEnd for a start tag (i == 1), which also reports
// whether the tag has an attribute whose attrID is in mask(a).
func tagEndAttrs(b []byte, i int, mask func(atom.Atom) uint64, a atom.Atom) (n int, has bool) {
	p := afterName(b, i)
	for p < len(b) {
		if b[p] == '>' {
			return p + 1, has
		}
		var ks, ke int
		ks, ke, _, _, p = attrAt(b, p)
		if !has && ks < ke {
			if id := which(b[ks:ke]); id != atNone && mask(a)&id.bit() != 0 {
				has = true
			}
		}
	}
	return 0, false
}

// htmlURLAttrs is urlAttrs in the HTML namespace.
func htmlURLAttrs(a atom.Atom) uint64 { return urlAttrs(a, nsHTML) }

// htmlTagAttrs are the attributes the pass reads from an <html> tag.
func htmlTagAttrs(atom.Atom) uint64 { return urlAttrs(atom.Html, nsHTML) | atLang.bit() }

// allAttrs is a mask of every attrID.
func allAttrs(atom.Atom) uint64 { return 1<<numAttrs - 2 }

func needsDecoding(v []byte) bool {
	for _, c := range v {
		if c == '&' || c == '\r' || c == 0 {
			return true
		}
	}
	return false
}

func skipSpace(b []byte, p int) int {
	for p < len(b) && isASCIISpace(b[p]) {
		p++
	}
	return p
}
