package bench_test

import (
	"context"
	"fmt"

	"trawl/crawler/bench"
)

// A small benchmark run: the site is served in-process and every page is
// checked to have been fetched exactly once. Print the whole result with
// WriteText.
func ExampleRun() {
	r, err := bench.Run(context.Background(), bench.Options{Pages: 200, Size: 2000})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Pages, "pages;", r.Verify)
	// Output:
	// 200 pages; OK: 200 of 200 pages requested (0 duplicate requests, 0 missing, 0 other requests); 200 pages with one 200 record, 0 bad records
}
