package parse

// MergeLinks returns the links of lists, in order, unique by Key: a key
// found in several lists keeps the first Link with the highest rank
// (see Link.Kind: page, then sitemap, then GET form, then asset, then
// POST form), and its NoFollow is cleared if any of them is followable.
// The lists are not modified; a single non-empty list is returned as it
// is.
func MergeLinks(lists ...[]Link) []Link {
	var only []Link
	n, nonEmpty := 0, 0
	for _, l := range lists {
		if len(l) > 0 {
			only = l
			n += len(l)
			nonEmpty++
		}
	}
	if nonEmpty <= 1 {
		return only
	}
	out := make([]Link, 0, n)
	at := make(map[string]int, n)
	for _, l := range lists {
		for _, ln := range l {
			i, dup := at[ln.Key]
			if !dup {
				at[ln.Key] = len(out)
				out = append(out, ln)
				continue
			}
			noFollow := out[i].NoFollow && ln.NoFollow
			if linkRank(ln.Kind, ln.Method) < linkRank(out[i].Kind, out[i].Method) {
				out[i] = ln
			}
			out[i].NoFollow = noFollow
		}
	}
	return out
}

// linkRank orders links by how likely a crawl is to follow them (see
// Link.Kind), lower first: page, sitemap, GET form, asset, POST form. It
// is the one rule HTML, Headers, Sitemap and MergeLinks deduplicate by.
func linkRank(k Kind, method string) int {
	switch k {
	case KindPage:
		return 0
	case KindSitemap:
		return 1
	case KindForm:
		if method == "" || method == "GET" {
			return 2
		}
		return 4
	case KindAsset:
		return 3
	}
	return 5
}
