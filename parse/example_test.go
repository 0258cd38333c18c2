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
