package parse_test

import (
	"fmt"
	"net/url"

	"trawl/parse"
)

func ExampleNormalizeString() {
	key, host, err := parse.NormalizeString("HTTP://Example.COM:80/a/./b/../%7euser/%2f?q=1#top")
	if err != nil {
		panic(err)
	}
	fmt.Println(key)
	fmt.Println(host)
	// Output:
	// http://example.com/a/~user/%2F?q=1
	// example.com
}

func ExampleHTML() {
	body := []byte(`<html lang="en"><head><title> Home </title>
<meta name="robots" content="noindex"></head>
<body><a href="/about#team">About</a> <a href="mailto:hi@example.com">Mail</a>
<a href="https://other.example/" rel="nofollow">Other</a> <a href="#top">Top</a></body></html>`)
	page, _ := url.Parse("http://example.com/")
	p, err := parse.HTML(body, "text/html; charset=utf-8", page)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q %s noindex=%v nofollow=%v\n", p.Title, p.Lang, p.NoIndex, p.NoFollow)
	for _, l := range p.Links {
		fmt.Println(l.URL, l.Host, l.NoFollow)
	}
	// Output:
	// "Home" en noindex=true nofollow=false
	// http://example.com/about example.com false
	// https://other.example/ other.example true
}

func ExamplePage_Document() {
	body := []byte(`<html><body><h1>Products</h1><ul><li>Tea</li><li>Coffee</li></ul></body></html>`)
	page, _ := url.Parse("http://shop.example/")
	p, err := parse.HTML(body, "text/html", page)
	if err != nil {
		panic(err)
	}
	// HTML extracted Links and Title without a tree; the goquery document
	// is built now, once.
	doc := p.Document()
	fmt.Println(doc.Find("h1").Text(), doc.Find("li").Length())
	// Output:
	// Products 2
}
