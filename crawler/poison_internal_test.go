package crawler

import "trawl/internal/bufpool"

// Every crawl in these tests poisons the page bodies it releases (see
// run.releaseBodies), so that a record, link or count that kept a piece of
// a body shows the poison instead of the page.
func init() { bufpool.Poison.Store(true) }
