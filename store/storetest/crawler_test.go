package storetest_test

import (
	"trawl/crawler"
	"trawl/store/storetest"
)

// Frontier must have the method set of crawler.Frontier. storetest does
// not import crawler (the store packages sit below it), so this test ties
// the two: each interface satisfies the other, and a method added to,
// removed from or changed in either one fails to compile here until the
// other follows.
var (
	_ crawler.Frontier   = storetest.Frontier(nil)
	_ storetest.Frontier = crawler.Frontier(nil)
)
