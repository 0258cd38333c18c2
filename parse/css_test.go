package parse

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"
)

// cssRefsTests is TestCSSRefs's table: what cssRefs reports, as written,
// with "@" before an import.
var cssRefsTests = []struct {
	name, css string
	want      []string
}{
	{
		name: "url forms",
		css: `a{background:url(a.png)} b{background: url( "b.png" )} c{background:url(  'c.png'  )}
			d{background:url(	d.png	)} e{background:URL(e.png)} f{background:Url("f.png")}`,
		want: []string{"a.png", "b.png", "c.png", "d.png", "e.png", "f.png"},
	},
	{
		name: "comments",
		css: `/* url(no1.png) */ a{b:url(yes.png)} /* @import "no2.css"; */
			c{d:/**/url(yes2.png)/**/} e{f:url(/*not a comment*/x.png)} /* url(no3.png)`,
		want: []string{"yes.png", "yes2.png"},
	},
	{
		name: "url in a comment inside url is part of it",
		css:  `a{b:url(/a/*b*/c.png)}`,
		want: []string{"/a/*b*/c.png"},
	},
	{
		name: "strings are not urls",
		css:  `a{content:"url(no.png)"} b{content:'url(no2.png)' "x.png"} c{font-family:"a.woff"} d{e:url(yes.png)}`,
		want: []string{"yes.png"},
	},
	{
		name: "string escapes do not end strings",
		css:  `a{content:"\" url(no.png) \""} b{content:'\' url(no2.png)'} c{d:url(yes.png)}`,
		want: []string{"yes.png"},
	},
	{
		name: "escaped urls",
		css: `a{b:url(a\26 b.png)} c{d:url(sp\ ace.png)} e{f:url(\28 paren\29.png)} g{h:url(a\)b.png)}
			i{j:url("q\"uote.png")} k{l:url('li\
ne.png')} m{n:url(\000041\0A.png)} o{p:url(\0 \D800 \110000 .png)} q{r:url(\é.png)}`,
		want: []string{"a&b.png", "sp ace.png", "(paren).png", "a)b.png", `q"uote.png`, "line.png", "A\n.png",
			"\uFFFD\uFFFD\uFFFD.png", "é.png"},
	},
	{
		name: "hex escape eats one whitespace, crlf as one",
		css:  "a{b:url(x\\41 \\42\r\n\\43\t.png)}",
		want: []string{"xABC.png"},
	},
	{
		name: "escaped function names",
		css:  `a{b:u\72l(esc1.png)} c{d:\75 \52 \6c("esc2.png")} e{f:\69 mage-set("esc3.png" 1x)}`,
		want: []string{"esc1.png", "esc2.png", "esc3.png"},
	},
	{
		name: "bad urls give nothing and end at )",
		css: `a{b:url(a b.png)} c{d:url(c"d.png)} e{f:url(e'f.png)} g{h:url(g(h).png)}
			i{j:url(i` + "\x01" + `.png)} k{l:url(k\
l.png)} m{n:url(m n\) o) url(ok1.png)} p{q:url(ok2.png   )}`,
		want: []string{"ok1.png", "ok2.png"},
	},
	{
		name: "import forms",
		css: `@import "a.css"; @import 'b.css' screen; @import url(c.css); @import url("d.css") layer(x);
			@IMPORT url( e.css ); @import/**/"f.css"; @import
			"g.css"; @\69mport "h.css"; @import foo "no.css"; @imports "no2.css";`,
		want: []string{"@a.css", "@b.css", "@c.css", "@d.css", "@e.css", "@f.css", "@g.css", "@h.css"},
	},
	{
		name: "import then url",
		css:  `@import url(a.css) supports(display: grid); a{b:url(a.png)}`,
		want: []string{"@a.css", "a.png"},
	},
	{
		name: "image-set",
		css: `a{b:image-set("1x.png" 1x, "2x.png" 2x)} c{d:-webkit-image-set(url(w.png) 1x, "w2.png" 2x)}
			e{f:image-set("a.avif" type("image/avif"), url("b.jpg") type('image/jpeg'))} g{h:"after.png"}
			i{j:-moz-image-set('m.png' 1x)} k{l:IMAGE-SET( "up.png" 1x )}`,
		want: []string{"1x.png", "2x.png", "w.png", "w2.png", "a.avif", "b.jpg", "m.png", "up.png"},
	},
	{
		name: "image-set closed by another bracket",
		css:  `a{b:image-set("a.png" ] "no.png"}`,
		want: []string{"a.png"},
	},
	{
		name: "font-face",
		css: `@font-face{font-family:"Font";src:url(f.eot);src:url(f.eot?#iefix) format("embedded-opentype"),
			url("f.woff2") format("woff2"), url('f.woff') format("woff"), local("Font")}`,
		want: []string{"f.eot", "f.eot?#iefix", "f.woff2", "f.woff"},
	},
	{
		name: "src function",
		css:  `a{b:src("s.png")} c{d:src(no.png)}`,
		want: []string{"s.png"},
	},
	{
		name: "not url functions",
		css: `a{b:1url(no1.png);c:#url(no2.png);d:@url(no3.png);e:-url(no4.png);f:xurl(no5.png);g:url (no6.png);
			h:1.5e3url(no7.png);i:--url(no8.png)} <!--url(yes1.png)--> j{k:-->url(yes2.png)}`,
		want: []string{"yes1.png", "yes2.png"},
	},
	{
		name: "left out",
		css:  `a{b:url(#filter);c:url();d:url("");e:url(  );f:url("#x")}`,
		want: nil,
	},
	{
		name: "end of input",
		css:  `a{b:url(eof.png`,
		want: []string{"eof.png"},
	},
	{
		name: "end of input in a string",
		css:  `@import "eof.css`,
		want: []string{"@eof.css"},
	},
	{
		name: "end of input after backslash",
		css:  `a{b:url(x\`,
		want: []string{"x\uFFFD"},
	},
	{
		name: "bad string",
		css:  "@import \"bad\n.css\";\na{b:url(ok.png)}", // the second quote starts another bad string
		want: []string{"ok.png"},
	},
	{
		name: "NUL and invalid UTF-8",
		css:  "a{b:url(a\x00\xffb.png)}",
		want: []string{"a\uFFFD\uFFFDb.png"},
	},
	{
		name: "duplicates are reported",
		css:  `a{b:url(x.png)} c{d:url(x.png)}`,
		want: []string{"x.png", "x.png"},
	},
}

func TestCSSRefs(t *testing.T) {
	for _, tc := range cssRefsTests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			cssRefs(tc.css, func(u string, imp bool) {
				if imp {
					u = "@" + u
				}
				got = append(got, u)
			})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// cssLinkStrings returns a link's URL followed by " @" for an import.
func cssLinkStrings(ls []Link) []string {
	var out []string
	for _, l := range ls {
		s := l.URL
		if l.Source == "css@import" {
			s += " @"
		}
		out = append(out, s)
	}
	return out
}

func cssEncode(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCSS(t *testing.T) {
	const base = "http://example.com/css/site.css"
	tests := []struct {
		name, contentType string
		body              []byte
		base              string // "" is base, "-" nil
		want              []string
	}{
		{
			name: "resolved, sources",
			body: []byte(`@import "print.css"; @import url(/theme.css);
				a{b:url(../img/a.png)} c{d:url(//cdn.example.net/b.png)} e{f:url(HTTPS://Other.example/c.png#frag)}`),
			want: []string{"http://example.com/css/print.css @", "http://example.com/theme.css @",
				"http://example.com/img/a.png", "http://cdn.example.net/b.png", "https://Other.example/c.png"},
		},
		{
			name: "unique by key, first occurrence wins",
			body: []byte(`@import "x.css"; a{b:url(x.css)} c{d:url(a.png)} e{f:url(./a.png)} g{h:url(a.png#x)}
				i{j:url(HTTP://EXAMPLE.COM/css/a.png)} k{l:url(b.png)} m{n:url(b.png)}`),
			want: []string{"http://example.com/css/x.css @", "http://example.com/css/a.png", "http://example.com/css/b.png"},
		},
		{
			name: "non-http left out",
			body: []byte(`a{b:url(data:image/png;base64,AAAA)} c{d:url(javascript:alert(1))} e{f:url(ftp://x.example/a)}
				g{h:url("mailto:a@example.com")} i{j:url(http://user:pw@example.com/a.png)} k{l:url(ok.png)}`),
			want: []string{"http://example.com/css/ok.png"},
		},
		{
			name: "nil base",
			base: "-",
			body: []byte(`a{b:url(rel.png)} c{d:url(http://example.org/abs.png)}`),
			want: []string{"http://example.org/abs.png"},
		},
		{
			name: "utf-8 by default",
			body: []byte(`a{b:url(café.png)}`),
			want: []string{"http://example.com/css/caf%C3%A9.png"},
		},
		{
			name:        "charset parameter",
			contentType: "text/css; charset=windows-1251",
			body:        []byte("@charset \"windows-1252\"; a{b:url(\xe9.png)}"),
			want:        []string{"http://example.com/css/%D0%B9.png"}, // й, not é
		},
		{
			name: "@charset",
			body: []byte("@charset \"windows-1252\"; a{b:url(caf\xe9.png)}"),
			want: []string{"http://example.com/css/caf%C3%A9.png"},
		},
		{
			name:        "@charset after an unknown charset parameter",
			contentType: "text/css; charset=x-bogus",
			body:        []byte("@charset \"iso-8859-1\"; a{b:url(caf\xe9.png)}"),
			want:        []string{"http://example.com/css/caf%C3%A9.png"},
		},
		{
			name: "@charset must be written exactly",
			body: []byte("@CHARSET \"windows-1252\"; a{b:url(caf\xe9.png)}"),
			want: []string{"http://example.com/css/caf%EF%BF%BD.png"},
		},
		{
			name: "@charset utf-16 means utf-8",
			body: []byte("@charset \"utf-16\"; a{b:url(café.png)}"),
			want: []string{"http://example.com/css/caf%C3%A9.png"},
		},
		{
			name: "@charset shift_jis",
			body: cssEncode(t, japanese.ShiftJIS, `@charset "shift_jis"; a{b:url(画像.png)}`),
			want: []string{"http://example.com/css/%E7%94%BB%E5%83%8F.png"},
		},
		{
			name:        "utf-8 BOM wins over the charset parameter",
			contentType: "text/css; charset=windows-1252",
			body:        []byte("\xef\xbb\xbfa{b:url(café.png)}"),
			want:        []string{"http://example.com/css/caf%C3%A9.png"},
		},
		{
			name:        "utf-16 BOM",
			contentType: "text/css; charset=windows-1252",
			body: append([]byte{0xFF, 0xFE},
				cssEncode(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), `a{b:url(café.png)}`)...),
			want: []string{"http://example.com/css/caf%C3%A9.png"},
		},
		{
			name:        "utf-16 charset parameter",
			contentType: "text/css; charset=UTF-16BE",
			body:        cssEncode(t, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), `a{b:url(é.png)}`),
			want:        []string{"http://example.com/css/%C3%A9.png"},
		},
		{
			name: "latin-1 body that is ASCII",
			body: []byte(`@charset "iso-8859-1"; a{b:url(plain.png)}`),
			want: []string{"http://example.com/css/plain.png"},
		},
		{
			name:        "windows-1252 via charmap",
			contentType: "text/css;charset=latin1",
			body:        cssEncode(t, charmap.Windows1252, `a{b:url(€.png)}`),
			want:        []string{"http://example.com/css/%E2%82%AC.png"},
		},
		{name: "empty", body: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b *url.URL
			switch tc.base {
			case "":
				b = foundURL(t, base)
			case "-":
			default:
				b = foundURL(t, tc.base)
			}
			got := CSS(tc.body, tc.contentType, b)
			if msg := checkFound(got, len(tc.body)); msg != "" {
				t.Error(msg)
			}
			for _, l := range got {
				if l.Kind != KindAsset || l.Method != "" {
					t.Errorf("link %q: got kind %v method %q, want asset and no method", l.URL, l.Kind, l.Method)
				}
			}
			if s := cssLinkStrings(got); !reflect.DeepEqual(s, tc.want) {
				t.Errorf("got %q, want %q", s, tc.want)
			}
		})
	}
}

// TestCSSRefsAllocs checks that cssRefs does not allocate per byte or
// per token: a 50 KB stylesheet without escapes costs the same few
// allocations as a tiny one.
func TestCSSRefsAllocs(t *testing.T) {
	css := string(benchCSS(50 << 10))
	n := 0
	if a := testing.AllocsPerRun(10, func() { cssRefs(css, func(string, bool) { n++ }) }); a > 3 {
		t.Errorf("cssRefs allocates %v times on a 50 KB stylesheet, want at most 3", a)
	}
}

// TestCSSLinear runs inputs that would take quadratic time in a careless
// tokenizer; if it does not finish, one does.
func TestCSSLinear(t *testing.T) {
	const n = 1 << 20
	for _, unit := range []string{
		"url(", "url(a ", "image-set(", "image-set(\"a\" ", "(", ")", "/*", "\"", "'\\", "\\", "\\0",
		"@import ", "@import url(\"", "a", "-", "1", "<!--", "-->", "#", "u\\72l(", "url(\\",
	} {
		css := strings.Repeat(unit, n/len(unit))
		cssRefs(css, func(string, bool) {})
		CSS([]byte(css), "", foundURL(t, "http://example.com/"))
	}
}

// FuzzCSS checks that CSS does not panic and returns unique http(s)
// asset links whose keys are those Normalize gives, no more of them than
// the body has bytes.
func FuzzCSS(f *testing.F) {
	for _, tc := range cssRefsTests {
		f.Add([]byte(tc.css), "text/css")
	}
	f.Add([]byte("@charset \"windows-1252\"; a{b:url(caf\xe9.png)}"), "")
	f.Add([]byte("\xff\xfea\x00"), "text/css; charset=utf-8")
	f.Add([]byte("a{b:url(x)}"), "text/css; charset=utf-16le")
	f.Add(benchCSS(2000), "text/css")
	base, _ := url.Parse("http://example.com/css/site.css")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		ls := CSS(body, contentType, base)
		if msg := checkFound(ls, len(body)); msg != "" {
			t.Fatal(msg)
		}
		for _, l := range ls {
			if l.Kind != KindAsset || l.Source != "css" && l.Source != "css@import" {
				t.Fatalf("link %q: kind %v source %q", l.URL, l.Kind, l.Source)
			}
		}
		cssRefs(string(body), func(u string, imp bool) {
			if u == "" || u[0] == '#' || !utf8.ValidString(u) || strings.IndexByte(u, 0) >= 0 {
				t.Fatalf("cssRefs reported %q (import %v)", u, imp)
			}
		})
	})
}

// benchCSS returns a stylesheet of about size bytes, with comments, rules,
// url()s, image-sets, font faces and imports, as sites serve them.
func benchCSS(size int) []byte {
	var sb strings.Builder
	sb.WriteString("@charset \"utf-8\";\n@import url(\"reset.css\");\n@import 'theme.css' screen;\n")
	for i := 0; sb.Len() < size; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&sb, "/* Section %d: cards, url(commented-%d.png) */\n", i, i)
		case 1:
			fmt.Fprintf(&sb, ".card-%d{display:flex;margin:0 auto;padding:1.5rem 2em;color:#333;"+
				"background:#fff url(../img/card-%d.png) no-repeat 50%% 50%%/cover}\n", i, i%40)
		case 2:
			fmt.Fprintf(&sb, ".hero-%d{background-image:image-set(\"hero-%d.avif\" type(\"image/avif\") 1x,"+
				"url('hero-%d@2x.jpg') 2x);font:700 1.25rem/1.4 \"Helvetica Neue\",Arial,sans-serif}\n", i, i%30, i%30)
		case 3:
			fmt.Fprintf(&sb, "@font-face{font-family:\"Font%d\";src:url(/fonts/f%d.woff2) format(\"woff2\"),"+
				"url(/fonts/f%d.woff) format(\"woff\");font-display:swap}\n", i%10, i%10, i%10)
		case 4:
			fmt.Fprintf(&sb, "@media (min-width:%dpx){.nav-%d>li:hover a[href^=\"http\"]::after{content:\"\\2192\";"+
				"transform:translate(-50%%,0) rotate(45deg);transition:opacity .2s ease-in-out}}\n", 600+i, i)
		}
	}
	return []byte(sb.String())
}

func BenchmarkCSS(b *testing.B) {
	body := benchCSS(50 << 10)
	base, _ := url.Parse("https://www.example.com/static/css/site.css")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if ls := CSS(body, "text/css; charset=utf-8", base); len(ls) == 0 {
			b.Fatal("no links")
		}
	}
}
