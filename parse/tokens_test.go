package parse

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"trawl/fixtures"
)

// diffDoc is one document for the differential tests.
type diffDoc struct {
	name, contentType, page string
	body                    []byte
	guess                   bool // Options.GuessLinks
	fallBack                bool // the streaming pass gives up on it
}

// diffDocs returns every HTML document the package's tests and the fixtures
// package hold: the table tests' bodies, the benchmark page, the embedded
// basic site, synthetic sites and the hostile handler's HTML pages.
func diffDocs(t *testing.T) []diffDoc {
	t.Helper()
	var docs []diffDoc
	for _, tc := range htmlLinksTests {
		page := "http://example.com/dir/page.html"
		if tc.page == "-" {
			page = ""
		} else if tc.page != "" {
			page = tc.page
		}
		docs = append(docs, diffDoc{name: "links/" + tc.name, contentType: "text/html", page: page, body: []byte(tc.body),
			fallBack: tc.name == "frames"})
	}
	for _, tc := range htmlSourcesTests {
		docs = append(docs, diffDoc{name: "sources/" + tc.name, contentType: "text/html", page: "http://example.com/dir/page.html",
			body: []byte(tc.body), guess: tc.guess, fallBack: tc.name == "frame src" || tc.name == "formaction in a post form"})
	}
	for _, tc := range trickyDocs {
		if tc.fallBack {
			continue
		}
		// With GuessLinks, in a srcdoc, in a conditional comment.
		docs = append(docs, diffDoc{name: "tricky/" + tc.name, contentType: "text/html", page: "http://example.com/dir/page.html",
			body: []byte(tc.body), guess: true})
		attr := html.EscapeString(tc.body)
		docs = append(docs, diffDoc{name: "srcdoc/" + tc.name, contentType: "text/html", page: "http://example.com/dir/page.html",
			body: []byte(`<iframe srcdoc="` + attr + `"></iframe><a href="/after">a</a>`)})
		if !strings.Contains(tc.body, "-->") {
			docs = append(docs, diffDoc{name: "comment/" + tc.name, contentType: "text/html", page: "http://example.com/dir/page.html",
				body: []byte(`<p>x<!--[if IE]>` + tc.body + `<![endif]--><a href="/after">a</a>`)})
		}
	}
	// The Links site: one page per place a link can be.
	linkSite := fixtures.Links()
	for _, src := range fixtures.LinkSources() {
		if strings.HasPrefix(src.Page, "/src/") && !strings.HasPrefix(src.Source, "header:") {
			d := served(t, linkSite, "linksite"+src.Page, src.PageURL(fixtures.LinksHost))
			d.fallBack = src.Source == "frame[src]"
			docs = append(docs, d)
		}
	}
	for _, tc := range htmlMetaTests {
		docs = append(docs, diffDoc{name: "meta/" + tc.name, contentType: "text/html; charset=utf-8", page: "http://example.com/dir/page.html", body: []byte(tc.body)})
	}
	for _, tc := range charsetTests(t) {
		docs = append(docs, diffDoc{name: "charset/" + tc.name, contentType: tc.contentType, page: "http://example.com/", body: tc.body})
	}
	docs = append(docs, diffDoc{name: "bench", contentType: "text/html", page: "https://www.example.com/bench/page.html", body: benchPage()},
		diffDoc{name: "bench-assets", contentType: "text/html", page: "https://www.example.com/bench/assets.html", body: benchAssetsPage()})

	// The basic site, served by its handler for the real Content-Type.
	site := fixtures.SiteHandler(fixtures.Basic())
	err := fs.WalkDir(fixtures.Basic(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".html" {
			return err
		}
		host, rest, _ := strings.Cut(p, "/")
		u := "http://" + host + "/" + rest
		docs = append(docs, served(t, site, "basic/"+p, u))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, syn := range []fixtures.Synthetic{
		{Pages: 100, Links: 20, Size: 10000, Hosts: 4, Seed: 1},
		{Pages: 37, Links: 50, Size: 2000, Hosts: 3, Seed: 7},
	} {
		for i := range syn.Pages {
			docs = append(docs, diffDoc{name: fmt.Sprintf("synthetic/%d-%d/%d", syn.Seed, syn.Links, i), contentType: "text/html; charset=utf-8", page: syn.URL(i), body: syn.Page(i)})
		}
	}

	hostile := fixtures.Hostile()
	for _, p := range []string{"/hostile/", "/hostile/broken", "/hostile/ok/index", "/hostile/flap/0", "/hostile/latency/0"} {
		docs = append(docs, served(t, hostile, "hostile"+p, "http://hostile.test"+p))
	}
	return docs
}

// served gets u from h without a network.
func served(t *testing.T, h http.Handler, name, u string) diffDoc {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d", u, rec.Code)
	}
	return diffDoc{name: name, contentType: rec.Header().Get("Content-Type"), page: u, body: rec.Body.Bytes()}
}

func parseOrNil(t testing.TB, s string) *url.URL {
	if s == "" {
		return nil
	}
	return mustURL(t, s)
}

// pageDiff describes how two Pages differ, or returns "".
func pageDiff(got, want *Page) string {
	var d []string
	add := func(field string, g, w any) {
		if !reflect.DeepEqual(g, w) {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", field, g, w))
		}
	}
	add("Title", got.Title, want.Title)
	add("Description", got.Description, want.Description)
	add("Canonical", got.Canonical, want.Canonical)
	add("Lang", got.Lang, want.Lang)
	add("Base", got.Base.String(), want.Base.String())
	add("NoFollow", got.NoFollow, want.NoFollow)
	add("NoIndex", got.NoIndex, want.NoIndex)
	if !reflect.DeepEqual(got.Links, want.Links) {
		d = append(d, fmt.Sprintf("Links:\n got %v\nwant %v", got.Links, want.Links))
	}
	return strings.Join(d, "\n")
}

// TestStreamingMatchesTree checks that the streaming pass finds, on every
// fixture document, exactly what the DOM walk finds, without falling back.
func TestStreamingMatchesTree(t *testing.T) {
	docs := diffDocs(t)
	if len(docs) < 200 {
		t.Fatalf("only %d documents", len(docs))
	}
	links := 0
	for _, d := range docs {
		pu := parseOrNil(t, d.page)
		got, fellBack, err := extractWith(d.body, d.contentType, pu, false, Options{GuessLinks: d.guess})
		if err != nil {
			t.Errorf("%s: %v", d.name, err)
			continue
		}
		want, err := referenceHTMLWith(d.body, d.contentType, pu, d.guess)
		if err != nil {
			t.Errorf("%s: reference: %v", d.name, err)
			continue
		}
		switch {
		case fellBack && !d.fallBack:
			t.Errorf("%s: the streaming pass gave up", d.name)
		case !fellBack && d.fallBack:
			t.Errorf("%s: the streaming pass did not give up", d.name)
		}
		if diff := pageDiff(got, want); diff != "" {
			t.Errorf("%s:\n%s", d.name, diff)
		}
		links += len(got.Links)
	}
	if links < 2000 {
		t.Errorf("only %d links in all documents", links)
	}
}

// trickyDocs exercise the parts of tree construction the streaming pass
// models. fallBack marks those it must leave to the tree.
var trickyDocs = []struct {
	name, body string
	fallBack   bool
}{
	{name: "svg title", body: `<svg><title>icon</title><path d="M0"/></svg><title>Real</title>`},
	{name: "svg title first", body: `<body><svg><title>icon &amp; more</title></svg><p><title>late</title>`},
	{name: "svg links", body: `<svg><a href="/svg-a"><text>x</text></a><a xlink:href="/xlink">y</a></svg>`},
	{name: "svg raw elements", body: `<svg><style><a href="/in-svg-style"></a></style><script><a href="/in-svg-script"></a></script><iframe src="/svg-iframe"><a href="/in-svg-iframe"></a></iframe></svg>`},
	{name: "svg frame counts", body: `<svg><frame src="/svg-frame"/><base href="/svgbase/"/><link rel="canonical" href="/svg-canon"/></svg><a href="rel">r</a>`},
	{name: "svg self-closing", body: `<svg/><title>after</title><a href="/after-svg">a</a>`},
	{name: "svg breakout", body: `<svg><g><p><a href="/after-breakout">a</a><title>T</title>`},
	{name: "svg breakout meta", body: `<svg><meta name="description" content="from svg"><title>T2</title></svg>`},
	{name: "svg font breakout", body: `<svg><font color="red"><title>plain</title></font></svg>`},
	{name: "svg font foreign", body: `<svg><font><title>svg title</title></font></svg><title>page</title>`},
	{name: "svg cdata", body: `<svg><![CDATA[<a href="/cdata">]]></svg><![CDATA[<a href="/bogus">]]><a href="/real">r</a>`},
	{name: "svg template", body: `<svg><template><a href="/svg-tpl"></a></template><a href="/after-svg-tpl"></a></svg>`},
	{name: "svg end tags", body: `<svg><g><a href="/g"></A></G></svg><a href="/html">h</a>`},
	{name: "svg unclosed then body end", body: `<svg></body><a href="/still-svg">x</a><title>svg</title>`},
	{name: "svg unicode fold", body: "<svg><s><\u017f></s><a href=\"/still-in-s\">x</a></s><title>t</title></svg><title>page</title>"},
	{name: "svg nul name", body: "<svg><a\x00b></a\x00b><a href=\"/after-nul\">x</a></svg><title>t</title>"},
	{name: "svg desc text", body: `<svg><desc>just text</desc><title>tt</title></svg><title>Page</title>`},
	{name: "math", body: `<math><mi>x</mi><mo>=</mo><mtext>t</mtext><mi><mglyph/></mi></math><title>m</title>`},
	{name: "math annotation svg", body: `<math><annotation-xml encoding="text/html"><svg><a href="/ann"></a><title>no</title></svg></annotation-xml></math>`},
	{name: "math annotation plain", body: `<math><annotation-xml><svg><title>no</title></svg></annotation-xml></math><title>yes</title>`},
	{name: "math svg inside", body: `<math><svg><title>math title</title></svg></math><title>yes</title>`},
	{name: "template svg title", body: `<template><svg><title></template><a href="/x">x</a>`},
	{name: "template nested", body: `<template><template><a href="/in"></a></template><a href="/in2"></a></template><a href="/out">o</a>`},
	{name: "template col noscript", body: `<template><col><noscript></template><a href="/hidden"></noscript></template><a href="/shown">s</a>`},
	{name: "template col svg", body: `<template><col><svg><title></template><a href="/y"></title></template><a href="/y2">y</a>`},
	{name: "template col nested", body: `<template><col><template><svg><title></template></title><a href="/z"></template><a href="/z2">z</a>`},
	{name: "template colgroup", body: `<template><colgroup><noscript></template><a href="/c"></noscript></template><a href="/c2">c</a>`},
	{name: "template title first", body: `<template><title>hidden</title><link rel="canonical" href="/tc"><base href="/tb/"></template><title>shown</title><a href="x">x</a>`},
	{name: "template head-ish first", body: `<template><meta name="x"><col><noscript></template></noscript></template><a href="/q">q</a>`},
	{name: "stray template end", body: `</template><a href="/stray">s</a>`},
	{name: "noscript head", body: `<head><noscript><link rel="canonical" href="/ns-canon"><a href="/ns-a">a</a></noscript></head>`},
	{name: "noscript nested", body: `<noscript><noscript><a href="/nn">n</a></noscript></noscript>`},
	{name: "html lang merge", body: `<html><body><html lang="fr"><html lang="de">`},
	{name: "html lang template", body: `<template><html lang="de"></template><html lang="fr">`},
	{name: "html lang empty first", body: `<html lang=""><html lang="fr">`},
	{name: "html lang svg", body: `<svg><html lang="x"></html></svg><html lang="fr">`},
	{name: "titles", body: `<title>A</title><title>B</title>`},
	{name: "title empty", body: `<title></title><title>B</title>`},
	{name: "title unterminated", body: `<title>abc &amp; <a href="/no">`},
	{name: "title self-closing", body: `<title/>x</title><a href="/t">t</a>`},
	{name: "title entities and nul", body: "<title>a&nbsp;b\x00c&lt;</title>"},
	{name: "raw text elements", body: `<textarea><a href="/ta"></textarea><xmp><a href="/xmp"></xmp><iframe src="/if"><a href="/ifc"></iframe><noembed><a href="/ne"></noembed><noframes><a href="/nf"></noframes><style><a href="/st"></style><a href="/ok">ok</a>`},
	{name: "plaintext", body: `<a href="/before">b</a><plaintext><a href="/no"></plaintext><a href="/no2">`},
	{name: "svg plaintext", body: `<svg><plaintext><a href="/p"></a></svg>`},
	{name: "script escapes", body: `<script><!--<script></script><a href="/esc">--></script><a href="/after">a</a>`},
	{name: "script unterminated", body: `<script><a href="/no">`},
	{name: "comments", body: `<!-- <a href="/c1"> --><!--> <a href="/c2"><!---><a href="/c3"><? <a href="/pi"> ?><! <a href=/decl>><a href="/ok">`},
	{name: "attributes", body: "<a href=/x href=/y>1</a><A HREF='/Upper'>2</a><a href = \"/spaced\" >3</a><a =href=/eq>4</a><a/href=/slash>5</a><a href=/amp?a=1&amp;b=2&copy=3>6</a><a href=\"/nl\r\nx\">7</a><a href=/self/>8</a><a href=\"/q\"x=y>9</a><a href='/sq'/>10</a><a href>11</a><a href=>12</a><a href=\"/nul\x00\">13</a>"},
	{name: "rel tokens", body: "<a rel=\"nofollow\u00a0x\" href=\"/nbsp\">1</a><a rel=NOFOLLOW href=\"/up\">2</a><a rel=\"x\tnofollow\" href=/tab>3</a>"},
	{name: "meta unicode fold", body: `<meta name="robotſ" content="noindex"><meta name="DESCRIPTION" content="d&amp;d">`},
	{name: "meta robots list", body: `<meta name=robots content="  nofollow , x"><meta name=robots>`},
	{name: "canonical empty first", body: `<link rel=canonical><link rel="alternate canonical" href="/c2"><link rel=canonical href="/c3">`},
	{name: "base without href", body: `<base target=_blank><base href="/b/"><a href="x">x</a>`},
	{name: "base in svg", body: `<svg><base href="/svgbase/"></svg><a href="x">x</a>`},
	{name: "frame outside frameset", body: `<frame src="/f"><a href="/a">a</a>`},
	{name: "frameset in template", body: `<template><frameset><frame src="/f"></frameset></template><a href="/a">a</a>`},
	{name: "area and iframe", body: `<map><area href="/area" rel="nofollow"></map><iframe src="/ifr"></iframe><iframe></iframe>`},
	{name: "formatting reconstruction", body: `<p><a href="/r" rel="nofollow">1<p>2</a><a href="/r">3</a>`},
	{name: "select", body: `<select><a href="/sel"></a><iframe src="/sel-if"></iframe><option><a href="/opt">o</a></select>`},
	{name: "after body", body: `<body></body></html><a href="/late">l</a><title>late</title>`},
	{name: "empty", body: ``},
	{name: "lone lt", body: `a < b <a href="/lt">x</a> c <3 <`},
	{name: "no gt at end", body: `<a href="/x">x</a><a href="/unfinished"`},
	{name: "uppercase raw", body: `<TITLE>Up</TITLE><SCRIPT><a href="/s"></SCRIPT ><a href="/ok">`},

	// The document's start: doctype, html, head and body.
	{name: "doctype after comment and space", body: "<!-- x -->\n  <!DOCTYPE html SYSTEM \"/d.dtd\"><p>x"},
	{name: "doctype after entity space", body: `&#32;&Tab;<!DOCTYPE html SYSTEM "/d.dtd"><p>x`},
	{name: "doctype after text", body: `x<!DOCTYPE html SYSTEM "/d.dtd">`},
	{name: "doctype after nbsp", body: `&nbsp;<!DOCTYPE html SYSTEM "/d.dtd">`},
	{name: "doctype after end tag", body: `</p><!DOCTYPE html SYSTEM "/d.dtd"><a href="/a">a</a>`},
	{name: "doctype after nul", body: "\x00<!DOCTYPE html SYSTEM \"/d.dtd\">"},
	{name: "doctype twice", body: `<!DOCTYPE html SYSTEM "/d1.dtd"><!DOCTYPE html SYSTEM "/d2.dtd">`},
	{name: "doctype forms", body: `<!DOCTYPEhtml PuBlIc 'pub' "/sys&amp;x.dtd" trailing>`},
	{name: "doctype unterminated", body: `<!DOCTYPE html SYSTEM "/unterminated.dtd`},
	{name: "doctype public only", body: `<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN">`},
	{name: "doctype no quotes", body: `<!DOCTYPE html SYSTEM /d.dtd><!DOCTYPE>`},
	{name: "html attrs merge", body: `<!--[if IE]><link href=/c1 rel=stylesheet><![endif]--><html style="background:url(/h.png)"><p style="background:url(/p.png)">x</p><html manifest="/m" style="background:url(/no.png)">`},
	{name: "html implied then manifest", body: `<!doctype html><!-- c --><p style="background:url(/p.png)"><html manifest=/m><html manifest=/no>`},
	{name: "html in template and svg", body: `<template><html manifest=/t></template><svg><html manifest=/s></html></svg><html manifest=/ok>`},
	{name: "body merge", body: `<head><link rel=stylesheet href=/s.css></head><body style="background:url(/b1.png)"><img src=/i.png><body background=/bg.png style="background:url(/b2.png)">`},
	{name: "body implied by img", body: `<link rel=icon href=/a.ico><img src=/i.png><body background=/bg.png>`},
	{name: "body implied by text", body: `<head><link href=/a rel=icon></head> text <link href=/b rel=icon><body background=/bg.png>`},
	{name: "body implied by entity", body: `<link href=/a rel=icon>&amp;<link href=/b rel=icon><body background=/bg.png>`},
	{name: "body not implied by blank entity", body: `<link href=/a rel=icon>&#10;<link href=/b rel=icon><body background=/bg.png>`},
	{name: "body implied by skipped tag", body: `<link href=/a rel=icon><p>x<link href=/b rel=icon><body background=/bg.png>`},
	{name: "body implied by end tag", body: `<link href=/a rel=icon></br><link href=/b rel=icon><body background=/bg.png>`},
	{name: "body not implied by end tags", body: `<link href=/a rel=icon></p></div></head><link href=/b rel=icon><body background=/bg.png>`},
	{name: "body in template", body: `<template><body background=/no.png></template><link rel=icon href=/i><body background=/yes.png>`},
	{name: "body breaks out of svg", body: `<body><svg><body style="background:url(/sb.png)" background=/sbg.png><image href=/x.png></svg>`},
	{name: "head profile implied", body: `<title>x</title><head profile=/p>`},
	{name: "head profile after comment", body: `<html><!-- c --><head profile="/p1 /p2"><link rel=icon href=/i></head><head profile=/no>`},
	{name: "head profile before html", body: `<head profile=/p><html manifest=/m>`},
	{name: "head noscript", body: `<head><noscript><noscript style="background:url(/ns.png)"><link rel=stylesheet href=/nl.css></noscript><link rel=icon href=/after></head>`},
	{name: "head noscript breaks", body: `<head><noscript><p style="background:url(/np.png)"><body background=/b.png>`},
	{name: "head noscript end tags", body: `<head><noscript></head></body><link rel=icon href=/in></noscript><link rel=icon href=/out><body background=/b.png>`},
	{name: "head noscript text", body: `<head><noscript> x <link rel=icon href=/in><body background=/b.png>`},
	{name: "after head elements", body: `<head></head><link rel=stylesheet href=/late.css><!-- c --><meta http-equiv=refresh content="0;url=/r"><body background=/b.png>`},
	{name: "after head noscript", body: `<head></head><noscript><link rel=icon href=/n.ico></noscript><body background=/b.png>`},
	{name: "after head template", body: `<head></head><template><img src=/t.png></template><link rel=icon href=/i><body background=/b.png>`},

	// Elements the tree builder ignores.
	{name: "table parts outside tables", body: `<td style="background:url(/no.png)" background=/no2.png>x</td><tr style="background:url(/no3.png)"><caption style="x:url(/no4.png)"><col style="x:url(/no5.png)"><tbody style="x:url(/no6.png)"><a href=/ok>ok</a>`},
	{name: "table parts", body: `<table style="background:url(/t.png)"><caption style="background:url(/cap.png)">c</caption><colgroup style="background:url(/cg.png)"><col style="background:url(/col.png)"><tbody style="background:url(/tb.png)"><tr style="background:url(/tr.png)"><th background=/th.png><td background=/td.png></td></tr></tbody></table><td background=/after.png>`},
	{name: "nested tables", body: `<table><tr><td><table><tr><td background=/in.png></td></tr></table><td background=/out.png></td></tr></table><td background=/no.png>`},
	{name: "table in table", body: `<table><tr><td>x</td></tr><table><td background=/second.png></table><td background=/no.png>`},
	{name: "table in foster-parented div", body: `<table><div><table><td background=/t2.png></table></div><td background=/no.png>`},
	{name: "table in caption", body: `<table><caption><table><td background=/cap-in.png></table></caption><td background=/t1.png></table><td background=/no.png>`},
	{name: "cell end mismatch", body: `<table><tr><th>x</td><table><td background=/nested.png></table></th><td background=/c2.png></table><td background=/no.png>`},
	{name: "section end in cell", body: `<table><thead><tr><td>x</tbody><table><td background=/n.png></table></thead><table><td background=/n2.png></table></table><td background=/no.png>`},
	{name: "row end in cell", body: `<table><tr><td>x</tr><table><td background=/r.png></table></table><td background=/no.png>`},
	{name: "caption end", body: `<table><caption>c</td></caption><table><td background=/c.png></table></table><td background=/no.png>`},
	{name: "th in caption", body: `<table><caption><th background=/no.png style="x:url(/no2.png)">c</th><td background=/td.png></table>`},
	{name: "caption closed by td", body: `<table><caption>c<td background=/c.png><table><td background=/n.png></table></table><td background=/no.png>`},
	{name: "colgroup then table", body: `<table><colgroup><table><td background=/t.png></table><td background=/no.png>`},
	{name: "table in template", body: `<template><table><tr><td background=/tt.png></template><td background=/no.png>`},
	{name: "template in table", body: `<table><template><tr></template><td background=/yes.png></table><td background=/no.png>`},
	{name: "table in svg", body: `<table><tr><td><svg><td style="background:url(/svg-td.png)"/><table><td background=/in.png></table></svg></table>`},
	{name: "form pointer", body: `<form action=/f1></form><form action=/f2><div><form action=/f3 style="x:url(/f3.png)"></div></form><form action=/f4>`},
	{name: "form in template", body: `<form action=/f1><template><form action=/ft></form></template><form action=/f2>`},
	{name: "form end first", body: `</form><form action=/a>`},
	{name: "form in table", body: `<table><form action=/tf><tr><td><form action=/tf2></table><form action=/f3>`},
	{name: "form in svg", body: `<svg><form action=/no><button formaction=/no2></button></form></svg><form method=post action=/p>`},
	{name: "formaction after get form", body: `<form action=/g><button formaction=/b1></button></form><button formaction=/b2>`},
	{name: "formaction with formmethod after post form", body: `<form method=post action=/p></form><button formaction=/b formmethod=get>`},
	{name: "select styles", body: `<select style="background:url(/s1.png)"><option style="background:url(/o.png)">a</select><select style="background:url(/s2.png)"></select>`},
	{name: "select without style after select", body: `<select><select><option style="background:url(/o.png)">a`},

	// Comments, srcdoc, style and script.
	{name: "conditional comment places", body: `<svg><!--[if IE]><a href=/svg-c></a><![endif]--></svg><template><!--[if IE]><a href=/tpl-c></a><![endif]--></template><table><!--[if IE]><a href=/table-c></a><![endif]--></table>`},
	{name: "conditional comment forms", body: `<!--[IF IE]><a href=/u></a><![ENDIF]--><!--[if IE]><a href=/no-endif><!--[if IE]>]><a href=/b></a><![endif]><![endif]--><!--[if]><![endif]-->`},
	{name: "conditional comment nested", body: `<!--[if IE]><iframe srcdoc="<!--[if IE]&gt;<iframe srcdoc='<a href=/deep>'></iframe><![endif]&gt;"></iframe><![endif]-->`},
	{name: "conditional comment after body", body: `<body><p>x</p></body><!--[if IE]><a href=/late>l</a><![endif]--></html><!--[if IE]><script src=/later.js></script><![endif]-->`},
	{name: "srcdoc in svg", body: `<svg><iframe srcdoc="<a href=/s></a>"/></svg>`},
	{name: "srcdoc frameset", body: `<iframe srcdoc="<frameset><frame src=/nf></frameset>"></iframe><a href=/after>a</a>`},
	{name: "srcdoc inert", body: `<template><iframe srcdoc="<a href=/no>"></iframe></template>`},
	{name: "srcdoc empty and entities", body: `<iframe srcdoc></iframe><iframe srcdoc="&lt;img src=/e.png&gt;"></iframe>`},
	{name: "style places", body: `<svg><style>@import "/svg.css";</style></svg><template><style>@import "/tpl.css";</style></template><style></style><style/>@import "/self-closing.css";</style><noscript><style>@import "/ns.css";</style></noscript>`},
	{name: "style text raw", body: `<style>a{background:url(&amp;)} b{background:url("/x\"y")}</style>`},
	{name: "style attributes everywhere", body: `<math style="x:url(/m.png)"><mi style="x:url(/mi.png)">x</mi></math><svg><g style="x:url(/g.png)"/><template style="x:url(/t.png)"><g style="x:url(/no.png)"/></template></svg><template style="x:url(/ht.png)"></template><title style="x:url(/ti.png)">t</title><title style="x:url(/t2.png)">t2</title>`},
	{name: "images", body: `<svg><image href=/si.png src=/no.png></image></svg><image src=/hi.png><math><image src=/mi.png href=/mh.png></math>`},
	{name: "scripts", body: `<script src=/a.js href=/no.js></script><svg><script src=/no2.js href=/s.js xlink:href=/x.js>var a = "<b>";</script></svg>`},
	{name: "attribute values decoded", body: "<img src=\"/a\r\nb.png\" srcset=\"/c\x00.png 1x\"><link rel=\"Style&#x53;heet\" href=/s.css><meta name=OG&#58;IMAGE content=/og.png>"},
	{name: "meta combos", body: `<meta name=og:url property=og:image content=/both><meta http-equiv=refresh name=twitter:image content="0;url=/r2"><meta http-equiv=content-security-policy content="report-uri"><meta property=og:image>`},
	{name: "link rel words", body: `<link rel="SHORTCUT ICON" href=/f.ico><link rel="alternate stylesheet" href=/alt.css><link rel="preconnect dns-prefetch" href=/no><link rel="Alternate" type="Application/RSS+XML" href=/rss>`},

	{name: "formaction after post form", body: `<form method=post action=/p><button formaction=/b>b</button></form>`, fallBack: true},
	{name: "formaction after dialog form", body: `<form method=dialog></form><input formaction=/i>`, fallBack: true},
	{name: "nested select", body: `<select><select style="background:url(/s2.png)">`, fallBack: true},
	{name: "select scope", body: `<select><object></select><select style="x:url(/s.png)">`, fallBack: true},
	{name: "after head comment then link", body: `<head></head><!--[if IE]><a href=/c></a><![endif]--><link rel=stylesheet href=/l.css><body>`, fallBack: true},
	{name: "form end in svg", body: `<form action=/a><svg></form></svg><form action=/b>`, fallBack: true},
	{name: "frameset", body: `<frameset><frame src="/left"><a href="/ignored"></frameset>`, fallBack: true},
	{name: "html in foreignObject", body: `<svg><foreignObject><div><a href="/fo">f</a></div></foreignObject></svg>`, fallBack: true},
	{name: "html in svg title", body: `<svg><title><b>x</b></title></svg>`, fallBack: true},
	{name: "html in mi", body: `<math><mi><b>x</b></mi></math>`, fallBack: true},
	{name: "breakout to integration point", body: `<svg><desc><g><p>x</p></g></desc></svg>`, fallBack: true},
	{name: "unmatched end in svg", body: `<div><svg></div><a href="/after">a</a><title>t</title>`, fallBack: true},
	{name: "p end in svg", body: `<svg></p><title>t</title>`, fallBack: true},
}

func TestStreamingTricky(t *testing.T) {
	pu := mustURL(t, "http://example.com/dir/page.html")
	for _, tc := range trickyDocs {
		t.Run(tc.name, func(t *testing.T) {
			got, fellBack, err := extract([]byte(tc.body), "text/html", pu, false)
			if err != nil {
				t.Fatal(err)
			}
			if fellBack != tc.fallBack {
				t.Errorf("fell back to the tree: %v, want %v", fellBack, tc.fallBack)
			}
			want, err := referenceHTML([]byte(tc.body), "text/html", pu)
			if err != nil {
				t.Fatal(err)
			}
			if diff := pageDiff(got, want); diff != "" {
				t.Error(diff)
			}
			// The best-effort pass (used when the tree builder fails) runs
			// without panicking on all of them.
			tokens([]byte(tc.body), false, scanConfig{})
		})
	}
}

// TestDeepNesting: the tree builder refuses more than 512 open elements;
// HTML does not, and Document is then empty. Deep foreign content with
// many unmatched end tags stays linear (the stack is bounded).
func TestDeepNesting(t *testing.T) {
	body := []byte(strings.Repeat("<div>", 600) + `<title>Deep</title><a href="/deep">d</a>`)
	pu := mustURL(t, "http://example.com/")
	if _, err := parseTree(body); err == nil {
		t.Fatal("the tree builder accepts 600 nested divs; the test needs a document it refuses")
	}
	// The second document makes the streaming pass give up (a <div> in an
	// integration point), then the tree builder fails too: HTML does what
	// it can without the tree.
	for _, prefix := range []string{"", "<svg><desc>"} {
		p, err := HTML(append([]byte(prefix), body...), "text/html", pu)
		if err != nil {
			t.Fatalf("HTML(%q...): %v", prefix, err)
		}
		if got := linkStrings(p.Links); p.Title != "Deep" || !reflect.DeepEqual(got, []string{"http://example.com/deep"}) {
			t.Errorf("HTML(%q...): title %q, links %q; want Deep and the one link", prefix, p.Title, got)
		}
		doc := p.Document()
		if doc == nil || doc.Find("div").Length() != 0 || doc.Url.String() != pu.String() {
			t.Errorf("Document() = %v; want an empty document with the page URL", doc)
		}
	}
	svg := "<svg>" + strings.Repeat("<g>", 20000) + `<a href="/in-svg">x</a>` + strings.Repeat("</x>", 20000) + `<title>svg</title>`
	p, err := HTML([]byte(svg), "text/html", pu)
	if err != nil {
		t.Fatal(err)
	}
	if got := linkStrings(p.Links); p.Title != "" || !reflect.DeepEqual(got, []string{"http://example.com/in-svg"}) {
		t.Errorf("deep SVG: title %q, links %q; want no title and the one link", p.Title, got)
	}
}

// TestDocumentLazy: Document builds the tree once, on first use, even with
// concurrent callers (run with -race), and a fallback page reuses the tree
// it walked.
func TestDocumentLazy(t *testing.T) {
	pu := mustURL(t, "http://example.com/p")
	for _, body := range []string{
		`<title>T</title><ul><li>a</li><li>b</li></ul>`,
		`<frameset><frame src="/f"></frameset><ul><li>a</li><li>b</li></ul>`,
	} {
		p, fellBack, err := extract([]byte(body), "text/html", pu, false)
		if err != nil {
			t.Fatal(err)
		}
		if built := p.lazy.doc != nil; built != fellBack {
			t.Errorf("%q: document built by HTML: %v, want %v", body, built, fellBack)
		}
		var wg sync.WaitGroup
		docs := make(chan any, 8)
		for range 8 {
			wg.Go(func() { docs <- p.Document() })
		}
		wg.Wait()
		close(docs)
		first := p.Document()
		for d := range docs {
			if d != first {
				t.Errorf("%q: Document returned different documents", body)
			}
		}
		if p.lazy.text != nil {
			t.Errorf("%q: the page text is kept after the document was built", body)
		}
	}
	if (&Page{}).Document() != nil {
		t.Error("a Page that HTML did not make has a document")
	}
}

// TestAttrScan checks attrs.scan against the tokenizer's own TagAttr on
// every start tag of the tricky documents.
func TestAttrScan(t *testing.T) {
	for _, tc := range trickyDocs {
		if msg := checkAttrScan([]byte(tc.body)); msg != "" {
			t.Errorf("%s: %s", tc.name, msg)
		}
	}
}

// checkAttrScan compares attrs.scan with TagAttr on every start tag of
// body, with and without decoding.
func checkAttrScan(body []byte) string {
	const all = 1<<numAttrs - 2 // every attrID but atNone
	z := html.NewTokenizer(bytes.NewReader(body))
	z2 := html.NewTokenizer(bytes.NewReader(body))
	for {
		tt := z.Next()
		z2.Next()
		if tt == html.ErrorToken {
			return ""
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		raw := z.Raw()
		var want attrs
		for more := true; more; {
			var k, v []byte
			k, v, more = z2.TagAttr()
			if id := which(k); id != atNone {
				want.set(id, v)
			}
		}
		var got attrs
		got.scan(raw, all)
		var presence attrs
		presence.presence(raw, all)
		if presence.has != want.has {
			return fmt.Sprintf("tag %q: without decoding has %b, want %b", raw, presence.has, want.has)
		}
		if !reflect.DeepEqual(norm(got), norm(want)) {
			return fmt.Sprintf("tag %q:\n got %q\nwant %q", raw, norm(got), norm(want))
		}
		var n int
		var urls bool
		if n, urls = tagEndAttrs(raw, 1, allAttrs, 0); n != len(raw) || urls != (want.has != 0) {
			return fmt.Sprintf("tag %q: tagEndAttrs = %d, %v; want %d, %v", raw, n, urls, len(raw), want.has != 0)
		}
	}
}

func norm(a attrs) []string {
	out := []string{fmt.Sprint(a.has)}
	for id := atNone + 1; id < numAttrs; id++ {
		v, _ := a.get(id)
		out = append(out, string(v))
	}
	return out
}

// TestSkipReader: skipping text must not change any token but text tokens.
func TestSkipReader(t *testing.T) {
	for _, tc := range trickyDocs {
		body := []byte(tc.body)
		if msg := checkSkipReader(body); msg != "" {
			t.Errorf("%s: %s", tc.name, msg)
		}
	}
}

// checkSkipReader tokenizes body plainly and through skipReader (skipping
// text and tags whenever the pass could, in live content before or in the
// body, and in inert content) and compares the raw text of the tokens that
// matter: all but text and the tags skippable leaves out (a shortened tag
// counts as the tag it stands for).
func checkSkipReader(body []byte) string {
	for _, mode := range [...]struct{ live, preBody bool }{{true, false}, {true, true}, {false, false}} {
		if msg := checkSkipReaderIn(body, mode.live, mode.preBody); msg != "" {
			return fmt.Sprintf("live %v, before the body %v: %s", mode.live, mode.preBody, msg)
		}
	}
	return ""
}

func checkSkipReaderIn(body []byte, live, preBody bool) string {
	matters := func(raw []byte, tt html.TokenType) bool {
		switch tt {
		case html.TextToken:
			return false
		case html.StartTagToken, html.SelfClosingTagToken:
			return startMatters(raw, live, preBody)
		case html.EndTagToken:
			return endMatters(tagName(raw, 2), live, preBody)
		}
		return true
	}
	plain := html.NewTokenizer(bytes.NewReader(body))
	var want []string
	for {
		tt := plain.Next()
		if tt == html.ErrorToken {
			break
		}
		if matters(plain.Raw(), tt) {
			want = append(want, string(plain.Raw()))
		}
	}
	r := &skipReader{b: body, live: live, preBody: preBody}
	z := html.NewTokenizer(r)
	var got []string
	raw := false
	for {
		r.skip = !raw && len(z.Buffered()) == 0
		r.skipTags = r.skip
		r.tag = nil
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Raw()
		if r.tag != nil {
			tok = r.tag // the tokenizer read "<name>" for it
		}
		raw = false
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken {
			raw = isRawTag(tagName(tok, 1))
		}
		if matters(tok, tt) {
			got = append(got, string(tok))
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Sprintf("tokens:\n got %q\nwant %q", got, want)
	}
	return ""
}

// FuzzHTML runs HTML and referenceHTML (the tree walk) on arbitrary input:
// no panic, and the same Page. It also checks skipReader and attrs.scan
// against the plain tokenizer.
//
// One difference is accepted (see tokens.go): order, where the tree
// builder moves elements away from source order. It foster-parents content
// misplaced in a <table>, the adoption agency algorithm moves blocks out
// of misnested formatting elements (an <a> left open around a <p>, then
// another <a>), and comments after </body> go after the body's content.
// When the pass and the walk find the same link targets (the
// same refs: href, kind, source and method), only in another order, Links
// are compared as sets of keys; in a document with a <table>, the fields
// that take the first of several elements (Title, Description, Canonical,
// Base) are not compared either. With a <script> in the input, the Links
// found with Options.GuessLinks are compared too.
func FuzzHTML(f *testing.F) {
	for _, tc := range trickyDocs {
		f.Add([]byte(tc.body))
	}
	for _, tc := range htmlLinksTests {
		f.Add([]byte(tc.body))
	}
	for _, tc := range htmlSourcesTests {
		f.Add([]byte(tc.body))
	}
	f.Add(benchPage())
	f.Add(benchAssetsPage())
	f.Add(fixtures.Synthetic{Pages: 10, Links: 5, Size: 500}.Page(3))
	f.Add([]byte("<a><b><p><a href=1><p><a href=2>2")) // the adoption agency reorders
	pu, _ := url.Parse("http://example.com/dir/page.html")
	f.Fuzz(func(t *testing.T, body []byte) {
		if msg := checkDoc(body, pu); msg != "" {
			t.Fatal(msg)
		}
	})
}

// checkDoc is FuzzHTML's check of one document.
func checkDoc(body []byte, pu *url.URL) string {
	got, _, err := extract(body, "text/html", pu, false)
	if err != nil {
		return fmt.Sprintf("streaming: %v", err)
	}
	if msg := checkSkipReader(body); msg != "" {
		return msg
	}
	if msg := checkAttrScan(body); msg != "" {
		return msg
	}
	want, err := referenceHTML(body, "text/html", pu)
	if err != nil {
		return "" // nested too deep for the tree builder
	}
	if msg := checkGuess(body, pu); msg != "" {
		return msg
	}
	diff := pageDiff(got, want)
	if diff == "" {
		return ""
	}
	if fosterParents(body) {
		got.Title, want.Title = "", ""
		got.Description, want.Description = "", ""
		got.Canonical, want.Canonical = "", ""
		if got.Base.String() != want.Base.String() {
			return "" // a reordered <base> changes every relative link
		}
	}
	if !reflect.DeepEqual(got.Links, want.Links) {
		if !reordered(body, false) {
			return diff
		}
		got.Links, want.Links = sortedKeys(got.Links), sortedKeys(want.Links)
	}
	return pageDiff(got, want)
}

// tagSoup is what TestTagSoup makes documents of: the tags and other
// tokens the streaming pass models (the document's start, tables, forms,
// selects, templates, foreign content, comments), most with links; {n} is
// replaced by a number.
var tagSoup = strings.Split(`<table>|</table>|<tr>|</tr>|<td background=/td{n}.png>|</td>|<th style="x:url(/th{n})">|</th>|`+
	`<caption style="x:url(/cap{n})">|</caption>|<tbody>|</tbody>|<thead>|</thead>|<tfoot>|</tfoot>|<col style="x:url(/col{n})">|<colgroup>|</colgroup>|`+
	`<form action=/f{n}>|<form method=post action=/p{n}>|</form>|<button formaction=/b{n}>|<input formaction=/i{n} formmethod=get>|<isindex action=/ii{n}>|`+
	`<select style="x:url(/sel{n})">|<select>|</select>|<option style="x:url(/o{n})">|<object data=/ob{n}>|</object>|<input type=hidden>|`+
	`<html manifest=/m{n}>|<html style="x:url(/hs{n})">|<head profile=/h{n}>|<head>|</head>|<body background=/bg{n}>|<body style="x:url(/bs{n})">|</body>|</html>|`+
	`<noscript>|</noscript>|<template>|</template>|<svg>|</svg>|<math>|</math>|<mi>|</mi>|<desc>|</desc>|<image href=/si{n}>|<g style="x:url(/g{n})">|</g>|`+
	`<!--[if IE]><a href=/c{n}></a><![endif]-->|<!-- x -->|<!DOCTYPE html SYSTEM "/d{n}">|<link rel=stylesheet href=/l{n}>|<link rel=icon href=/ic{n}>|`+
	`<meta http-equiv=refresh content="0;url=/r{n}">|<meta property=og:image content=/og{n}>|<title>t</title>|<style>@import "/s{n}";</style>|`+
	`<script src=/j{n}></script>|<script>load("/js/g{n}.js")</script>|<p>|</p>|<div style="x:url(/dv{n})">|</div>|<a href=/a{n}>|</a>|<a href=/a{n} rel=nofollow>|`+
	`<img src=/i{n} srcset="/ss{n} 2x">|<li>|</li>|text|  |&nbsp;|&#10;|</br>|<frame src=/fr{n}>|<frameset>|<iframe srcdoc="<a href=/sd{n}>x</a>"></iframe>|`+
	`<b>|</b>|<font color=red>|<base href=/base{n}/>|<plaintext>|<textarea>|</textarea>|<xmp>|</xmp>|<noframes>|</noframes>|<image src=/hi{n}>|`+
	`<a ping=/pg{n}>|<map><area href=/ar{n}>|<meta http-equiv=content-security-policy content="report-uri /csp{n}">|<blockquote cite=/q{n}>|`+
	`<video poster=/vp{n}><source src=/vs{n}>|</video>|<param name=movie value=/pm{n}>|<applet archive="/ja{n},/jb{n}">|</applet>|<marquee>|</marquee>|`+
	`<input type=image src=/is{n}>|<form method=dialog>|<button formaction=/bp{n} formmethod=post>|<foreignObject>|</foreignObject>|`+
	`<annotation-xml encoding=text/html>|<script href=/sh{n}></script>|<iframe src=/if{n}></iframe>|<A HREF="/up{n}&amp;x">|<STYLE>a{b:url(/su{n})}</STYLE>|`+
	`<![CDATA[<a href=/cd{n}>]]>|<p style="x:url(/ps{n})">|<nobr>|<i>|</i>|<em>|<u style="x:url(/u{n})">`, "|")

// TestTagSoup compares the streaming pass with the tree walk, as FuzzHTML
// does, on random documents made of tagSoup: a search of the constructs
// the pass models, more thorough than byte-level fuzzing finds them.
func TestTagSoup(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 500
	}
	pu := mustURL(t, "http://example.com/dir/page.html")
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for i := range n {
		b.Reset()
		for j := range 1 + rng.IntN(40) {
			b.WriteString(strings.ReplaceAll(tagSoup[rng.IntN(len(tagSoup))], "{n}", strconv.Itoa(j)))
		}
		if msg := checkDoc([]byte(b.String()), pu); msg != "" {
			t.Fatalf("document %d %q:\n%s", i, b.String(), msg)
		}
	}
}

// checkGuess compares, for a body with a script, the Links of the
// streaming pass and of the tree walk with GuessLinks, which see the
// scripts' text; see FuzzHTML for the order differences accepted.
func checkGuess(body []byte, pu *url.URL) string {
	if !bytes.Contains(bytes.ToLower(body), []byte("<script")) {
		return ""
	}
	got, _, err := extractWith(body, "text/html", pu, false, Options{GuessLinks: true})
	if err != nil {
		return err.Error()
	}
	want, err := referenceHTMLWith(body, "text/html", pu, true)
	if err != nil {
		return ""
	}
	if reflect.DeepEqual(got.Links, want.Links) || reordered(body, true) &&
		reflect.DeepEqual(sortedKeys(got.Links), sortedKeys(want.Links)) {
		return ""
	}
	return fmt.Sprintf("with GuessLinks: Links:\n got %v\nwant %v", got.Links, want.Links)
}

// reordered reports whether the streaming pass and the tree walk find the
// same link targets in body (the tree may hold clones of an <a>), in
// another order; guess is Options.GuessLinks.
func reordered(body []byte, guess bool) bool {
	text, err := decodeFull(body, "text/html")
	if err != nil {
		return false
	}
	ts, ok := tokens(text, true, scanConfig{guess: guess})
	root, err := parseTree(text)
	if !ok || err != nil {
		return false
	}
	ds := walkTree(root, scanConfig{guess: guess})
	set := func(refs []ref) map[ref]bool {
		m := make(map[ref]bool)
		for _, r := range refs {
			m[r] = true
		}
		return m
	}
	strip := func(refs []ref) []ref {
		out := make([]ref, len(refs))
		for i, r := range refs {
			out[i] = r
			out[i].end = 0
		}
		return out
	}
	tr, dr := strip(ts.refs), strip(ds.refs)
	return !slices.Equal(tr, dr) && reflect.DeepEqual(set(tr), set(dr))
}

// fosterParents reports whether body may have content the tree builder
// foster-parents: it has a <table> start tag.
func fosterParents(body []byte) bool {
	return bytes.Contains(bytes.ToLower(body), []byte("<table"))
}

func sortedKeys(ls []Link) []Link {
	out := make([]Link, len(ls))
	for i, l := range ls {
		out[i] = Link{Key: l.Key}
	}
	slices.SortFunc(out, func(a, b Link) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// tagNames are HTML, obsolete, SVG and MathML element names, and a few odd
// ones, for TestEveryTagName.
var tagNames = strings.Fields(`a abbr address area article aside audio b base bdi bdo blockquote body br
	button canvas caption cite code col colgroup data datalist dd del details dfn dialog div dl dt em
	embed fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe
	img input ins kbd label legend li link main map mark menu meta meter nav noscript object ol optgroup
	option output p param picture pre progress q rp rt ruby s samp script search section select slot
	small source span strong style sub summary sup table tbody td template textarea tfoot th thead time
	title tr track u ul var video wbr acronym applet basefont bgsound big blink center dir font frame
	frameset image isindex keygen listing marquee menuitem nobr noembed noframes plaintext rb rtc spacer
	strike tt xmp svg math desc foreignObject mi mo mn ms mtext mglyph malignmark annotation-xml g path
	x-custom A TITLE sCrIpT NoScript`)

// TestEveryTagName puts every tag name, as a start and as an end tag, in
// HTML content, in a template and in SVG, before a probe of what the pass
// extracts, and compares with the tree.
func TestEveryTagName(t *testing.T) {
	const probe = `text<title>T</title><a href="/l">l</a><svg><title>s</title><a href="/s">s</a></svg>` +
		`<noscript><a href="/n">n</a></noscript><base href="/b/"><a href="r">r</a>` +
		`<link rel=canonical href="/c"><meta name=description content=d><html lang=xx>` +
		`<img src="/pi.png" srcset="/ps.png 2x"><form action="/pf"><button formaction="/pb"></button></form>` +
		`<td background="/ptd.png"><div style="background:url(/pd.png)"><!--[if IE]><a href="/pc"></a><![endif]-->` +
		`<meta http-equiv=refresh content="0;url=/pr"><body background="/pbg.png"><svg><image href="/psi.png"/></svg>`
	pu := mustURL(t, "http://example.com/dir/page.html")
	fellBack := 0
	for _, name := range tagNames {
		for _, tag := range []string{"<" + name + ` x="1">`, "<" + name + "/>", "</" + name + ">", "<" + name + ` color=red>`} {
			for _, doc := range []string{
				tag + probe,
				"<p>" + tag + "</p>" + probe,
				"<template>" + tag + `<a href="/t">t</a></template>` + probe,
				"<svg>" + tag + `<a href="/in-svg">x</a></svg>` + probe,
				"<math><mi>" + tag + "</mi></math>" + probe,
				"<table>" + tag + "</table>" + probe,
			} {
				got, fb, err := extract([]byte(doc), "text/html", pu, false)
				if err != nil {
					t.Fatal(err)
				}
				if fb {
					fellBack++
				}
				want, err := referenceHTML([]byte(doc), "text/html", pu)
				if err != nil {
					t.Fatal(err)
				}
				if fosterParents([]byte(doc)) {
					got.Links, want.Links = sortedKeys(got.Links), sortedKeys(want.Links)
				}
				if diff := pageDiff(got, want); diff != "" {
					t.Errorf("%q:\n%s", doc, diff)
				}
			}
		}
	}
	t.Logf("%d documents fell back to the tree", fellBack)
}

// TestPageOwnsItsStrings: no field of a Page shares memory with body, so
// that the caller may reuse body once it no longer needs Document.
func TestPageOwnsItsStrings(t *testing.T) {
	body := []byte(`<html lang=en><title>T</title><meta name=description content="D">` +
		`<base href="/b/"><link rel=canonical href="/c"><a href="https://example.com/x">x</a><a href="y?q=1">y</a>`)
	pu := mustURL(t, "https://example.com/")
	p, err := HTML(body, "text/html", pu)
	if err != nil {
		t.Fatal(err)
	}
	before := fmt.Sprintf("%+v %v", *p, p.Base)
	for i := range body {
		body[i] = 'X'
	}
	if after := fmt.Sprintf("%+v %v", *p, p.Base); after != before {
		t.Errorf("the Page changed with body:\nbefore %s\n after %s", before, after)
	}
}

// TestIsRawAtom: the tokenizer's raw-text tags, told by their atom.
func TestIsRawAtom(t *testing.T) {
	for _, n := range tagNames {
		for _, v := range []string{n, strings.ToUpper(n), n + "\x00", "x" + n, n[:len(n)-1] + "\x00"} {
			if got, want := isRawAtom(lookup([]byte(v))), isRawTag([]byte(v)); got != want {
				t.Errorf("isRawAtom(lookup(%q)) = %v, want %v", v, got, want)
			}
		}
	}
}
