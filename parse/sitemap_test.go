package parse

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// sitemapPage is the URL the test sitemaps are fetched from.
const sitemapPage = "http://example.com/sitemap.xml"

func sitemapURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// sitemapLinks lists links as "URL kind source" for the table tests.
func sitemapLinks(ls []Link) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.URL+" "+l.Kind.String()+" "+l.Source)
	}
	return out
}

func gzipSitemap(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkSitemap checks what holds for every result of Sitemap: a file,
// only http(s) links in normal form, unique by key, at most
// MaxSitemapURLs, and none without a format.
func checkSitemap(f *SitemapFile, err error) string {
	if f == nil {
		return "Sitemap returned a nil *SitemapFile"
	}
	switch f.Format {
	case "urlset", "sitemapindex", "text", "rss", "atom":
	case "":
		if err == nil || len(f.Links) > 0 {
			return fmt.Sprintf("no format, %d links, error %v; want no links and an error", len(f.Links), err)
		}
	default:
		return fmt.Sprintf("Format %q", f.Format)
	}
	if len(f.Links) > MaxSitemapURLs {
		return fmt.Sprintf("%d links, more than MaxSitemapURLs", len(f.Links))
	}
	seen := make(map[string]bool, len(f.Links))
	for _, l := range f.Links {
		key, host, nerr := NormalizeString(l.URL)
		switch {
		case nerr != nil:
			return fmt.Sprintf("link %q: %v", l.URL, nerr)
		case key != l.Key || host != l.Host:
			return fmt.Sprintf("link %q has key %q and host %q, want %q and %q", l.URL, l.Key, l.Host, key, host)
		case !strings.HasPrefix(l.Key, "http://") && !strings.HasPrefix(l.Key, "https://"):
			return fmt.Sprintf("link %q is not http(s)", l.URL)
		case strings.Contains(l.URL, "#"):
			return fmt.Sprintf("link %q has a fragment", l.URL)
		case seen[l.Key]:
			return fmt.Sprintf("key %q listed twice", l.Key)
		case l.NoFollow || l.Method != "":
			return fmt.Sprintf("link %q: NoFollow %v, Method %q", l.URL, l.NoFollow, l.Method)
		}
		seen[l.Key] = true
	}
	return ""
}

// sitemapTests is TestSitemap's table, at package level so that
// FuzzSitemap seeds its corpus with its bodies.
var sitemapTests = []struct {
	name, body, contentType string
	page                    string // the sitemap's URL: sitemapPage if empty, nil if "-"
	format                  string
	want                    []string
	err                     string // a part of the error message; "" for none
}{
	{
		name: "urlset",
		body: `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <url>
    <loc>http://example.com/</loc>
    <lastmod>2024-05-01</lastmod><changefreq>weekly</changefreq><priority>0.8</priority>
  </url>
  <url><loc>
      http://example.com/a?x=1&amp;y=2
  </loc></url>
  <url><loc><![CDATA[http://example.com/cdata]]></loc></url>
  <url><loc>http://example.com/frag#section</loc></url>
  <url><loc>http://other.example/out-of-scope</loc></url>
  <url><loc>HTTP://EXAMPLE.COM:80/a?x=1&amp;y=2</loc></url>
  <url><loc>/relative</loc></url>
  <url><loc>ftp://example.com/file</loc></url>
  <url><loc>mailto:me@example.com</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc></loc></url>
  <url><loc>http://example.com/sitemap.xml#self</loc></url>
  <url><loc>http://user:pw@example.com/creds</loc></url>
  <url><lastmod>2024-05-01</lastmod></url>
  <loc>http://example.com/loc-outside-url</loc>
  <url><loc>http://example.com/b<!-- comment -->c</loc></url>
</urlset>`,
		format: "urlset",
		want: []string{
			"http://example.com/ page sitemap",
			"http://example.com/a?x=1&y=2 page sitemap",
			"http://example.com/cdata page sitemap",
			"http://example.com/frag page sitemap",
			"http://other.example/out-of-scope page sitemap",
			"http://example.com/relative page sitemap",
			"http://example.com/bc page sitemap",
		},
	},
	{
		name: "sitemap index",
		body: `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>http://example.com/sitemap1.xml.gz</loc><lastmod>2024-05-01T12:00:00+00:00</lastmod></sitemap>
  <sitemap><loc>https://cdn.example/sitemap2.xml</loc></sitemap>
  <sitemap><loc>http://example.com/sitemap1.xml.gz</loc></sitemap>
  <url><loc>http://example.com/not-a-sitemap-entry</loc></url>
</sitemapindex>`,
		format: "sitemapindex",
		want: []string{
			"http://example.com/sitemap1.xml.gz sitemap sitemapindex",
			"https://cdn.example/sitemap2.xml sitemap sitemapindex",
		},
	},
	{
		name: "image extension",
		body: `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>http://example.com/sample.html</loc>
    <image:image><image:loc>http://example.com/image.jpg</image:loc><image:caption>A</image:caption></image:image>
    <image:image>
      <image:loc>https://img.example/photo.jpg</image:loc>
    </image:image>
  </url>
  <url>
    <image:image><image:loc>http://example.com/also-a-page</image:loc></image:image>
    <loc>http://example.com/also-a-page</loc>
  </url>
  <image:image><image:loc>http://example.com/image-outside-url.jpg</image:loc></image:image>
</urlset>`,
		format: "urlset",
		want: []string{
			"http://example.com/sample.html page sitemap",
			"http://example.com/image.jpg asset sitemap:image",
			"https://img.example/photo.jpg asset sitemap:image",
			"http://example.com/also-a-page page sitemap",
		},
	},
	{
		name:   "namespace prefixes",
		body:   `<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9"><sm:url><sm:loc>http://example.com/p</sm:loc></sm:url></sm:urlset>`,
		format: "urlset",
		want:   []string{"http://example.com/p page sitemap"},
	},
	{
		name:   "byte order mark and leading space",
		body:   "\ufeff \n<urlset><url><loc>http://example.com/bom</loc></url></urlset>",
		format: "urlset",
		want:   []string{"http://example.com/bom page sitemap"},
	},
	{
		name: "text sitemap",
		body: "\ufeffhttp://example.com/one\r\n\r\n   https://example.com/two  \n" +
			"# a comment\nexample.com/no-scheme\n/relative\nftp://example.com/f\nmailto:a@b.example\n" +
			"HTTPS://Example.com/three\nhttp://example.com/one\nhttp://example.com/sitemap.xml\n" +
			"http:/example.com/one-slash\n\xff\xfe junk\nhttp://example.com/last",
		format: "text",
		want: []string{
			"http://example.com/one page sitemap",
			"https://example.com/two page sitemap",
			"https://Example.com/three page sitemap",
			"http://example.com/last page sitemap",
		},
	},
	{
		name:   "text sitemap of one line", // found by FuzzSitemap
		body:   "http://example.com/only",
		format: "text",
		want:   []string{"http://example.com/only page sitemap"},
	},
	{
		name:   "empty file",
		body:   " \n",
		format: "text",
	},
	{
		name: "RSS 2.0",
		body: `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>Blog</title>
  <link>http://example.com/blog/</link>
  <atom:link href="http://example.com/feed.xml" rel="self" type="application/rss+xml"/>
  <item>
    <title>First</title>
    <link>http://example.com/blog/first</link>
    <guid isPermaLink="true">http://example.com/blog/guid-only</guid>
    <enclosure url="http://example.com/podcast.mp3" length="1" type="audio/mpeg"/>
    <description>&lt;a href="http://example.com/in-description"&gt;x&lt;/a&gt;</description>
  </item>
  <item><title>Relative</title><link> second.html </link></item>
  <item><title>No link</title></item>
  <item><link>http://example.com/blog/first</link></item>
</channel>
</rss>`,
		page:   "http://example.com/blog/feed.xml",
		format: "rss",
		want: []string{
			"http://example.com/blog/first page rss",
			"http://example.com/blog/second.html page rss",
		},
	},
	{
		name: "RSS 1.0",
		body: `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
  <channel rdf:about="http://example.com/news.rdf">
    <title>News</title><link>http://example.com/</link>
    <items><rdf:Seq><rdf:li resource="http://example.com/news/1"/></rdf:Seq></items>
  </channel>
  <item rdf:about="http://example.com/news/1-about">
    <title>One</title><link>http://example.com/news/1</link>
  </item>
  <item rdf:about="http://example.com/news/2"><title>Two, no link</title></item>
  <item rdf:about="urn:uuid:3"><title>Three</title></item>
</rdf:RDF>`,
		format: "rss",
		want: []string{
			"http://example.com/news/1 page rss",
			"http://example.com/news/2 page rss",
		},
	},
	{
		name: "Atom with xml:base",
		body: `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://example.org/blog/">
  <title>Example Feed</title>
  <link href="/" rel="alternate"/>
  <link href="feed.atom" rel="self"/>
  <entry>
    <title>One</title>
    <link href="2024/one"/>
    <link rel="alternate" type="text/html" hreflang="fr" href="2024/un#fr"/>
    <link rel="edit" href="/edit/1"/>
    <link rel="enclosure" href="/audio/1.mp3"/>
    <link rel="replies" href="2024/one#comments"/>
    <id>urn:uuid:1</id>
  </entry>
  <entry xml:base="archive/">
    <link rel="ALTERNATE" href="two"/>
    <link href="three" xml:base="/other/"/>
    <link href="mailto:me@example.org"/>
    <link rel="http://www.iana.org/assignments/relation/alternate" href="four"/>
  </entry>
  <entry xml:base="javascript:bad()"><link href="five"/></entry>
</feed>`,
		format: "atom",
		want: []string{
			"http://example.org/blog/2024/one page atom",
			"http://example.org/blog/2024/un page atom",
			"http://example.org/blog/archive/two page atom",
			"http://example.org/other/three page atom",
			"http://example.org/blog/archive/four page atom",
			"http://example.org/blog/five page atom",
		},
	},
	{
		name: "Atom without xml:base",
		body: `<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="post/1"/></entry>` +
			`<entry><link href="//cdn.example/p"/></entry></feed>`,
		page:   "https://example.com/blog/atom.xml",
		format: "atom",
		want:   []string{"https://example.com/blog/post/1 page atom", "https://cdn.example/p page atom"},
	},
	{
		name: "ISO-8859-1 feed",
		body: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<rss version=\"2.0\"><channel><title>Caf\xe9</title>" +
			"<item><title>\xc0 la carte</title><link>http://example.com/caf\xe9</link></item>" +
			"<item><link>http://example.com/na\xefve?q=\xe9t\xe9</link></item></channel></rss>",
		contentType: "application/rss+xml",
		format:      "rss",
		want: []string{
			"http://example.com/caf%C3%A9 page rss",
			"http://example.com/na%C3%AFve?q=\u00e9t\u00e9 page rss", // as written, like a page's links
		},
	},
	{
		name:   "unknown and UTF-16 encoding labels read as UTF-8",
		body:   "<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><urlset><url><loc>http://example.com/\xc3\xa9</loc></url></urlset>",
		format: "urlset",
		want:   []string{"http://example.com/%C3%A9 page sitemap"},
	},
	{
		name:   "UTF-16 label",
		body:   "<?xml version=\"1.0\" encoding=\"UTF-16\"?><urlset><url><loc>http://example.com/x</loc></url></urlset>",
		format: "urlset",
		want:   []string{"http://example.com/x page sitemap"},
	},
	{
		name: "billion laughs",
		body: `<?xml version="1.0"?>
<!DOCTYPE urlset [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
  <!ENTITY ext SYSTEM "file:///etc/passwd">
]>
<urlset><url><loc>http://example.com/&lol9;</loc></url><url><loc>&ext;</loc></url><url><loc>http://example.com/ok</loc></url></urlset>`,
		format: "urlset",
		want: []string{
			"http://example.com/&lol9; page sitemap",
			"http://example.com/&ext; page sitemap",
			"http://example.com/ok page sitemap",
		},
	},
	{
		name:   "malformed XML mid-file",
		body:   `<urlset><url><loc>http://example.com/1</loc></url><url><loc>http://example.com/2</loc></url><url <<loc>http://example.com/3</loc></url></urlset>`,
		format: "urlset",
		want:   []string{"http://example.com/1 page sitemap", "http://example.com/2 page sitemap"},
		err:    "XML syntax error",
	},
	{
		name:   "truncated file",
		body:   `<urlset><url><loc>http://example.com/1</loc></url><url><loc>http://example.com/2`,
		format: "urlset",
		want:   []string{"http://example.com/1 page sitemap"},
		err:    "unexpected EOF",
	},
	{
		name:   "misnested tags are closed as needed",
		body:   `<urlset><url><loc>http://example.com/1</url><url><loc>http://example.com/2</loc></url></urlset>`,
		format: "urlset",
		want:   []string{"http://example.com/1 page sitemap", "http://example.com/2 page sitemap"},
	},
	{
		name:   "content after the root is not read",
		body:   `<urlset><url><loc>http://example.com/1</loc></url></urlset><urlset><url><loc>http://example.com/2</loc></url></urlset><<<`,
		format: "urlset",
		want:   []string{"http://example.com/1 page sitemap"},
	},
	{
		name: "HTML page",
		body: `<!DOCTYPE html><html><head><title>Not found</title></head><body><a href="/x">x</a></body></html>`,
		err:  "not a sitemap or feed (root element <html>)",
	},
	{
		name: "HTML page that is not XML",
		body: `<!-- a -- b --><html><a href=/x>x</a>`,
		err:  "not a sitemap or feed",
	},
	{
		name: "XML without a root element",
		body: `<?xml version="1.0"?><!-- nothing -->`,
		err:  "not a sitemap or feed (no root element)",
	},
	{
		name: "other XML",
		body: `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><a href="http://example.com/"/></svg>`,
		err:  "not a sitemap or feed (root element <svg>)",
	},
	{
		name:   "nil URL keeps absolute URLs only",
		body:   `<feed><entry><link href="relative"/></entry><entry><link href="http://example.com/abs"/></entry></feed>`,
		page:   "-",
		format: "atom",
		want:   []string{"http://example.com/abs page atom"},
	},
}

func TestSitemap(t *testing.T) {
	for _, tc := range sitemapTests {
		t.Run(tc.name, func(t *testing.T) {
			var page *url.URL
			switch tc.page {
			case "":
				page = sitemapURL(t, sitemapPage)
			case "-":
			default:
				page = sitemapURL(t, tc.page)
			}
			for _, gz := range []bool{false, true} {
				body := []byte(tc.body)
				if gz {
					body = gzipSitemap(t, body)
				}
				f, err := Sitemap(body, tc.contentType, page)
				if msg := checkSitemap(f, err); msg != "" {
					t.Fatalf("gzip %v: %s", gz, msg)
				}
				if f.Compressed != gz {
					t.Errorf("gzip %v: Compressed = %v", gz, f.Compressed)
				}
				if f.Format != tc.format {
					t.Errorf("gzip %v: Format = %q, want %q", gz, f.Format, tc.format)
				}
				if got := sitemapLinks(f.Links); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("gzip %v: links\n got %q\nwant %q", gz, got, tc.want)
				}
				switch {
				case tc.err == "" && err != nil:
					t.Errorf("gzip %v: error %v, want none", gz, err)
				case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
					t.Errorf("gzip %v: error %v, want one with %q", gz, err, tc.err)
				case errors.Is(err, ErrSitemapLimit):
					t.Errorf("gzip %v: error %v wraps ErrSitemapLimit", gz, err)
				}
			}
		})
	}
}

// TestSitemapGzip: gzip is told by its magic bytes whatever the type, and
// its errors end the file.
func TestSitemapGzip(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	// Noise that does not compress, so that cutting the file in the
	// middle cuts it there.
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 50<<10)
	for i := range noise {
		noise[i] = 'a' + byte(rng.IntN(26))
	}
	xml := []byte(`<urlset><url><loc>http://example.com/1</loc></url><url><loc>http://example.com/2</loc></url><!--` +
		string(noise) + `--><url><loc>http://example.com/3</loc></url></urlset>`)
	gz := gzipSitemap(t, xml)
	for _, ct := range []string{"application/gzip", "application/x-gzip", "text/html; charset=utf-8", "application/xml", ""} {
		f, err := Sitemap(gz, ct, page)
		if err != nil {
			t.Fatalf("%q: %v", ct, err)
		}
		if !f.Compressed || f.Format != "urlset" || len(f.Links) != 3 {
			t.Errorf("%q: Compressed %v, Format %q, %d links; want true, urlset, 3", ct, f.Compressed, f.Format, len(f.Links))
		}
	}

	// Text, and two gzip members (as from concatenated files).
	text := append(gzipSitemap(t, []byte("http://example.com/a\n")), gzipSitemap(t, []byte("http://example.com/b\n"))...)
	f, err := Sitemap(text, "application/octet-stream", page)
	if got, want := sitemapLinks(f.Links), []string{"http://example.com/a page sitemap", "http://example.com/b page sitemap"}; err != nil || f.Format != "text" || !reflect.DeepEqual(got, want) {
		t.Errorf("text: %q, %q, %v; want text, %q, no error", f.Format, got, err, want)
	}

	// A header that is not gzip's after the magic bytes.
	f, err = Sitemap([]byte{0x1f, 0x8b, 0, 0, 0, 0}, "", page)
	if err == nil || !strings.Contains(err.Error(), "gunzip") || !f.Compressed || f.Format != "" || len(f.Links) > 0 {
		t.Errorf("bad header: %+v, %v; want Compressed, no format, no links, a gunzip error", f, err)
	}

	// Cut after the first URLs: those come back with the error.
	f, err = Sitemap(gz[:len(gz)/2], "", page)
	if err == nil || !strings.Contains(err.Error(), "gunzip: unexpected EOF") || len(f.Links) != 2 {
		t.Errorf("truncated: %d links, %v; want 2 and a gunzip error", len(f.Links), err)
	}

	// A corrupt checksum is found at the end of the stream; the text
	// sitemap is read to its end, so the error shows.
	bad := gzipSitemap(t, []byte("http://example.com/a\n"))
	bad[len(bad)-8] ^= 0xff
	f, err = Sitemap(bad, "", page)
	if !errors.Is(err, gzip.ErrChecksum) || len(f.Links) != 1 {
		t.Errorf("bad checksum: %d links, %v; want 1 and gzip.ErrChecksum", len(f.Links), err)
	}
}

// TestSitemapURLLimit: MaxSitemapURLs URLs are fine; one more gives the
// first MaxSitemapURLs links and ErrSitemapLimit.
func TestSitemapURLLimit(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	for _, format := range []string{"urlset", "text"} {
		for _, n := range []int{MaxSitemapURLs, MaxSitemapURLs + 1} {
			var b bytes.Buffer
			if format == "urlset" {
				b.WriteString("<urlset>")
			}
			for i := range n {
				if format == "urlset" {
					fmt.Fprintf(&b, "<url><loc>http://example.com/p/%d</loc></url>\n", i)
				} else {
					fmt.Fprintf(&b, "http://example.com/p/%d\n", i)
				}
			}
			if format == "urlset" {
				b.WriteString("</urlset>")
			}
			f, err := Sitemap(b.Bytes(), "", page)
			if f.Format != format || len(f.Links) != MaxSitemapURLs {
				t.Fatalf("%s of %d URLs: Format %q, %d links; want %d", format, n, f.Format, len(f.Links), MaxSitemapURLs)
			}
			if n == MaxSitemapURLs {
				if err != nil {
					t.Errorf("%s of %d URLs: %v", format, n, err)
				}
				continue
			}
			if !errors.Is(err, ErrSitemapLimit) || !strings.Contains(err.Error(), "more than 50000 URLs; the rest are ignored") {
				t.Errorf("%s of %d URLs: error %v, want ErrSitemapLimit for the URLs", format, n, err)
			}
			if last, want := f.Links[len(f.Links)-1].URL, fmt.Sprintf("http://example.com/p/%d", MaxSitemapURLs-1); last != want {
				t.Errorf("%s of %d URLs: last link %q, want %q", format, n, last, want)
			}
		}
	}
}

// TestSitemapEntryLimit: what counts against the limit on URLs, in each
// format: entries, not unique or valid URLs, images included (with a
// limit of 4).
func TestSitemapEntryLimit(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	lim := sitemapLimits{urls: 4, bytes: MaxSitemapBytes, run: maxTextRun}
	for _, tc := range []struct {
		format, head, entry, tail string
		kind                      string // of the links
	}{
		{"urlset", "<urlset>", "<url><loc>%s</loc></url>", "</urlset>", "page sitemap"},
		{"urlset", "<urlset>", "<url><image:image><image:loc>%s</image:loc></image:image></url>", "</urlset>", "asset sitemap:image"},
		{"sitemapindex", "<sitemapindex>", "<sitemap><loc>%s</loc></sitemap>", "</sitemapindex>", "sitemap sitemapindex"},
		{"rss", "<rss><channel>", "<item><link>%s</link></item>", "</channel></rss>", "page rss"},
		{"rss", "<rdf:RDF>", `<item rdf:about="%s"/>`, "</rdf:RDF>", "page rss"},
		{"atom", "<feed>", `<entry><link href="%s"/><link rel="self" href="/not-counted"/></entry>`, "</feed>", "page atom"},
		{"text", "", "%s\n# not counted\n", "", "page sitemap"},
	} {
		// Four entries, two of them not links (a repeat, and userinfo,
		// which Normalize refuses), are fine; a fifth is not.
		urls := []string{"http://example.com/a", "http://example.com/a", "http://user:pw@example.com/", "http://example.com/b", "http://example.com/c"}
		want := []string{"http://example.com/a " + tc.kind, "http://example.com/b " + tc.kind}
		for _, n := range []int{4, 5} {
			var b strings.Builder
			b.WriteString(tc.head)
			for _, u := range urls[:n] {
				fmt.Fprintf(&b, tc.entry, u)
			}
			b.WriteString(tc.tail)
			f, err := readSitemap([]byte(b.String()), page, lim)
			if got := sitemapLinks(f.Links); f.Format != tc.format || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %d entries: Format %q, links %q; want %s, %q", b.String(), n, f.Format, got, tc.format, want)
			}
			switch {
			case n == 4 && err != nil:
				t.Errorf("%s: %d entries: %v", b.String(), n, err)
			case n == 5 && (!errors.Is(err, ErrSitemapLimit) || !strings.Contains(err.Error(), "more than 4 URLs")):
				t.Errorf("%s: %d entries: error %v, want ErrSitemapLimit", b.String(), n, err)
			}
		}
	}
}

// TestSitemapByteLimit: a plain file past MaxSitemapBytes is read up to
// the limit (a URL cut by it is dropped) and gives ErrSitemapLimit.
func TestSitemapByteLimit(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	body := bytes.Repeat([]byte{'\n'}, MaxSitemapBytes+100)
	copy(body, "http://example.com/a\nhttp://example.com/b\n")
	copy(body[MaxSitemapBytes-10:], "http://example.com/cut-by-the-limit\n")
	f, err := Sitemap(body, "text/plain", page)
	if got, want := sitemapLinks(f.Links), []string{"http://example.com/a page sitemap", "http://example.com/b page sitemap"}; !reflect.DeepEqual(got, want) {
		t.Errorf("links %q, want %q", got, want)
	}
	if !errors.Is(err, ErrSitemapLimit) || !strings.Contains(err.Error(), "larger than 50 MiB uncompressed; the rest is ignored") {
		t.Errorf("error %v, want ErrSitemapLimit for the size", err)
	}
	f, err = Sitemap(body[:MaxSitemapBytes], "text/plain", page)
	if err != nil || len(f.Links) != 3 {
		t.Errorf("at the limit: %d links, %v; want 3, no error", len(f.Links), err)
	}
}

// TestSitemapXMLByteLimit: the size limit cuts an XML file where it
// falls, plain or compressed, and a plain file past it gets the error
// even if its document ends before (with a limit of 200 bytes).
func TestSitemapXMLByteLimit(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	lim := sitemapLimits{urls: MaxSitemapURLs, bytes: 200, run: maxTextRun}
	entry := "<url><loc>http://example.com/%d</loc></url>\n" // 42 bytes
	var b strings.Builder
	b.WriteString("<urlset>\n") // 9 bytes
	for i := range 5 {
		fmt.Fprintf(&b, entry, i)
	}
	b.WriteString("</urlset>") // 9 + 5*42 + 9 = 228 bytes
	whole := []byte(b.String())
	for _, tc := range []struct {
		name  string
		body  []byte
		links int
		err   bool
	}{
		{"past the limit", whole, 4, true},
		{"at the limit", append(whole[:9+4*42:9+4*42], "</urlset>"+strings.Repeat(" ", 200-9-4*42-9)...), 4, false},
		{"document ends before the limit", append([]byte("<urlset></urlset>"), bytes.Repeat([]byte{' '}, 200)...), 0, true},
	} {
		for _, gz := range []bool{false, true} {
			body := tc.body
			if gz {
				body = gzipSitemap(t, body)
			}
			f, err := readSitemap(body, page, lim)
			wantErr := tc.err && !(gz && tc.name == "document ends before the limit") // a compressed file is not read past its end
			if f.Format != "urlset" || len(f.Links) != tc.links || wantErr != errors.Is(err, ErrSitemapLimit) {
				t.Errorf("%s, gzip %v: Format %q, %d links, %v; want urlset, %d, ErrSitemapLimit %v", tc.name, gz, f.Format, len(f.Links), err, tc.links, wantErr)
			}
			if wantErr && !strings.Contains(err.Error(), "larger than 200 bytes") {
				t.Errorf("%s, gzip %v: error %v", tc.name, gz, err)
			}
		}
	}
}

// sitemapBomb returns a gzip file that inflates to head and then n MiB
// of fill: with members, in n+1 gzip members (a reader reads them as one
// stream), which is cheap to make; otherwise in one.
func sitemapBomb(t testing.TB, head string, fill byte, n int, members bool) []byte {
	t.Helper()
	mib := bytes.Repeat([]byte{fill}, 1<<20)
	if members {
		member := gzipSitemap(t, mib)
		out := gzipSitemap(t, []byte(head))
		for range n {
			out = append(out, member...)
		}
		return out
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	for range n {
		if _, err := zw.Write(mib); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSitemapGzipBomb: 1 GiB compressed into 1 MB costs little to read,
// in a text or an XML file: the size limit stops a text file, a limit
// on text between tags an XML one first.
func TestSitemapGzipBomb(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	for _, tc := range []struct {
		name, head string
		fill       byte
		mib        int
		members    bool
		format     string
		links      int
		limit      bool // the error wraps ErrSitemapLimit
		err        string
		maxAlloc   uint64
	}{
		{"zeros", "", 0, 1 << 10, true, "text", 0, true, "larger than 50 MiB", 1 << 20},
		{"zeros in one member", "", 0, 52, false, "text", 0, true, "larger than 50 MiB", 1 << 20},
		{"text", "http://example.com/a\n", ' ', 1 << 10, true, "text", 1, true, "larger than 50 MiB", 8 << 20}, // room for the links
		{"XML", "<urlset><url><loc>http://example.com/a</loc></url>", '\n', 1 << 10, true, "urlset", 1, false, "more than 8 MiB without markup", 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bomb := sitemapBomb(t, tc.head, tc.fill, tc.mib, tc.members)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f, err := Sitemap(bomb, "text/plain", page)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.err) || errors.Is(err, ErrSitemapLimit) != tc.limit ||
				f.Format != tc.format || len(f.Links) != tc.links {
				t.Errorf("Format %q, %d links, %v; want %s, %d, %q (ErrSitemapLimit %v)", f.Format, len(f.Links), err, tc.format, tc.links, tc.err, tc.limit)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d KiB compressed, allocated %d KiB", len(bomb)>>10, alloc>>10)
			if alloc > tc.maxAlloc {
				t.Errorf("allocated %d KiB, want at most %d KiB", alloc>>10, tc.maxAlloc>>10)
			}
		})
	}
}

// TestSitemapTextRun: the bytes before a run of text past the limit are
// read, the run and what follows are not (with a limit of 100 bytes).
func TestSitemapTextRun(t *testing.T) {
	page := sitemapURL(t, sitemapPage)
	lim := sitemapLimits{urls: MaxSitemapURLs, bytes: MaxSitemapBytes, run: 100}
	head := "<rss><channel><item><link>http://example.com/a</link></item><item><description>"
	tail := "</description><link>http://example.com/b</link></item></channel></rss>"
	for _, tc := range []struct {
		n     int
		links int
	}{
		{100 - len("description>"), 2},
		{101 - len("description>"), 1},
		{10 << 10, 1},
	} {
		for _, gz := range []bool{false, true} {
			body := []byte(head + strings.Repeat("x", tc.n) + tail)
			if gz {
				body = gzipSitemap(t, body)
			}
			f, err := readSitemap(body, page, lim)
			if wantErr := tc.links == 1; len(f.Links) != tc.links || wantErr != (err != nil) ||
				err != nil && !strings.Contains(err.Error(), "more than 100 bytes without markup; the rest is ignored") {
				t.Errorf("%d bytes of text, gzip %v: %d links, %v; want %d, error %v", tc.n, gz, len(f.Links), err, tc.links, wantErr)
			}
		}
	}
}

// TestSitemapBillionLaughs: entities declared in a DTD are not expanded.
func TestSitemapBillionLaughs(t *testing.T) {
	var body string
	for _, tc := range sitemapTests {
		if tc.name == "billion laughs" {
			body = tc.body
		}
	}
	page := sitemapURL(t, sitemapPage)
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := Sitemap([]byte(body), "", page); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 500 {
		t.Errorf("%v allocations, want a few hundred at most", allocs)
	}
}

func FuzzSitemap(f *testing.F) {
	for _, tc := range sitemapTests {
		f.Add([]byte(tc.body))
	}
	f.Add(gzipSitemap(f, []byte(sitemapTests[0].body)))
	f.Add([]byte("http://example.com/a\n\nhttps://example.com/b"))
	page, _ := url.Parse("http://example.com/dir/sitemap.xml")
	var gzBuf bytes.Buffer
	zw := gzip.NewWriter(&gzBuf) // reused: a new one costs more than the test
	f.Fuzz(func(t *testing.T, body []byte) {
		sf, err := Sitemap(body, "", page)
		if msg := checkSitemap(sf, err); msg != "" {
			t.Fatal(msg)
		}
		if len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b {
			return
		}
		// Compressed, the same file gives the same result.
		gzBuf.Reset()
		zw.Reset(&gzBuf)
		if _, err := zw.Write(body); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		gz, gzErr := Sitemap(gzBuf.Bytes(), "", page)
		if !gz.Compressed || gz.Format != sf.Format || !reflect.DeepEqual(gz.Links, sf.Links) || fmt.Sprint(gzErr) != fmt.Sprint(err) {
			t.Fatalf("plain: %q, %q, %v\ngzip: %q, %q, %v", sf.Format, sitemapLinks(sf.Links), err, gz.Format, sitemapLinks(gz.Links), gzErr)
		}
	})
}

// benchSitemap returns a urlset of MaxSitemapURLs URLs, about 5 MB.
func benchSitemap() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for i := range MaxSitemapURLs {
		fmt.Fprintf(&b, "<url><loc>https://www.example.com/blog/page-%d.html</loc><lastmod>2024-05-01</lastmod></url>\n", i)
	}
	b.WriteString("</urlset>\n")
	return b.Bytes()
}

func BenchmarkSitemap(b *testing.B) {
	page, err := url.Parse("https://www.example.com/sitemap.xml")
	if err != nil {
		b.Fatal(err)
	}
	plain := benchSitemap()
	var text bytes.Buffer
	for i := range MaxSitemapURLs {
		fmt.Fprintf(&text, "https://www.example.com/blog/page-%d.html\n", i)
	}
	for _, bc := range []struct {
		name       string
		body       []byte
		plainBytes int // for MB/s
	}{
		{"urlset", plain, len(plain)},
		{"gzip", gzipSitemap(b, plain), len(plain)},
		{"text", text.Bytes(), text.Len()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(bc.plainBytes))
			for b.Loop() {
				f, err := Sitemap(bc.body, "application/xml", page)
				if err != nil || len(f.Links) != MaxSitemapURLs {
					b.Fatalf("%d links, %v", len(f.Links), err)
				}
			}
		})
	}
}
