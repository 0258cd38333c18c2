// Package parse turns fetched HTML into a Page (title, metadata and
// out-links) and owns URL normalization, the rule that decides when two URLs
// are the same page for deduplication and which politeness host they belong
// to.
//
// Most callers use IsHTML to decide whether a response is worth parsing,
// HTML to extract a Page, and Normalize or NormalizeString for seeds and
// redirect targets. Every function is safe for concurrent use.
//
// parse imports no other trawl package; it is the only trawl package that
// uses goquery.
package parse
