// Package parse turns fetched HTML into a Page (title, metadata and
// out-links) and owns URL normalization, the rule that decides when two URLs
// are the same page for deduplication and which politeness host they belong
// to.
//
// Each Link says what it is for (Kind: page, asset, form or sitemap),
// where it was found (Source, such as "img[srcset]" or "header:link") and,
// for forms, its Method. HTML finds links in every URL-bearing place of a
// document (see HTML); CSS, Headers, Sitemap and GuessLinks find them in
// stylesheets, response headers, sitemaps and feeds, and plain text.
//
// Most callers use IsHTML to decide whether a response is worth parsing,
// HTML to extract a Page, and Normalize or NormalizeString for seeds and
// redirect targets. Every function is safe for concurrent use.
//
// HTML streams the document through the golang.org/x/net/html tokenizer
// without building a tree; the goquery document is built only when
// Page.Document asks for it. The tests hold the streaming pass to the
// result of walking the tree html.Parse builds, on every fixture, on
// random tag soup (TestTagSoup) and under fuzzing (FuzzHTML).
//
// Extract takes fields from a page's document with CSS selectors
// (Extractor, read from "NAME=SELECTOR[@ATTR]" by ParseExtractor) and its
// JSON-LD objects (JSONLD): what the crawler's Config.Extract and the
// command line's --extract put into records. It needs the document, so a
// crawl that extracts builds one per page; one that does not never does.
//
// parse imports no other trawl package (its tests use trawl/fixtures); it
// is the only trawl package that uses goquery.
package parse
