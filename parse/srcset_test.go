package parse

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// srcsetURLs returns the URLs srcsetNext finds in v, read as a string and
// as a []byte; it reports a difference between the two as a URL.
func srcsetURLs(v string) []string {
	var out []string
	b := []byte(v)
	for u, next, ok := srcsetNext(v, 0); ok; u, next, ok = srcsetNext(v, next) {
		out = append(out, u)
	}
	var fromBytes []string
	for u, next, ok := srcsetNext(b, 0); ok; u, next, ok = srcsetNext(b, next) {
		fromBytes = append(fromBytes, string(u))
	}
	if !reflect.DeepEqual(out, fromBytes) {
		return append(out, "bytes differ: "+strings.Join(fromBytes, " | "))
	}
	return out
}

var srcsetTests = []struct {
	in   string
	want []string
}{
	{"", nil},
	{"  ,, ", nil},
	{"a.png", []string{"a.png"}},
	{"a.png 1x", []string{"a.png"}},
	{"a.png 1x, b.png 2x", []string{"a.png", "b.png"}},
	{"a.png 100w,b.png 200w", []string{"a.png", "b.png"}},
	{"  a.png\t1.5x ,\n b.png  ", []string{"a.png", "b.png"}},
	// Commas: inside a URL they stay, trailing ones end it.
	{"a,b.png 1x, c.png", []string{"a,b.png", "c.png"}},
	{"a.png,, b.png,", []string{"a.png", "b.png"}},
	{"data:image/png;base64,AAAA 1x, b.png 2x", []string{"data:image/png;base64,AAAA", "b.png"}},
	{"a.png 1x,b.png", []string{"a.png", "b.png"}},
	{",a.png", []string{"a.png"}},
	// Descriptors with parentheses may hold commas and spaces.
	{"a.png (x, y) 1x, b.png", []string{"b.png"}}, // "(x," and "y)" are not valid descriptors
	{"a.png 1x (a, b), c.png", []string{"c.png"}},
	{"a.png foo(1,2)x", nil},
	{"a.png (", nil},
	// Valid descriptors.
	{"a.png 1x 100h", nil},
	{"a.png 100w 50h", []string{"a.png"}},
	{"a.png 50h", nil},
	{"a.png .5x", []string{"a.png"}},
	{"a.png 1e2x", []string{"a.png"}},
	{"a.png 1.5e-1x", []string{"a.png"}},
	{"a.png 0x", []string{"a.png"}},
	{"a.png -0x", []string{"a.png"}},
	{"a.png -0.0e5x", []string{"a.png"}},
	{"a.png -1e-400x", []string{"a.png"}}, // rounds to zero
	// Invalid descriptors drop the candidate.
	{"a.png -1x, b.png", []string{"b.png"}},
	{"a.png 0w, b.png", []string{"b.png"}},
	{"a.png 00w, b.png 0h 10w", []string{}},
	{"a.png 1x 2x", nil},
	{"a.png 100w 1x", nil},
	{"a.png 100w 200w", nil},
	{"a.png 1X", nil},
	{"a.png 1.x", nil},
	{"a.png +1x", nil},
	{"a.png 1e", nil},
	{"a.png x", nil},
	{"a.png w", nil},
	{"a.png 10", nil},
	{"a.png 1x foo", nil},
	{"a.png 1.5w", nil},
}

func TestSrcset(t *testing.T) {
	for _, tc := range srcsetTests {
		got := srcsetURLs(tc.in)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("srcset %q: got %q, want %q", tc.in, got, tc.want)
		}
		if ref := referenceSrcset(tc.in); !reflect.DeepEqual(ref, tc.want) && (len(ref) != 0 || len(tc.want) != 0) {
			t.Errorf("srcset %q: the reference gives %q, want %q", tc.in, ref, tc.want)
		}
	}
}

// FuzzSrcset holds srcsetNext to referenceSrcset, a transcription of the
// standard's steps, on strings and []byte alike.
func FuzzSrcset(f *testing.F) {
	for _, tc := range srcsetTests {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, want := srcsetURLs(in), referenceSrcset(in)
		if len(got) == 0 && len(want) == 0 {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("srcset %q: got %q, want %q", in, got, want)
		}
	})
}

// referenceSrcset is the HTML standard's "parse a srcset attribute",
// step by step, collecting descriptors as strings and checking them with
// strconv and regular string functions.
func referenceSrcset(input string) []string {
	isSpace := func(c byte) bool { return strings.IndexByte("\t\n\f\r ", c) >= 0 }
	var candidates []string
	pos := 0
	for {
		// 4. Splitting loop.
		for pos < len(input) && (isSpace(input[pos]) || input[pos] == ',') {
			pos++
		}
		// 5.
		if pos >= len(input) {
			return candidates
		}
		// 6.
		start := pos
		for pos < len(input) && !isSpace(input[pos]) {
			pos++
		}
		url := input[start:pos]
		// 7, 8.
		var descriptors []string
		if strings.HasSuffix(url, ",") {
			url = strings.TrimRight(url, ",")
		} else {
			for pos < len(input) && isSpace(input[pos]) {
				pos++
			}
			current := ""
			state := "in descriptor"
		tokenizer:
			for {
				if pos >= len(input) {
					if state == "in descriptor" && current != "" || state == "in parens" {
						descriptors = append(descriptors, current)
					}
					break
				}
				c := input[pos]
				switch state {
				case "in descriptor":
					switch {
					case isSpace(c):
						if current != "" {
							descriptors = append(descriptors, current)
							current = ""
						}
						state = "after descriptor"
					case c == ',':
						pos++
						if current != "" {
							descriptors = append(descriptors, current)
						}
						break tokenizer
					case c == '(':
						current += string(c)
						state = "in parens"
					default:
						current += string(c)
					}
				case "in parens":
					current += string(c)
					if c == ')' {
						state = "in descriptor"
					}
				case "after descriptor":
					if !isSpace(c) {
						state = "in descriptor"
						pos--
					}
				}
				pos++
			}
		}
		// 9. Descriptor parser.
		bad := false
		var width, density, height bool
		digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
		for _, d := range descriptors {
			last, num := d[len(d)-1], d[:len(d)-1]
			switch {
			case last == 'w' && digits(num):
				bad = bad || width || density || strings.Trim(num, "0") == ""
				width = true
			case last == 'x' && validFloat(num):
				v, _ := strconv.ParseFloat(num, 64)
				bad = bad || width || density || height || v < 0
				density = true
			case last == 'h' && digits(num):
				bad = bad || height || density || strings.Trim(num, "0") == ""
				height = true
			default:
				bad = true
			}
		}
		if height && !width {
			bad = true
		}
		if !bad {
			candidates = append(candidates, url)
		}
	}
}

// validFloat reports whether s is a valid floating-point number (HTML
// §2.3.4.3), checked by cutting it into its parts.
func validFloat(s string) bool {
	s = strings.TrimPrefix(s, "-")
	mant, exp, hasExp := strings.Cut(strings.ReplaceAll(s, "E", "e"), "e")
	if strings.Count(s, "e")+strings.Count(s, "E") > 1 {
		return false
	}
	if hasExp {
		exp = strings.TrimLeft(exp, "+-")
		if len(exp) == 0 || strings.Trim(exp, "0123456789") != "" || strings.Count(s, "+")+strings.Count(s, "-") > 1 {
			return false
		}
	} else if strings.ContainsAny(s, "+-") {
		return false
	}
	intPart, frac, hasFrac := strings.Cut(mant, ".")
	if strings.Trim(intPart, "0123456789") != "" || hasFrac && (frac == "" || strings.Trim(frac, "0123456789") != "") {
		return false
	}
	return intPart != "" || hasFrac
}
