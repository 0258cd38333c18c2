package urlpath

import (
	"net/url"
	"strings"
	"testing"
)

func TestAppendNormal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"/a/b", "/a/b"},
		{"/%7euser", "/~user"},
		{"/%41%7A%30%2D%5F%2e", "/Az0-_."},
		{"/a%2fb", "/a%2Fb"},
		{"/%c3%a9t%c3%a9", "/%C3%A9t%C3%A9"},
		{"/a:b@c!$&'()*+,;=[]?", "/a:b@c!$&'()*+,;=[]?"},
		{"/a%3Ab%40c%21", "/a%3Ab%40c%21"},
		{"/a b", "/a%20b"},
		{"/été", "/%C3%A9t%C3%A9"},
		{"q=%e9%7e%2b", "q=%E9~%2B"},
		{"q=100%", "q=100%25"},
		{"%zz%4", "%25zz%254"},
		{"\"<>\\^`{|}\x00\x7f", "%22%3C%3E%5C%5E%60%7B%7C%7D%00%7F"},
		{"./%2e%2E/..", "./../.."},
	}
	for _, tc := range tests {
		if got := string(AppendNormal(nil, tc.in)); got != tc.want {
			t.Errorf("AppendNormal(%q): got %q, want %q", tc.in, got, tc.want)
		}
		if got := string(AppendNormal([]byte("pre"), tc.in)); got != "pre"+tc.want {
			t.Errorf("AppendNormal(\"pre\", %q): got %q, want %q", tc.in, got, "pre"+tc.want)
		}
		if IsNormal(tc.in) && tc.in != tc.want {
			t.Errorf("IsNormal(%q): got true, but it normalizes to %q", tc.in, tc.want)
		}
	}
}

func TestAppendPathQuery(t *testing.T) {
	tests := []struct{ path, query, want string }{
		{"", "", "/"},
		{"", "q=1", "/?q=1"},
		{"a", "", "/a"},
		{"%2Fa", "", "/%2Fa"},
		{"%61/../b", "", "/b"},
		{"/a/./b", "", "/a/b"},
		{"/a/b/../c", "", "/a/c"},
		{"/../../a", "", "/a"},
		{"/a/.", "", "/a/"},
		{"/a/b/..", "", "/a/"},
		{"/a/%2e%2E/b", "", "/b"},
		{"/a/%2E%2Fb", "", "/a/.%2Fb"},
		{"/a.b/..c/c../.d", "", "/a.b/..c/c../.d"},
		{"//a//b", "", "//a//b"},
		{"/a", "b=2&a=1&b=1", "/a?b=2&a=1&b=1"},
		{"/a", "q=a+b&r=a%20b", "/a?q=a+b&r=a%20b"},
		{"/a", "a[]=1&u=/x/../y?z", "/a?a[]=1&u=/x/../y?z"},
		{"/a", "q=a b", "/a?q=a%20b"},
		{"/a", "%7e=%2a", "/a?~=%2A"},
	}
	for _, tc := range tests {
		got := string(AppendPathQuery(nil, tc.path, tc.query))
		if got != tc.want {
			t.Errorf("AppendPathQuery(%q, %q): got %q, want %q", tc.path, tc.query, got, tc.want)
		}
		if got := string(AppendPathQuery([]byte("http://h"), tc.path, tc.query)); got != "http://h"+tc.want {
			t.Errorf("AppendPathQuery(\"http://h\", %q, %q): got %q, want %q", tc.path, tc.query, got, "http://h"+tc.want)
		}
		if p, _, _ := strings.Cut(tc.want, "?"); string(AppendPath(nil, tc.path)) != p {
			t.Errorf("AppendPath(%q): got %q, want %q", tc.path, AppendPath(nil, tc.path), p)
		}
		if IsNormalPath(tc.path) && tc.query == "" && tc.path != tc.want {
			t.Errorf("IsNormalPath(%q): got true, but it normalizes to %q", tc.path, tc.want)
		}
	}
}

func TestIsNormalPath(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"/", true},
		{"/a/b.c/~d", true},
		{"", false},
		{"a", false},
		{"/a/./b", false},
		{"/a/..", false},
		{"/%41", false},
		{"/%2F", false}, // normal, but IsNormalPath does not decode escapes
		{"/a b", false},
	}
	for _, tc := range tests {
		if got := IsNormalPath(tc.p); got != tc.want {
			t.Errorf("IsNormalPath(%q): got %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	// RFC 3986 §5.4 examples, as paths.
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b/c/./../../g", "/a/g"},
		{"/mid/content=5/../6", "/mid/6"},
		{"/b/c/./g/.", "/b/c/g/"},
		{"/b/c/../..", "/"},
		{"/b/c/../../..", "/"},
		{"/b/c/../../../g", "/g"},
		{"/./g", "/g"},
		{"/../g", "/g"},
		{"/b/c/g.", "/b/c/g."},
		{"/b/c/.g", "/b/c/.g"},
		{"/b/c/g..", "/b/c/g.."},
		{"/b/c/..g", "/b/c/..g"},
		{"/b/c/./../g", "/b/g"},
		{"/b/c/g/./h", "/b/c/g/h"},
		{"/b/c/g/../h", "/b/c/h"},
		{"/a//../b", "/a/b"},
	}
	for _, tc := range tests {
		p := []byte(tc.in)
		if got := string(RemoveDotSegments(p)); got != tc.want {
			t.Errorf("RemoveDotSegments(%q): got %q, want %q", tc.in, got, tc.want)
		}
		want := tc.in != tc.want
		if got := HasDotSegment([]byte(tc.in)); got != want {
			t.Errorf("HasDotSegment([]byte(%q)): got %v, want %v", tc.in, got, want)
		}
		if got := HasDotSegment(tc.in); got != want {
			t.Errorf("HasDotSegment(%q): got %v, want %v", tc.in, got, want)
		}
	}
}

func TestEscaped(t *testing.T) {
	tests := []struct {
		name string
		u    *url.URL
		want string
	}{
		{"no RawPath", &url.URL{Path: "/a b"}, "/a%20b"},
		{"consistent RawPath", &url.URL{Path: "/a/b", RawPath: "/%61/b"}, "/%61/b"},
		{"encoded slash", &url.URL{Path: "/a/b", RawPath: "/a%2Fb"}, "/a%2Fb"},
		{"inconsistent RawPath", &url.URL{Path: "/a", RawPath: "/b"}, "/a"},
		{"RawPath too short", &url.URL{Path: "/ab", RawPath: "/a"}, "/ab"},
		{"RawPath too long", &url.URL{Path: "/a", RawPath: "/ab"}, "/a"},
		{"bad escape in RawPath", &url.URL{Path: "/%zz", RawPath: "/%zz"}, "/%25zz"},
		{"escape cut short", &url.URL{Path: "/a%4", RawPath: "/a%4"}, "/a%254"},
		{"raw non-ASCII next to an encoded slash", mustParse(t, "http://h/é%2f"), "/é%2f"},
	}
	for _, tc := range tests {
		if got := Escaped(tc.u); got != tc.want {
			t.Errorf("%s: Escaped(%#v): got %q, want %q", tc.name, tc.u, got, tc.want)
		}
	}
	u := mustParse(t, "http://h/a%2Fb%7e")
	if n := testing.AllocsPerRun(100, func() { Escaped(u) }); n != 0 {
		t.Errorf("Escaped(%s): got %v allocations, want 0", u, n)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// FuzzAppendPathQuery checks that normalizing is idempotent, that the
// IsNormal shortcuts never skip a change, and that unescapesTo agrees with
// url.PathUnescape.
func FuzzAppendPathQuery(f *testing.F) {
	for _, s := range []string{"", "/", "/a/./b/../c", "/%2e%2E/x", "a", "/é%2f", "/100%", "/%zz", "/a%2", "/~%7E%7e"} {
		f.Add(s, "q=%7e+%2f&x")
	}
	f.Add("?", "") // a raw '?' in a path (url.Parse never makes one)
	f.Fuzz(func(t *testing.T, path, query string) {
		if once := AppendPathQuery(nil, path, query); !strings.Contains(path, "?") {
			p, q, _ := strings.Cut(string(once), "?")
			if twice := AppendPathQuery(nil, p, q); string(twice) != string(once) {
				t.Errorf("AppendPathQuery(%q, %q) = %q, but that normalizes to %q", path, query, once, twice)
			}
		}
		if IsNormalPath(path) && string(AppendPath(nil, path)) != path {
			t.Errorf("IsNormalPath(%q) is true, but AppendPath gives %q", path, AppendPath(nil, path))
		}
		if IsNormal(query) && string(AppendNormal(nil, query)) != query {
			t.Errorf("IsNormal(%q) is true, but AppendNormal gives %q", query, AppendNormal(nil, query))
		}
		dec, err := url.PathUnescape(path)
		for _, p := range []string{dec, query} {
			if got, want := unescapesTo(path, p), err == nil && dec == p; got != want {
				t.Errorf("unescapesTo(%q, %q): got %v, want %v", path, p, got, want)
			}
		}
	})
}

// FuzzStringIs checks that StringIs never says yes wrongly, and says yes
// for the URLs of the form it promises to recognize.
func FuzzStringIs(f *testing.F) {
	for _, s := range []string{"http://a.test/p/1", "https://a.test:8080/x?y=1&z", "http://a.test/?", "http://a.test",
		"HTTP://a.test/", "http://A.test/", "http://a.test/a b", "http://a.test/%41", "http://a.test/#f", "http://u@a.test/",
		"http://a.test/é", "http://[::1]:80/", "mailto:x@y", "/p", "//a.test/p", "http://a.test/p?q#", "http://a.test:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		want := u.String() == s
		if got := StringIs(u, s); got && !want {
			t.Errorf("StringIs(%q) is true, but String gives %q", s, u.String())
		}
		simple := u.Scheme != "" && u.Host != "" && u.User == nil && u.Fragment == "" && u.RawPath == ""
		for _, c := range []byte(u.Host) {
			simple = simple && (IsUnreserved(c) || c == ':')
		}
		for _, c := range []byte(u.Path) {
			simple = simple && (IsUnreserved(c) || c == '/')
		}
		if want && simple && (u.Path == "" || u.Path[0] == '/') && !StringIs(u, s) {
			t.Errorf("StringIs(%q) is false, but String gives it back", s)
		}
	})
}
