package parse

import (
	"strings"
	"sync"

	"golang.org/x/net/html/atom"
)

// This file says where an HTML document holds URLs: which attributes of
// which elements, and how their values are read. elementRefs is shared by
// the DOM walk (dom.go) and the streaming pass (tokens.go), which fill an
// attrSet with an element's attribute values, as strings and as []byte,
// and pass it a sink that records refs; the two passes find the same links
// because they call the same code on the same values.

// source is where a link was found (Link.Source): an element[attribute]
// pair or another place in a document. sourceNames holds the strings.
type source uint8

const (
	srcNone source = iota
	srcAHref
	srcAXlinkHref
	srcAPing
	srcAreaHref
	srcAreaPing
	srcFrameSrc
	srcIframeSrc
	srcFormAction
	srcButtonFormaction
	srcInputSrc
	srcInputFormaction
	srcIsindexAction
	srcBlockquoteCite
	srcQCite
	srcDelCite
	srcInsCite
	srcImgSrc
	srcImgSrcset
	srcImgLowsrc
	srcImgDynsrc
	srcImgLongdesc
	srcSourceSrc
	srcSourceSrcset
	srcAudioSrc
	srcVideoSrc
	srcVideoPoster
	srcTrackSrc
	srcScriptSrc
	srcScriptHref
	srcScriptXlinkHref
	srcImageHref
	srcImageXlinkHref
	srcLinkHref
	srcEmbedSrc
	srcObjectData
	srcObjectCodebase
	srcAppletCodebase
	srcAppletArchive
	srcParamValue
	srcBodyBackground
	srcTableBackground
	srcTdBackground
	srcThBackground
	srcHTMLManifest
	srcHeadProfile
	srcMetaRefresh
	srcMetaCSP
	srcMetaContent
	srcDoctype
	srcStyle
	srcStyleImport
	srcStyleAttr
	srcStyleAttrImport
	srcScript // the text of an inline script, read by GuessLinks
	numSources
)

var sourceNames = [numSources]string{
	srcAHref:            "a[href]",
	srcAXlinkHref:       "a[xlink:href]",
	srcAPing:            "a[ping]",
	srcAreaHref:         "area[href]",
	srcAreaPing:         "area[ping]",
	srcFrameSrc:         "frame[src]",
	srcIframeSrc:        "iframe[src]",
	srcFormAction:       "form[action]",
	srcButtonFormaction: "button[formaction]",
	srcInputSrc:         "input[src]",
	srcInputFormaction:  "input[formaction]",
	srcIsindexAction:    "isindex[action]",
	srcBlockquoteCite:   "blockquote[cite]",
	srcQCite:            "q[cite]",
	srcDelCite:          "del[cite]",
	srcInsCite:          "ins[cite]",
	srcImgSrc:           "img[src]",
	srcImgSrcset:        "img[srcset]",
	srcImgLowsrc:        "img[lowsrc]",
	srcImgDynsrc:        "img[dynsrc]",
	srcImgLongdesc:      "img[longdesc]",
	srcSourceSrc:        "source[src]",
	srcSourceSrcset:     "source[srcset]",
	srcAudioSrc:         "audio[src]",
	srcVideoSrc:         "video[src]",
	srcVideoPoster:      "video[poster]",
	srcTrackSrc:         "track[src]",
	srcScriptSrc:        "script[src]",
	srcScriptHref:       "script[href]",
	srcScriptXlinkHref:  "script[xlink:href]",
	srcImageHref:        "image[href]",
	srcImageXlinkHref:   "image[xlink:href]",
	srcLinkHref:         "link[href]",
	srcEmbedSrc:         "embed[src]",
	srcObjectData:       "object[data]",
	srcObjectCodebase:   "object[codebase]",
	srcAppletCodebase:   "applet[codebase]",
	srcAppletArchive:    "applet[archive]",
	srcParamValue:       "param[value]",
	srcBodyBackground:   "body[background]",
	srcTableBackground:  "table[background]",
	srcTdBackground:     "td[background]",
	srcThBackground:     "th[background]",
	srcHTMLManifest:     "html[manifest]",
	srcHeadProfile:      "head[profile]",
	srcMetaRefresh:      "meta[refresh]",
	srcMetaCSP:          "meta[csp]",
	srcMetaContent:      "meta[content]",
	srcDoctype:          "doctype",
	srcStyle:            "style",
	srcStyleImport:      "style@import",
	srcStyleAttr:        "[style]",
	srcStyleAttrImport:  "[style]@import",
	srcScript:           "script",
}

// Documents nested in a page (an iframe's srcdoc, the content of an IE
// conditional comment) are parsed on their own, at most maxNest deep. The
// refs found in them carry a nest code: 0 for the page itself, and
// parent*3 + nestSrcdoc or nestComment for a document nested in one whose
// code is parent. Link.Source then starts with a prefix per level,
// outermost first.
const (
	nestSrcdoc  = 1
	nestComment = 2
	maxNest     = 3
	numNest     = 27 // 3^maxNest codes
)

var nestPrefix = [...]string{nestSrcdoc: "iframe[srcdoc] ", nestComment: "comment "}

// nestedNames holds, per nest code, the Source strings of all sources, made
// on first use so that a Link from a nested document costs no allocation
// of its own.
var nestedNames [numNest]struct {
	once  sync.Once
	names [numSources]string
}

// sourceName returns the Link.Source of a ref from src in a document of
// nest code nest.
func sourceName(src source, nest uint8) string {
	if nest == 0 || nest >= numNest {
		return sourceNames[src]
	}
	t := &nestedNames[nest]
	t.once.Do(func() {
		var prefix string
		for c := nest; c > 0; c /= 3 {
			prefix = nestPrefix[c%3] + prefix
		}
		for i, n := range sourceNames {
			if n != "" {
				t.names[i] = prefix + n
			}
		}
	})
	return t.names[src]
}

// method is the HTTP method of a form link.
type method uint8

const (
	mNone method = iota // not a form link, or a form that submits nowhere (method=dialog)
	mGet
	mPost
)

var methodNames = [...]string{mNone: "", mGet: "GET", mPost: "POST"}

// formMethod reads a form's method or a button's formmethod: POST for
// "post" (ASCII case-insensitive), mNone for "dialog" (the form closes a
// dialog and submits nothing), GET otherwise, as browsers do for missing
// and invalid values.
func formMethod[T string | []byte](v T) method {
	switch {
	case equalFoldASCII(v, "post"):
		return mPost
	case equalFoldASCII(v, "dialog"):
		return mNone
	}
	return mGet
}

// attrID names an attribute elementRefs (or the passes) read. 0 is none;
// the others are bits of attrSet.has.
type attrID uint8

const (
	atNone attrID = iota
	// Attributes that may hold a URL.
	atHref
	atSrc
	atSrcset
	atStyle
	atBackground
	atCite
	atAction
	atFormaction
	atData
	atCodebase
	atArchive
	atPoster
	atLongdesc
	atLowsrc
	atDynsrc
	atPing
	atManifest
	atProfile
	atSrcdoc
	atValue
	atContent
	atXlinkHref
	// Attributes that say what a URL is, and those the passes read for
	// the Page's other fields.
	atRel
	atType
	atMethod
	atFormmethod
	atName
	atProperty
	atHTTPEquiv
	atLang
	atEncoding
	atFont // color, face or size: what makes <font> break out of foreign content
	numAttrs
)

// bit returns the bit of id in a mask of attributes.
func (id attrID) bit() uint64 { return 1 << id }

// attrSet holds the values of the attributes of one element that a pass
// read, as the tree builder gives them (the first of several attributes
// with the same key). A value is valid only when its bit is set in has.
type attrSet[T string | []byte] struct {
	has uint64
	val [numAttrs]T
}

func (at *attrSet[T]) get(id attrID) (v T, ok bool) {
	if at.has&id.bit() == 0 {
		return v, false
	}
	return at.val[id], true
}

// set records v unless id already has a value.
func (at *attrSet[T]) set(id attrID, v T) {
	if at.has&id.bit() == 0 {
		at.has |= id.bit()
		at.val[id] = v
	}
}

// which returns the attrID of an attribute key as written in a start tag
// (the tokenizer lower-cases ASCII letters and turns NUL into U+FFFD, so
// only ASCII can match). It does not allocate; most keys (class, id, alt)
// are told apart by their length and first letter.
func which[T string | []byte](key T) attrID {
	if len(key) < 3 || len(key) > len("background") {
		return atNone
	}
	c := key[0] | 0x20 // a letter, if it matches
	var id attrID
	var w string
	switch len(key) {
	case 3:
		switch c {
		case 's':
			id, w = atSrc, "src"
		case 'r':
			id, w = atRel, "rel"
		}
	case 4:
		switch c {
		case 'h':
			id, w = atHref, "href"
		case 'c':
			id, w = atCite, "cite"
		case 'd':
			id, w = atData, "data"
		case 'p':
			id, w = atPing, "ping"
		case 't':
			id, w = atType, "type"
		case 'n':
			id, w = atName, "name"
		case 'l':
			id, w = atLang, "lang"
		case 'f':
			id, w = atFont, "face"
		case 's':
			id, w = atFont, "size"
		}
	case 5:
		switch c {
		case 's':
			id, w = atStyle, "style"
		case 'v':
			id, w = atValue, "value"
		case 'c':
			id, w = atFont, "color"
		}
	case 6:
		switch c {
		case 's':
			id, w = atSrcset, "srcset"
			if len(key) == 6 && (key[3]|0x20) == 'd' {
				id, w = atSrcdoc, "srcdoc"
			}
		case 'a':
			id, w = atAction, "action"
		case 'p':
			id, w = atPoster, "poster"
		case 'l':
			id, w = atLowsrc, "lowsrc"
		case 'd':
			id, w = atDynsrc, "dynsrc"
		case 'm':
			id, w = atMethod, "method"
		}
	case 7:
		switch c {
		case 'a':
			id, w = atArchive, "archive"
		case 'p':
			id, w = atProfile, "profile"
		case 'c':
			id, w = atContent, "content"
		}
	case 8:
		switch c {
		case 'c':
			id, w = atCodebase, "codebase"
		case 'l':
			id, w = atLongdesc, "longdesc"
		case 'm':
			id, w = atManifest, "manifest"
		case 'p':
			id, w = atProperty, "property"
		case 'e':
			id, w = atEncoding, "encoding"
		}
	case 10:
		switch c {
		case 'b':
			id, w = atBackground, "background"
		case 'f':
			id, w = atFormaction, "formaction"
			if (key[4] | 0x20) == 'm' {
				id, w = atFormmethod, "formmethod"
			}
		case 'x':
			id, w = atXlinkHref, "xlink:href"
		case 'h':
			id, w = atHTTPEquiv, "http-equiv"
		}
	}
	if id == atNone || !equalFoldASCII(key, w) {
		return atNone
	}
	return id
}

// Namespaces of elements.
const (
	nsHTML uint8 = iota
	nsSVG
	nsMath
)

// urlAttrs returns the attributes that can give element a (in namespace
// ns) a ref: the style attribute of every element, and those elementRefs
// reads for a. A start tag with none of them can be skipped.
func urlAttrs(a atom.Atom, ns uint8) uint64 {
	m := atStyle.bit()
	switch a {
	case atom.A:
		m |= atHref.bit() | atPing.bit()
		if ns == nsSVG {
			m |= atXlinkHref.bit()
		}
		return m
	case atom.Area:
		return m | atHref.bit() | atPing.bit()
	case atom.Frame:
		return m | atSrc.bit()
	case atom.Iframe:
		return m | atSrc.bit() | atSrcdoc.bit()
	case atom.Link:
		return m | atHref.bit()
	case atom.Script:
		if ns == nsSVG {
			return m | atHref.bit() | atXlinkHref.bit()
		}
		if ns == nsHTML {
			return m | atSrc.bit()
		}
		return m
	case atom.Image:
		if ns == nsSVG {
			return m | atHref.bit() | atXlinkHref.bit()
		}
		return m
	}
	if ns != nsHTML {
		return m
	}
	switch a {
	case atom.Form, atom.Isindex:
		m |= atAction.bit()
	case atom.Button:
		m |= atFormaction.bit()
	case atom.Input:
		m |= atSrc.bit() | atFormaction.bit()
	case atom.Blockquote, atom.Q, atom.Del, atom.Ins:
		m |= atCite.bit()
	case atom.Img:
		m |= atSrc.bit() | atSrcset.bit() | atLowsrc.bit() | atDynsrc.bit() | atLongdesc.bit()
	case atom.Source:
		m |= atSrc.bit() | atSrcset.bit()
	case atom.Audio, atom.Track, atom.Embed:
		m |= atSrc.bit()
	case atom.Video:
		m |= atSrc.bit() | atPoster.bit()
	case atom.Object:
		m |= atData.bit() | atCodebase.bit()
	case atom.Applet:
		m |= atCodebase.bit() | atArchive.bit()
	case atom.Param:
		m |= atValue.bit()
	case atom.Body, atom.Table, atom.Td, atom.Th:
		m |= atBackground.bit()
	case atom.Html:
		m |= atManifest.bit()
	case atom.Head:
		m |= atProfile.bit()
	case atom.Meta:
		m |= atContent.bit()
	}
	return m
}

// readAttrs returns the attributes elementRefs reads for element a in
// namespace ns: urlAttrs and those that qualify them.
func readAttrs(a atom.Atom, ns uint8) uint64 {
	m := urlAttrs(a, ns)
	switch a {
	case atom.A, atom.Area:
		m |= atRel.bit()
	case atom.Link:
		m |= atRel.bit() | atType.bit()
	}
	if ns != nsHTML {
		return m
	}
	switch a {
	case atom.Form:
		m |= atMethod.bit()
	case atom.Button:
		m |= atFormmethod.bit()
	case atom.Input:
		m |= atFormmethod.bit() | atType.bit()
	case atom.Param:
		m |= atName.bit()
	case atom.Meta:
		m |= atName.bit() | atProperty.bit() | atHTTPEquiv.bit()
	}
	return m
}

// refSink receives the refs elementRefs finds in one pass.
type refSink[T string | []byte] interface {
	// add records a ref to href, a value (or part of one) as the document
	// wrote it; r gives the rest.
	add(href T, r ref)
	// addString is add for an href that is a string.
	addString(href string, r ref)
	// nested parses doc as a document of its own and adds its refs, with
	// prefix (nestSrcdoc or nestComment) before their sources.
	nested(doc T, prefix uint8)
	// inheritedMethod returns the method of the form a button or input
	// without formmethod belongs to (see elementRefs).
	inheritedMethod() method
}

// elementRefs adds the refs of an element a (the atom of its tag name,
// img for an HTML <image>) in namespace ns whose attributes readAttrs(a,
// ns) are in at, in this order:
//
//   - a: href, xlink:href (SVG), ping; area: href, ping (a and area in
//     any namespace, as link, frame and iframe, the elements HTML has
//     always looked at there);
//   - frame: src; iframe: src, then the links of its srcdoc document;
//   - link: href, with the kind RelKind gives;
//   - SVG script and image: href, xlink:href;
//   - form: action; button: formaction; input: src (type=image),
//     formaction; isindex: action;
//   - blockquote, q, del, ins: cite;
//   - img: src, srcset, lowsrc, dynsrc, longdesc; source: src, srcset;
//     audio, track, embed: src; video: src, poster; script: src;
//   - object: data, codebase; applet: codebase, archive; param: value;
//   - body, table, td, th: background; html: manifest; head: profile;
//   - meta: a refresh URL, a CSP report-uri, a URL-bearing name, then
//     property;
//   - on every element, last: the URLs in its style attribute.
//
// The elements other than a, area, frame, iframe and link count only in
// the HTML namespace, except SVG script and image (and the style
// attribute, which counts everywhere).
//
// A button or input formaction without formmethod takes the method of
// its form, which the sink tells: this package's rule is the nearest
// ancestor form in the tree (the form owner browsers give an element
// parsed outside its form's start and end tags, or with no form element
// pointer, can differ; see tokenPass.inheritedMethod).
func elementRefs[T string | []byte, S refSink[T]](s S, a atom.Atom, ns uint8, at *attrSet[T]) {
	switch a {
	case atom.A, atom.Area:
		href, xlink, ping := srcAHref, srcAXlinkHref, srcAPing
		if a == atom.Area {
			href, xlink, ping = srcAreaHref, srcNone, srcAreaPing
		}
		rel, _ := at.get(atRel)
		nf := relNoFollow(rel)
		addAttr(s, at, atHref, ref{src: href, kind: KindPage, noFollow: nf})
		if xlink != srcNone && ns == nsSVG {
			addAttr(s, at, atXlinkHref, ref{src: xlink, kind: KindPage, noFollow: nf})
		}
		addList(s, at, atPing, ref{src: ping, kind: KindForm, method: mPost}, false)
	case atom.Frame:
		addAttr(s, at, atSrc, ref{src: srcFrameSrc, kind: KindPage})
	case atom.Iframe:
		addAttr(s, at, atSrc, ref{src: srcIframeSrc, kind: KindPage})
		if doc, ok := at.get(atSrcdoc); ok {
			s.nested(doc, nestSrcdoc)
		}
	case atom.Link:
		if href, ok := at.get(atHref); ok {
			rel, _ := at.get(atRel)
			typ, _ := at.get(atType)
			if k, m, ok := RelKind(internWord(rel), internWord(typ)); ok {
				s.add(href, ref{src: srcLinkHref, kind: k, method: methodOf(k, m)})
			}
		}
	case atom.Script, atom.Image:
		switch {
		case ns == nsSVG:
			href, xlink := srcScriptHref, srcScriptXlinkHref
			if a == atom.Image {
				href, xlink = srcImageHref, srcImageXlinkHref
			}
			addAttr(s, at, atHref, ref{src: href, kind: KindAsset})
			addAttr(s, at, atXlinkHref, ref{src: xlink, kind: KindAsset})
		case ns == nsHTML && a == atom.Script:
			addAttr(s, at, atSrc, ref{src: srcScriptSrc, kind: KindAsset})
		}
	}
	if ns == nsHTML {
		htmlElementRefs(s, a, at)
	}
	if css, ok := at.get(atStyle); ok {
		cssText(s, css, srcStyleAttr, srcStyleAttrImport)
	}
}

// htmlElementRefs adds the refs of the HTML elements elementRefs lists
// after SVG script and image, but for the style attribute.
func htmlElementRefs[T string | []byte, S refSink[T]](s S, a atom.Atom, at *attrSet[T]) {
	switch a {
	case atom.Form:
		if m, _ := at.get(atMethod); formMethod(m) != mNone {
			addAttr(s, at, atAction, ref{src: srcFormAction, kind: KindForm, method: formMethod(m)})
		}
	case atom.Button, atom.Input:
		if a == atom.Input {
			if typ, _ := at.get(atType); equalFoldASCII(typ, "image") {
				addAttr(s, at, atSrc, ref{src: srcInputSrc, kind: KindAsset})
			}
		}
		if _, ok := at.get(atFormaction); ok {
			src := srcButtonFormaction
			if a == atom.Input {
				src = srcInputFormaction
			}
			var m method
			if v, ok := at.get(atFormmethod); ok {
				m = formMethod(v)
			} else {
				m = s.inheritedMethod()
			}
			if m != mNone {
				addAttr(s, at, atFormaction, ref{src: src, kind: KindForm, method: m})
			}
		}
	case atom.Isindex:
		addAttr(s, at, atAction, ref{src: srcIsindexAction, kind: KindForm, method: mGet})
	case atom.Blockquote, atom.Q, atom.Del, atom.Ins:
		src := srcBlockquoteCite
		switch a {
		case atom.Q:
			src = srcQCite
		case atom.Del:
			src = srcDelCite
		case atom.Ins:
			src = srcInsCite
		}
		addAttr(s, at, atCite, ref{src: src, kind: KindPage})
	case atom.Img:
		addAttr(s, at, atSrc, ref{src: srcImgSrc, kind: KindAsset})
		addSrcset(s, at, ref{src: srcImgSrcset, kind: KindAsset})
		addAttr(s, at, atLowsrc, ref{src: srcImgLowsrc, kind: KindAsset})
		addAttr(s, at, atDynsrc, ref{src: srcImgDynsrc, kind: KindAsset})
		addAttr(s, at, atLongdesc, ref{src: srcImgLongdesc, kind: KindPage})
	case atom.Source:
		addAttr(s, at, atSrc, ref{src: srcSourceSrc, kind: KindAsset})
		addSrcset(s, at, ref{src: srcSourceSrcset, kind: KindAsset})
	case atom.Audio:
		addAttr(s, at, atSrc, ref{src: srcAudioSrc, kind: KindAsset})
	case atom.Video:
		addAttr(s, at, atSrc, ref{src: srcVideoSrc, kind: KindAsset})
		addAttr(s, at, atPoster, ref{src: srcVideoPoster, kind: KindAsset})
	case atom.Track:
		addAttr(s, at, atSrc, ref{src: srcTrackSrc, kind: KindAsset})
	case atom.Embed:
		addAttr(s, at, atSrc, ref{src: srcEmbedSrc, kind: KindAsset})
	case atom.Object:
		addAttr(s, at, atData, ref{src: srcObjectData, kind: KindAsset})
		addAttr(s, at, atCodebase, ref{src: srcObjectCodebase, kind: KindAsset})
	case atom.Applet:
		addAttr(s, at, atCodebase, ref{src: srcAppletCodebase, kind: KindAsset})
		addList(s, at, atArchive, ref{src: srcAppletArchive, kind: KindAsset}, true)
	case atom.Param:
		if v, ok := at.get(atValue); ok {
			if name, _ := at.get(atName); paramName(name) || isAbsHTTP(v) {
				s.add(v, ref{src: srcParamValue, kind: KindAsset})
			}
		}
	case atom.Body:
		addAttr(s, at, atBackground, ref{src: srcBodyBackground, kind: KindAsset})
	case atom.Table:
		addAttr(s, at, atBackground, ref{src: srcTableBackground, kind: KindAsset})
	case atom.Td:
		addAttr(s, at, atBackground, ref{src: srcTdBackground, kind: KindAsset})
	case atom.Th:
		addAttr(s, at, atBackground, ref{src: srcThBackground, kind: KindAsset})
	case atom.Html:
		addAttr(s, at, atManifest, ref{src: srcHTMLManifest, kind: KindAsset})
	case atom.Head:
		addList(s, at, atProfile, ref{src: srcHeadProfile, kind: KindPage}, false)
	case atom.Meta:
		metaRefs(s, at)
	}
}

// methodOf returns the method of a link of kind k whose method RelKind
// gave as m.
func methodOf(k Kind, m string) method {
	switch {
	case k != KindForm:
		return mNone
	case strings.EqualFold(m, "POST"):
		return mPost
	}
	return mGet
}

func addAttr[T string | []byte, S refSink[T]](s S, at *attrSet[T], id attrID, r ref) {
	if v, ok := at.get(id); ok {
		s.add(v, r)
	}
}

// addList adds each URL of a list attribute: separated by ASCII
// whitespace, or by commas (with whitespace around them trimmed) if
// commas is set.
func addList[T string | []byte, S refSink[T]](s S, at *attrSet[T], id attrID, r ref, commas bool) {
	v, ok := at.get(id)
	if !ok {
		return
	}
	if commas {
		for len(v) > 0 {
			i := indexByte(v, ',')
			if i < 0 {
				i = len(v)
			}
			if u := trimSpace(v[:i]); len(u) > 0 {
				s.add(u, r)
			}
			v = v[min(i+1, len(v)):]
		}
		return
	}
	for f, rest := nextField(v); len(f) > 0; f, rest = nextField(rest) {
		s.add(f, r)
	}
}

func addSrcset[T string | []byte, S refSink[T]](s S, at *attrSet[T], r ref) {
	v, ok := at.get(atSrcset)
	if !ok {
		return
	}
	for u, next, ok := srcsetNext(v, 0); ok; u, next, ok = srcsetNext(v, next) {
		s.add(u, r)
	}
}

// cssText adds the URLs cssRefs finds in css, with src for url() and imp
// for @import. CSS without '(' or '@' holds no URL (url(), image-set() and
// the like are functions, whose '(' cannot be escaped; @import is an
// at-keyword, whose '@' cannot either), so the common style attribute
// ("color: red") is passed over without copying it to a string.
func cssText[T string | []byte, S refSink[T]](s S, css T, src, imp source) {
	if indexByte(css, '(') < 0 && indexByte(css, '@') < 0 {
		return
	}
	cssRefs(string(css), func(u string, isImport bool) {
		r := ref{src: src, kind: KindAsset}
		if isImport {
			r.src = imp
		}
		s.addString(u, r)
	})
}
