package parse

import (
	"strings"
	"testing"

	"golang.org/x/net/html"
)

var refreshTests = []struct {
	in, want string
	ok       bool
}{
	{"5; url=/next", "/next", true},
	{"0;URL='/q?a=1'x", "/q?a=1", true},
	{`0; url="/dq`, "/dq", true},
	{"3, /comma", "/comma", true},
	{"3 /space", "/space", true},
	{" 1.5 ; url = /u", "/u", true},
	{".5;url=/dot", "/dot", true},
	{"1...2..;url=/dots", "/dots", true},
	{"0;ur", "ur", true},
	{"0;urx", "urx", true},
	{"0;url", "url", true},
	{"0;url x", "url x", true},
	{"0; 'quoted'", "quoted", true},
	{"0; url=", "", true},
	{"7", "", false},
	{"7;", "", false},
	{"7 ; ", "", false},
	{"url=/no", "", false},
	{"", "", false},
	{"-1; url=/neg", "", false},
	{"5x; url=/x", "", false},
}

func TestRefreshURL(t *testing.T) {
	for _, tc := range refreshTests {
		got, ok := refreshURL(tc.in)
		gotB, okB := refreshURL([]byte(tc.in))
		if got != tc.want || ok != tc.ok || string(gotB) != got || okB != ok {
			t.Errorf("refreshURL(%q) = %q, %v (bytes %q, %v); want %q, %v", tc.in, got, ok, gotB, okB, tc.want, tc.ok)
		}
	}
}

func TestReportURI(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"default-src 'self'; report-uri /a /b", []string{"/a", "/b"}},
		{"REPORT-URI\t/a;report-uri /b", []string{"/a"}},
		{"report-uri", nil},
		{"report-uri;report-uri /b", nil},
		{"script-src x; report-to g", nil},
		{"report-urix /a", nil},
		{" ; ;report-uri /c ", []string{"/c"}},
	} {
		var got []string
		for u, rest := reportURI(tc.in); len(u) > 0; u, rest = nextField(rest) {
			got = append(got, u)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("reportURI(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestConditionalContent(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"[if IE 6]> <link href=ie.css> <![endif]", " <link href=ie.css> ", true},
		{"[IF lt IE 9]><p><![ENDIF]", "<p>", true},
		{"[if IE]>a]>b<![endif]c<![endif]", "a]>b<![endif]c", true},
		{"[if IE]><![endif]", "", true},
		{"[if !IE]><!", "", false},
		{"<![endif]", "", false},
		{" [if IE]><p><![endif]", "", false},
		{"[if IE]<p><![endif]", "", false},
		{"[if IE]><p>", "", false},
		{"[if]><![endif", "", false},
	} {
		got, ok := conditionalContent(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("conditionalContent(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

var doctypeSeeds = []string{
	`html`,
	`html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd"`,
	`html SYSTEM 'about:legacy-compat'`,
	`HTML public 'a' 'b'`,
	`html PUBLIC "a"`,
	`html PUBLIC`,
	`html SYSTEM "unterminated`,
	`html SYSTEM x`,
	`html SYSTEM "a" "b"`,
	`html PUBLIC "a" junk "b"`,
	"html\tsystem\n'x&amp;y'",
	`htmlsystem "x"`,
	``,
	` `,
	`html system`,
	`html systemx "y"`,
	`a b c`,
}

// TestDoctypeSystem: doctypeSystem reads the doctype token as the tree
// builder does.
func TestDoctypeSystem(t *testing.T) {
	for _, d := range doctypeSeeds {
		if msg := checkDoctype(d); msg != "" {
			t.Error(msg)
		}
	}
}

func FuzzDoctype(f *testing.F) {
	for _, d := range doctypeSeeds {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d string) {
		if msg := checkDoctype(d); msg != "" {
			t.Fatal(msg)
		}
	})
}

// checkDoctype compares doctypeSystem on the text of the token of
// "<!DOCTYPE "+d+">" with the system attribute of the tree's doctype node.
func checkDoctype(d string) string {
	doc := "<!DOCTYPE " + d + ">"
	z := html.NewTokenizer(strings.NewReader(doc))
	if z.Next() != html.DoctypeToken {
		return ""
	}
	got, ok := doctypeSystem(z.Text())
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return ""
	}
	var want string
	var has bool
	for n := root.FirstChild; n != nil; n = n.NextSibling {
		if n.Type == html.DoctypeNode {
			for _, a := range n.Attr {
				if a.Key == "system" {
					want, has = a.Val, true
				}
			}
		}
	}
	if string(got) != want || ok != has {
		return "doctype " + doc + ": got " + string(got) + ", want " + want
	}
	return ""
}

func TestWhich(t *testing.T) {
	names := map[string]attrID{
		"href": atHref, "src": atSrc, "srcset": atSrcset, "style": atStyle, "background": atBackground,
		"cite": atCite, "action": atAction, "formaction": atFormaction, "data": atData, "codebase": atCodebase,
		"archive": atArchive, "poster": atPoster, "longdesc": atLongdesc, "lowsrc": atLowsrc, "dynsrc": atDynsrc,
		"ping": atPing, "manifest": atManifest, "profile": atProfile, "srcdoc": atSrcdoc, "value": atValue,
		"content": atContent, "xlink:href": atXlinkHref, "rel": atRel, "type": atType, "method": atMethod,
		"formmethod": atFormmethod, "name": atName, "property": atProperty, "http-equiv": atHTTPEquiv,
		"lang": atLang, "encoding": atEncoding, "color": atFont, "face": atFont, "size": atFont,
	}
	seen := map[attrID]bool{}
	for name, id := range names {
		seen[id] = true
		if got := which(name); got != id {
			t.Errorf("which(%q) = %d, want %d", name, got, id)
		}
		if got := which([]byte(strings.ToUpper(name))); got != id {
			t.Errorf("which(%q) = %d, want %d", strings.ToUpper(name), got, id)
		}
	}
	if len(seen) != int(numAttrs)-1 {
		t.Errorf("%d attributes tested, want %d", len(seen), numAttrs-1)
	}
	for _, name := range []string{"", "a", "hre", "hrefs", "xlink:hreff", "class", "id", "href\x00", "sr\u017f", "backgrounds"} {
		if got := which(name); got != atNone {
			t.Errorf("which(%q) = %d, want none", name, got)
		}
	}
	key := []byte("Background")
	if n := testing.AllocsPerRun(100, func() { which(key) }); n != 0 {
		t.Errorf("which allocates %v times", n)
	}
}

var relSeeds = []string{
	"nofollow", "NOFOLLOW", "external nofollow", "nofollow\u00a0x", "x\u2003nofollow", "nofollow\u0085",
	"\vnofollow\v", "nofollowx", "no follow", "nofollow\u200b", "\u3000nofollow", "nofo\u212allow", "",
}

// TestRelNoFollow: relNoFollow reads rel lists as hasToken does.
func TestRelNoFollow(t *testing.T) {
	for _, rel := range relSeeds {
		if got, want := relNoFollow(rel), hasToken(rel, "nofollow"); got != want || relNoFollow([]byte(rel)) != want {
			t.Errorf("relNoFollow(%q) = %v, want %v", rel, got, want)
		}
	}
}

func FuzzRelNoFollow(f *testing.F) {
	for _, rel := range relSeeds {
		f.Add(rel)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		if got, want := relNoFollow(rel), hasToken(rel, "nofollow"); got != want {
			t.Fatalf("relNoFollow(%q) = %v, want %v", rel, got, want)
		}
	})
}

func TestMetaNameKind(t *testing.T) {
	for name, want := range map[string]Kind{"og:url": KindPage, "OG:IMAGE": KindAsset, "msapplication-TileImage": KindAsset,
		"twitter:url": KindPage, "msapplication-square150x150logo": KindAsset} {
		if k, ok := metaNameKind(name); !ok || k != want {
			t.Errorf("metaNameKind(%q) = %v, %v; want %v", name, k, ok, want)
		}
	}
	for _, name := range []string{"og:title", "description", "og:urlx", "", strings.Repeat("x", 100)} {
		if _, ok := metaNameKind([]byte(name)); ok {
			t.Errorf("metaNameKind(%q) holds a URL", name)
		}
	}
}

func TestParamName(t *testing.T) {
	for _, name := range paramNames {
		if !paramName(strings.ToUpper(name)) {
			t.Errorf("paramName(%q) = false", name)
		}
	}
	for _, v := range []string{" HTTP://x", "https:", "http:x"} {
		if !isAbsHTTP([]byte(v)) {
			t.Errorf("isAbsHTTP(%q) = false", v)
		}
	}
	for _, v := range []string{"/x", "ftp://x", "http", "//x"} {
		if isAbsHTTP(v) {
			t.Errorf("isAbsHTTP(%q) = true", v)
		}
	}
}

// TestSourceNames: every source has a name, element[attribute] in lower
// case or a bare word, and a nested source is its prefixes then its name,
// without allocating.
func TestSourceNames(t *testing.T) {
	for src := srcNone + 1; src < numSources; src++ {
		n := sourceNames[src]
		if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, " \t") {
			t.Errorf("source %d is named %q", src, n)
		}
	}
	if got := sourceName(srcAHref, nestSrcdoc*3+nestComment); got != "iframe[srcdoc] comment a[href]" {
		t.Errorf("nested source = %q", got)
	}
	if got := sourceName(srcDoctype, (nestComment*3+nestSrcdoc)*3+nestSrcdoc); got != "comment iframe[srcdoc] iframe[srcdoc] doctype" {
		t.Errorf("nested source = %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { sourceName(srcImgSrc, nestComment) }); n != 0 {
		t.Errorf("sourceName allocates %v times", n)
	}
}
