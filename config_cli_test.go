package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writeConfig writes a config file named name in a new folder and returns
// its path.
func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// effective is opts without what cannot be compared with reflect.DeepEqual
// (funcs, compiled regexps, the config file's bookkeeping), plus those
// as text.
func effective(t *testing.T, opts *options) (options, string) {
	t.Helper()
	o := *opts
	text := fmt.Sprintf("proxy set: %v; include %v; exclude %v", o.cfg.Proxy != nil, o.cfg.Include, o.cfg.Exclude)
	o.cfg.Proxy, o.cfg.Include, o.cfg.Exclude = nil, nil, nil
	o.config = configOptions{}
	return o, text
}

// sameEffect checks that two command lines give the same options.
func sameEffect(t *testing.T, fileArgs, flagArgs []string) {
	t.Helper()
	a, err := parseArgs(fileArgs, io.Discard)
	if err != nil {
		t.Fatalf("parseArgs(%q): %v", fileArgs, err)
	}
	b, err := parseArgs(flagArgs, io.Discard)
	if err != nil {
		t.Fatalf("parseArgs(%q): %v", flagArgs, err)
	}
	ea, ta := effective(t, a)
	eb, tb := effective(t, b)
	if !reflect.DeepEqual(ea, eb) || ta != tb {
		t.Errorf("with the file:\n%+v\n%s\nwith the flags:\n%+v\n%s", ea, ta, eb, tb)
	}
}

func TestConfigFileMatchesFlags(t *testing.T) {
	flags := []string{
		"--max-pages", "500", "--rate", "1.5", "--depth", "2",
		"--timeout", "45s", "--max-retry-wait", "2m", "--max-body", "5MiB", "--warc-max-size", "-1",
		"--assets", "--no-sitemaps", "--extract-jsonld", "--ignore-robots=false",
		"--include", "/docs/", "--include", "/blog/", "--exclude", `\?page=`,
		"-H", "X-Team: crawl", "--cookie", "session=abc",
		"--extract", "title=h1", "--extract-all", "links=a@href",
		"--sitemap", "https://example.com/sitemap.xml",
		"--proxy", "http://proxy.test:3128", "--resolve", "example.com:443:127.0.0.1",
		"--scope", "domain", "--method", "head", "--records", "fetched",
		"--warc", "site.warc.gz", "--warc-gzip-level", "-1", "-o", "pages.csv",
		"--contact", "mailto:me@example.org", "--log-format", "json", "-v",
		"--metrics", "127.0.0.1:0", "--quiet",
		"https://example.com/", "https://example.com/docs/",
	}
	tomlFile := `# a long crawl
urls = ["https://example.com/", "https://example.com/docs/"]
max-pages = 500
rate = 1.5
depth = 2
timeout = "45s"
max-retry-wait = "2m"
max-body = "5MiB"
warc-max-size = -1
assets = true
no-sitemaps = true
extract-jsonld = true
ignore-robots = false
include = ["/docs/", "/blog/"]
exclude = ['\?page=']
header = ["X-Team: crawl"]
cookie = "session=abc"
extract = ["title=h1"]
extract-all = ["links=a@href"]
sitemap = ["https://example.com/sitemap.xml"]
proxy = "http://proxy.test:3128"
resolve = ["example.com:443:127.0.0.1"]
scope = "domain"
method = "head"
records = "fetched"
warc = "site.warc.gz"
warc-gzip-level = -1
output = "pages.csv"
contact = "mailto:me@example.org"
log-format = "json"
verbose = true
metrics = "127.0.0.1:0"
quiet = true
`
	yamlFile := `# a long crawl
urls:
  - https://example.com/
  - https://example.com/docs/
max-pages: 500
rate: 1.5
depth: 2
timeout: 45s
max-retry-wait: 2m
max-body: 5MiB
warc-max-size: -1
assets: true
no-sitemaps: true
extract-jsonld: true
ignore-robots: false
include: [/docs/, /blog/]
exclude: ['\?page=']
header: ["X-Team: crawl"]
cookie: session=abc
extract: [title=h1]
extract-all: [links=a@href]
sitemap: [https://example.com/sitemap.xml]
proxy: http://proxy.test:3128
resolve: ["example.com:443:127.0.0.1"]
scope: domain
method: head
records: fetched
warc: site.warc.gz
warc-gzip-level: -1
output: pages.csv
contact: mailto:me@example.org
log-format: json
verbose: true
metrics: 127.0.0.1:0
quiet: true
cookie-file:
`
	for _, tc := range []struct{ name, text string }{
		{"crawl.toml", tomlFile},
		{"crawl.yaml", yamlFile},
		{"crawl.yml", yamlFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameEffect(t, []string{"--config", writeConfig(t, tc.name, tc.text)}, flags)
		})
	}

	t.Run("demo", func(t *testing.T) {
		path := writeConfig(t, "demo.toml", "site = \"hostile\"\nrate = -1\ndepth = 1\nmax-pages = 20\noutput = \"demo.jsonl\"\n")
		sameEffect(t, []string{"demo", "--config", path},
			[]string{"demo", "--site", "hostile", "--rate", "-1", "--depth", "1", "--max-pages", "20", "-o", "demo.jsonl"})
	})
	t.Run("empty", func(t *testing.T) {
		sameEffect(t, []string{"--config", writeConfig(t, "empty.yaml", ""), "https://example.com/"}, []string{"https://example.com/"})
		sameEffect(t, []string{"--config", writeConfig(t, "empty.toml", "# nothing\n"), "https://example.com/"}, []string{"https://example.com/"})
	})
}

// TestConfigCommandLineWins: a flag on the command line replaces the
// file's value, lists too; URLs on the command line come first, then the
// file's; the demo's own defaults yield to the file as to a flag.
func TestConfigCommandLineWins(t *testing.T) {
	path := writeConfig(t, "crawl.toml", `urls = ["https://example.com/file/"]
rate = 1.5
depth = 2
include = ["/docs/", "/blog/"]
exclude = ["/tag/"]
`)
	sameEffect(t,
		[]string{"--config", path, "--rate", "3", "--include", "/news/", "https://example.com/cli/"},
		[]string{"--rate", "3", "--depth", "2", "--include", "/news/", "--exclude", "/tag/", "https://example.com/cli/", "https://example.com/file/"})

	opts, err := parseArgs([]string{"--config", path, "https://example.com/cli/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://example.com/cli/", "https://example.com/file/"}; !slices.Equal(opts.seeds, want) {
		t.Errorf("seeds %q, want %q", opts.seeds, want)
	}

	// The demo crawls at its own rate and scope unless told otherwise: a
	// file tells it, as a flag does.
	demo := writeConfig(t, "demo.yaml", "rate: 1.5\nscope: host\n")
	sameEffect(t, []string{"demo", "--config", demo}, []string{"demo", "--rate", "1.5", "--scope", "host"})
	sameEffect(t, []string{"demo", "--config", demo, "--rate", "7"}, []string{"demo", "--rate", "7", "--scope", "host"})
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, file, text string
		args             []string
		want             string // the whole line on stderr, after "trawl: "; FILE is the file's path
	}{
		{"unknown key", "crawl.toml", "depth = 1\nscop = \"host\"\n", nil,
			`FILE:2: unknown key "scop": keys are the long flag names of trawl --help, and urls`},
		{"shorthand key", "crawl.toml", "o = \"out.jsonl\"\n", nil,
			`FILE:1: unknown key "o": write the long name, output`},
		{"demo-only key", "crawl.yaml", "site: hostile\n", nil,
			`FILE:1: unknown key "site": a flag of trawl demo only`},
		{"not a demo key", "demo.toml", "input = \"urls.txt\"\n", []string{"demo"},
			`FILE:1: unknown key "input": not a flag of trawl demo`},
		{"table", "crawl.toml", "depth = 1\n[limits]\nmax-pages = 5\n", nil,
			`FILE:2: unknown key "limits": keys are the long flag names of trawl --help, and urls`},
		{"not a setting", "crawl.toml", "config = \"other.toml\"\n", nil,
			`FILE:1: config: not a setting: give --config on the command line`},
		{"wrong type toml", "crawl.toml", "rate = 1\n\nmax-pages = \"500\"\n", nil,
			`FILE:3: max-pages: want an integer, got a string ("500")`},
		{"wrong type yaml", "crawl.yaml", "rate: 1\nassets: \"yes\"\n", nil,
			`FILE:2: assets: want true or false, got a string ("yes")`},
		{"float for int", "crawl.yaml", "depth: 1.5\n", nil,
			`FILE:1: depth: want an integer, got a number (1.5)`},
		{"list for a string", "crawl.toml", "scope = [\"host\"]\n", nil,
			`FILE:1: scope: want a string, got a list`},
		{"bad duration", "crawl.toml", "timeout = 30\n", nil,
			`FILE:1: timeout "30": must be a duration like "30s" or "5m"`},
		{"duration type", "crawl.toml", "timeout = true\n", nil,
			`FILE:1: timeout: want a duration such as "30s", got a boolean (true)`},
		{"flag refuses", "crawl.yaml", "depth: 1\nmetrics: localhost\n", nil,
			`FILE:2: metrics "localhost": want HOST:PORT, such as 127.0.0.1:9100, or :9100 for all interfaces`},
		{"bad value toml", "crawl.toml", "depth = 1\nscope = \"planet\"\n", nil,
			`FILE:2: --scope "planet": want host, domain or any`},
		{"bad value yaml", "crawl.yaml", "depth: 1\n\nmax-body: lots\n", nil,
			`FILE:3: --max-body: bad size "lots" (want e.g. 512KiB or 10MiB, or -1 for no limit)`},
		{"bad list value", "crawl.toml", "include = [\"/docs/\", \"(\"]\n", nil,
			"FILE:1: --include \"(\": error parsing regexp: missing closing ): `(`"},
		{"bad url", "crawl.toml", "depth = 1\nurls = [\"https://example.com/\", \"ftp://example.com/\"]\n", nil,
			`FILE:2: urls: bad URL "ftp://example.com/": want an http:// or https:// URL`},
		{"bad urls", "crawl.yaml", "urls:\n  - https://example.com/\n  - {a: 1}\n", nil,
			`FILE:1: urls: want a list of strings, got a mapping in the list`},
		{"bad list", "crawl.toml", "exclude = true\n", nil,
			`FILE:1: exclude: want a list of strings, got a boolean (true)`},
		{"demo urls", "demo.toml", "urls = [\"https://example.com/\"]\n", []string{"demo"},
			`FILE:1: urls: demo takes no URL (got "https://example.com/")`},
		{"clash with the command line", "crawl.toml", "user-agent = \"bot/1\"\n", []string{"--contact", "https://example.org/"},
			`FILE:1: --contact with --user-agent: choose one (put the contact URL in your User-Agent)`},
		{"toml syntax", "crawl.toml", "depth = 1\nrate = \n", nil,
			`FILE:2: expected value but found '\n' instead`},
		{"yaml syntax", "crawl.yaml", "depth: 1\nrate: 2\n  bad: 3\n", nil,
			`FILE:3: mapping values are not allowed in this context`},
		{"yaml twice", "crawl.yaml", "depth: 1\ndepth: 2\n", nil,
			`FILE:2: depth: given again (first on line 1)`},
		{"yaml not a mapping", "crawl.yaml", "- depth\n", nil,
			`FILE:1: want a mapping of flag names to values`},
		{"extension", "crawl.json", "{}", nil,
			`--config FILE: want a .toml, .yaml or .yml file`},
		{"missing file", "missing.toml", "", nil,
			`--config FILE: no such file or directory`},
		{"print format", "crawl.toml", "", []string{"--print-config=xml"},
			`--print-config "xml": want toml or yaml`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+"-"+tc.file)
			if tc.name != "missing file" {
				if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := slices.Concat(tc.args, []string{"--config", path})
			if len(tc.args) == 0 || tc.args[0] != "demo" {
				args = append(args, "https://example.com/")
			}
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			want := "trawl: " + strings.ReplaceAll(tc.want, "FILE", path) + " (see trawl --help)\n"
			if got := stderr.String(); got != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestPrintConfigRoundTrip: --print-config prints a file that --config
// reads back to the same settings, in both formats, for trawl and for
// trawl demo.
func TestPrintConfigRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		args         []string
	}{
		{"defaults", "toml", nil},
		{"flags", "toml", []string{"--depth", "2", "--rate", "0.5", "--include", "/docs/", "--include", `"quoted" \ back`,
			"--max-body", "512KiB", "--timeout", "1m30s", "--assets", "-H", "Authorization: Bearer token", "--cookie", "a=b",
			"--contact", "https://example.org/crawl.html", "--proxy", "http://u:proxypass@proxy.test:3128",
			"-o", "pages.csv", "https://user:seedpass@example.com/", "https://example.com/ünï"}},
		{"yaml", "yaml", []string{"--depth", "2", "--rate", "2", "--include", "/docs/", "--user-agent", "yes",
			"--max-time", "0", "--warc-max-size", "-1", "-o", "2", "--sitemap", "https://example.com/s.xml", "https://example.com/"}},
		{"demo", "toml", []string{"demo", "--site", "links", "--depth", "1"}},
		{"demo yaml", "yaml", []string{"demo", "--rate", "3", "--scope", "any"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			demo := len(tc.args) > 0 && tc.args[0] == "demo"
			printFlag := "--print-config"
			if tc.format == "yaml" {
				printFlag += "=yaml"
			}
			var stdout, stderr bytes.Buffer
			if code := run(append(slices.Clone(tc.args), printFlag), &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			first := stdout.String()
			path := writeConfig(t, "settings."+tc.format, first)
			var again []string
			if demo {
				again = append(again, "demo")
			}
			again = append(again, "--config", path, printFlag)
			stdout.Reset()
			if code := run(again, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s\nthe file:\n%s", code, stderr.String(), first)
			}
			if second := stdout.String(); second != first {
				t.Errorf("printed again:\n%s\nfirst:\n%s", second, first)
			}
			// The settings are the same too, but for the passwords
			// --print-config hides.
			var hidden []string
			for _, a := range tc.args {
				a = strings.ReplaceAll(a, ":seedpass@", ":xxxxx@")
				hidden = append(hidden, strings.ReplaceAll(a, ":proxypass@", ":xxxxx@"))
			}
			sameEffect(t, again, append(hidden, printFlag))
		})
	}
}

func TestPrintConfigShows(t *testing.T) {
	path := writeConfig(t, "crawl.toml", "urls = [\"https://example.com/file/\"]\nrate = 1.5\n")
	var stdout, stderr bytes.Buffer
	code := run([]string{"--config", path, "--print-config", "--cookie", "session=s3cret", "--contact", "https://example.org/",
		"--redis", "redis://:hunter2@127.0.0.1:6379/0", "--crawl", "c1",
		"https://user:hunter2@example.com/"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"\nurls = [\"https://user:xxxxx@example.com/\", \"https://example.com/file/\"]\n",
		"\nrate = 1.5\n",
		"\ncookie = [\"session=s3cret\"]\n", // the user's own: as given
		"\n# user-agent = \"trawl/" + version + " (+https://example.org/)\"\n",
		"\ncontact = \"https://example.org/\"\n",
		"\nmax-body = \"10MiB\"\n",
		"\ntimeout = \"30s\"\n",
		"\nredis = \"redis://:xxxxx@127.0.0.1:6379/0\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", strings.TrimSpace(want), out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("the seed's password is printed:\n%s", out)
	}
	for _, key := range []string{"config", "print-config", "help", "version"} {
		if strings.Contains(out, "\n"+key+" =") {
			t.Errorf("%s is printed:\n%s", key, out)
		}
	}
}

// TestConfigDemoCrawl runs the binary on a demo config file.
func TestConfigDemoCrawl(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.jsonl")
	path := writeConfig(t, "demo.toml", fmt.Sprintf("rate = -1\ndepth = 1\noutput = %q\nquiet = true\n", out))
	_, stderr, code := trawl(t, "demo", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr %q, want nothing with quiet = true", stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, data)
	if len(recs) < 2 {
		t.Fatalf("%d records, want the seed and its links", len(recs))
	}
	depthSkips := 0
	for _, r := range recs {
		if r.Skipped == "depth" {
			depthSkips++
		}
		if r.Depth > 1 && r.Skipped != "depth" {
			t.Errorf("%s at depth %d, skipped %q: want at most 1 (depth = 1), or skipped depth", r.URL, r.Depth, r.Skipped)
		}
	}
	if depthSkips == 0 {
		t.Errorf("no record skipped for depth: the file's depth = 1 was not applied")
	}
}
