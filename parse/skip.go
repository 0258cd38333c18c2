package parse

// This file holds the skipping half of the streaming pass (tokens.go):
// skipReader, which hands the tokenizer only the text and tags the pass
// needs, and the tests of which tags matter.

import (
	"bytes"
	"io"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipReader is the io.Reader the tokenizer reads text from. It hands the
// tokenizer only what the pass needs. Each Read ends just after a '>' (or at
// the end of text), so that after a tag token the tokenizer's buffer is
// usually empty. When skip is set at that point, the tokenizer is in its
// data state, and Read leaves out the text up to the next '<': it cannot
// affect any later token. When skipTags is set too, the pass is in HTML
// content where most tags do not matter to it (see startMatters), and Read
// also leaves out the start and end tags that do not, and the text after
// them; tagEnd finds where they end exactly as the tokenizer would. None of
// them can leave the tokenizer outside its data state, so the tokens the
// tokenizer still reads are the ones it would have read. Start tags the
// pass only reads attributes from (attrsOnly) reach the tokenizer as
// "<name>", and the pass reads their attributes from tag: the tokenizer's
// attribute handling costs two allocations per attribute.
//
// live tells that the content is not inert (attributes matter), preBody
// that the pass is before the body element (see tokenPass.phase), where
// Read reports in saw what it left out.
type skipReader struct {
	b              []byte
	off            int
	skip, skipTags bool
	live, preBody  bool
	tag            []byte // the tag the last Read shortened to "<name>", or nil
	saw            uint8  // before the body: what Read left out, sawText, sawStart and sawEnd bits
}

// Bits of skipReader.saw: what Read left out before the body.
const (
	sawText    = 1 << iota // text that is not white space
	sawStart               // a start tag other than these (or a <body> without attributes that may hold a URL)
	sawEnd                 // an end tag other than </head>
	sawHTML                // an <html> without attributes the pass reads
	sawHead                // a <head> without attributes that may hold a URL
	sawHeadEnd             // </head>
)

func (r *skipReader) Read(p []byte) (int, error) {
	r.tag = nil
	if r.skip {
		r.skip = false
		for {
			i := bytes.IndexByte(r.b[r.off:], '<')
			if i < 0 {
				i = len(r.b) - r.off
			}
			if r.preBody && i > 0 && r.saw&sawText == 0 && !blank(r.b[r.off:r.off+i]) {
				r.saw |= sawText
			}
			r.off += i
			if r.off == len(r.b) || !r.skipTags {
				break
			}
			n, short, saw := skippable(r.b[r.off:], r.live, r.preBody)
			if short != nil && len(p) >= len(short)+2 {
				// The tokenizer reads "<name>"; the pass reads the
				// attributes from r.tag.
				r.tag = r.b[r.off : r.off+n]
				r.off += n
				n = copy(p, "<")
				n += copy(p[n:], short)
				n += copy(p[n:], ">")
				return n, nil
			}
			if n == 0 {
				break
			}
			if r.preBody {
				r.saw |= saw
			}
			r.off += n
		}
	}
	rest := r.b[r.off:]
	if len(rest) == 0 {
		return 0, io.EOF
	}
	if i := bytes.IndexByte(rest, '>'); i >= 0 {
		rest = rest[:i+1]
	}
	n := copy(p, rest)
	r.off += n
	return n, nil
}

// blank reports whether text the tokenizer reads in its data state is
// ASCII white space once decoded: what the tree builder ignores before the
// body.
func blank(text []byte) bool {
	amp := false
	for _, c := range text {
		switch {
		case c == '&':
			amp = true
		case !isASCIISpace(c):
			if !amp {
				return false
			}
		}
	}
	if !amp {
		return true
	}
	for _, c := range []byte(html.UnescapeString(string(text))) { // rare
		if !isASCIISpace(c) {
			return false
		}
	}
	return true
}

// skippable looks at the tag at the start of b (b[0] == '<') in HTML
// content, live and preBody as in skipReader. If it is a start or end tag
// that does not matter there, it returns its length n, and the bit of
// skipReader.saw it sets before the body. If it is a start tag the pass
// only reads attributes from (attrsOnly), it returns its length and its
// name: the tokenizer may read just "<name>" instead, which costs it no
// attribute. Otherwise it returns 0.
func skippable(b []byte, live, preBody bool) (n int, name []byte, saw uint8) {
	switch {
	case len(b) > 1 && isLetter(b[1]):
		name = tagName(b, 1)
		n, matters, short, saw := startTag(b, name, live, preBody)
		switch {
		case !matters:
			return n, nil, saw
		case !short || n == 0:
			return 0, nil, 0
		}
		return n, name, 0
	case len(b) > 2 && b[1] == '/' && isLetter(b[2]):
		name = tagName(b, 2)
		if endMatters(name, live, preBody) {
			return 0, nil, 0
		}
		if equalFold(name, "head") {
			return tagEnd(b, 2), nil, sawHeadEnd
		}
		return tagEnd(b, 2), nil, sawEnd
	}
	return 0, nil, 0
}

// startMatters reports whether the pass must see the start tag raw (whose
// name's first letter is raw[1]) in HTML content outside an undecided or
// column-group template, live and preBody as in skipReader.
func startMatters(raw []byte, live, preBody bool) bool {
	_, matters, _, _ := startTag(raw, tagName(raw, 1), live, preBody)
	return matters
}

// startTag tells of the start tag at the start of b, whose name is name,
// whether it matters (see startMatters) and whether the pass only reads
// its attributes (attrsOnly: its raw-text state and whether it is
// self-closing do not matter), and its length as tagEnd gives it when it
// does not matter or is attrsOnly.
//
// What matters: the tags startHTML acts on and those after which the
// tokenizer reads raw text (which are attrsOnly too: it decides by the
// name alone, and the pass does not look at whether they are
// self-closing); in live content also the tags the models of
// forms, selects and tables follow, and any tag with an attribute that
// can hold a URL for its element (urlAttrs); before the body also the
// tags that keep the tree builder in the head.
func startTag(b, name []byte, live, preBody bool) (n int, matters, attrsOnly bool, saw uint8) {
	a := lookup(name)
	switch a {
	case atom.A, atom.Area, atom.Link, atom.Meta, atom.Base, atom.Frame,
		atom.Iframe, atom.Title, atom.Noscript, atom.Script, atom.Style, atom.Textarea, atom.Xmp,
		atom.Noembed, atom.Noframes, atom.Plaintext,
		atom.Applet, atom.Marquee, atom.Object, atom.Caption, atom.Td, atom.Th:
		// The tokenizer switches to raw text after "<script>" as after
		// "<script src=x>" or "<script/>": by the name alone. The last
		// six matter in templates too (see tokenPass.inTemplate).
		return tagEnd(b, 1), true, true, 0
	case atom.Template, atom.Svg, atom.Math, atom.Frameset:
		return 0, true, false, 0
	case atom.Form, atom.Select, atom.Table, atom.Colgroup, atom.Col, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr:
		return tagEnd(b, 1), live, live, sawStart
	case atom.B, atom.Big, atom.Code, atom.Em, atom.Font, atom.I, atom.Nobr, atom.S, atom.Small,
		atom.Strike, atom.Strong, atom.Tt, atom.U:
		if !live {
			return tagEnd(b, 1), true, true, 0 // see tokenPass.inTemplate
		}
	case atom.Html, atom.Head:
		if !live {
			return tagEnd(b, 1), false, false, 0
		}
		if a == atom.Head && !preBody {
			return tagEnd(b, 1), false, false, 0 // ignored
		}
		saw = sawHead
		mask := htmlURLAttrs
		if a == atom.Html {
			saw, mask = sawHTML, htmlTagAttrs
		}
		n, has := tagEndAttrs(b, 1, mask, a)
		return n, has, true, saw
	case atom.Basefont, atom.Bgsound:
		if live && preBody {
			return tagEnd(b, 1), true, true, 0 // head elements
		}
	case atom.Image:
		a = atom.Img // the tree builder's name for it
	}
	if !live {
		return tagEnd(b, 1), false, false, 0
	}
	n, hasURL := tagEndAttrs(b, 1, htmlURLAttrs, a)
	return n, hasURL, true, sawStart
}

// endMatters reports whether the pass must see an end tag named name (as
// written) in HTML content, live and preBody as in skipReader: </template>,
// and in live content those the models of forms, selects, tables and the
// document's start follow.
func endMatters(name []byte, live, preBody bool) bool {
	if len(name) < 2 {
		return false // </a>, </p>, </b>, ...
	}
	switch name[0] | 0x20 {
	case 't', 'f', 's', 'c', 'h', 'b', 'n':
	default:
		return false // </li>, </div>, </ul>, </em>, </ol>, ...
	}
	switch lookup(name) {
	case atom.Template:
		return true
	case atom.Form, atom.Select, atom.Table, atom.Caption, atom.Tbody, atom.Thead, atom.Tfoot, atom.Tr, atom.Td, atom.Th:
		return live
	case atom.Body, atom.Html, atom.Br, atom.Noscript:
		return live && preBody
	}
	return false
}

// lookup returns the atom of a tag name as written, 0 if it has none.
func lookup(name []byte) atom.Atom {
	if len(name) > maxAtomLen {
		return 0
	}
	var buf [maxAtomLen]byte
	return atom.Lookup(lowerInto(buf[:], name))
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
