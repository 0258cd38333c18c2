package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"trawl/crawler"
	"trawl/parse"
)

// TestExtract: the extractors' fields and the JSON-LD objects land in the
// record's data, OnPage sees them there and may add its own, and a page
// that is not HTML gets none.
func TestExtract(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<title>shop</title><h1> Blue   <b>kettle</b> </h1><span class="price">12.50</span>
<img class="pic" src="/a.jpg"><img class="pic" src="/b.jpg"><a href="/data.json">data</a>
<script type="application/ld+json">{"@type":"Product","name":"kettle"}</script>`)
		case "/data.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"h1":"not html"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var exs []parse.Extractor
	for _, spec := range []struct {
		s   string
		all bool
	}{{"name=h1", false}, {"price=.price", false}, {"pics=img.pic@src", true}, {"none=.absent", false}} {
		e, err := parse.ParseExtractor(spec.s, spec.all)
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, e)
	}
	var recs records
	var seen []string
	_, err := runCrawl(t, crawler.Config{Rate: -1, Sink: &recs, Extract: exs, ExtractJSONLD: true,
		OnPage: func(_ context.Context, p *crawler.Page) error {
			m, ok := p.Data.(map[string]any)
			if !ok {
				return fmt.Errorf("OnPage got data %T, want the extracted map", p.Data)
			}
			seen = append(seen, fmt.Sprint(m["name"]))
			m["hook"] = "added"
			return nil
		}}, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	byKey := recs.byKey(t)
	home, _ := byKey[key(t, srv.URL+"/")].Data.(map[string]any)
	want := `map[hook:added jsonld:[map[@type:Product name:kettle]] name:Blue kettle pics:[/a.jpg /b.jpg] price:12.50]`
	if got := fmt.Sprint(home); got != want {
		t.Errorf("home data\n got %s\nwant %s", got, want)
	}
	if d := byKey[key(t, srv.URL+"/data.json")].Data; d != nil {
		t.Errorf("a JSON response got data %v", d)
	}
	if strings.Join(seen, ",") != "Blue kettle" {
		t.Errorf("OnPage saw names %v", seen)
	}

	// Two extractors of one name, or one named as the JSON-LD key.
	for _, cfg := range []crawler.Config{
		{Extract: []parse.Extractor{exs[0], exs[0]}},
		{Extract: []parse.Extractor{{Name: parse.JSONLDKey, Selector: "h1"}}, ExtractJSONLD: true},
	} {
		if _, err := crawler.New(cfg); err == nil || !strings.Contains(err.Error(), "Extract name") {
			t.Errorf("New(%+v): %v, want an error naming the Extract name", cfg.Extract, err)
		}
	}
}
