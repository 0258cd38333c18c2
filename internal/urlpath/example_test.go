package urlpath_test

import (
	"fmt"
	"net/url"

	"trawl/internal/urlpath"
)

func ExampleAppendPathQuery() {
	u, err := url.Parse("http://example.com/robots/%70rivate/./x/../leak%2f%c3%a9?q=%7e+%2a")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", urlpath.AppendPathQuery(nil, urlpath.Escaped(u), u.RawQuery))
	// Output: /robots/private/leak%2F%C3%A9?q=~+%2A
}
