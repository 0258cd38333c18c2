package bench

// WithDuplicateHits returns o with a test hook: the site counts every
// request for page twice, as if the crawler had fetched it twice.
func WithDuplicateHits(o Options, page int) Options {
	o.dupPage = page + 1
	return o
}

// Check exposes check for table tests.
func Check(hits []uint32, other int64, records []uint32, bad int64) Verification {
	return check(hitsInfo{Hits: hits, Other: other}, records, bad)
}
