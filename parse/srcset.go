package parse

import "strconv"

// srcsetNext reads the image candidates of a srcset attribute value v as
// the HTML standard's "parse a srcset attribute" algorithm does: the
// candidates are separated by commas, but a URL may itself hold commas
// (only its trailing ones end it), and its descriptors ("2x", "100w",
// "50h" and future ones with parentheses, which may hold commas too)
// follow it after white space. Starting at position pos, it returns the
// URL of the next valid candidate and the position to go on from; ok is
// false when no candidate is left. A candidate whose descriptors are not
// valid (an unknown one, "0w", "-1x", two densities, a width with a
// density, a height without a width) is left out, as browsers leave it
// out.
//
// Use it as
//
//	for u, next, ok := srcsetNext(v, 0); ok; u, next, ok = srcsetNext(v, next) {
//		...
//	}
func srcsetNext[T string | []byte](v T, pos int) (url T, next int, ok bool) {
	for {
		// Splitting loop: skip white space and commas.
		for pos < len(v) && (isASCIISpace(v[pos]) || v[pos] == ',') {
			pos++
		}
		if pos >= len(v) {
			return url, pos, false
		}
		start := pos
		for pos < len(v) && !isASCIISpace(v[pos]) {
			pos++
		}
		url = v[start:pos]
		var d srcsetDescriptors
		if url[len(url)-1] == ',' {
			// No descriptors: the trailing commas end the candidate.
			for url[len(url)-1] == ',' {
				url = url[:len(url)-1]
			}
		} else {
			pos = srcsetTokenize(&d, v, pos)
		}
		if d.valid() {
			return url, pos, true
		}
	}
}

// srcsetDescriptors is what the descriptors of one candidate say.
type srcsetDescriptors struct {
	width, density, height, invalid bool
}

// valid reports whether the descriptors give a candidate: the descriptor
// parser's last check, that a height comes with a width.
func (d *srcsetDescriptors) valid() bool {
	return !d.invalid && (!d.height || d.width)
}

// Descriptor tokenizer states.
const (
	inDescriptor = iota
	inParens
	afterDescriptor
)

// srcsetTokenize runs the descriptor tokenizer on v from pos, just after a
// URL, up to and including the comma that ends the candidate (or to the
// end of v), parsing each descriptor into d as it ends. It returns the
// position after it.
func srcsetTokenize[T string | []byte](d *srcsetDescriptors, v T, pos int) int {
	pos = skipSpaceT(v, pos)
	state := inDescriptor
	start := pos // of the current descriptor
	for ; ; pos++ {
		if pos >= len(v) {
			if state != afterDescriptor && pos > start {
				srcsetDescriptor(d, v[start:pos])
			}
			return pos
		}
		c := v[pos]
		switch state {
		case inDescriptor:
			switch {
			case isASCIISpace(c):
				if pos > start {
					srcsetDescriptor(d, v[start:pos])
				}
				state = afterDescriptor
			case c == ',':
				if pos > start {
					srcsetDescriptor(d, v[start:pos])
				}
				return pos + 1
			case c == '(':
				state = inParens
			}
		case inParens:
			if c == ')' {
				state = inDescriptor
			}
		case afterDescriptor:
			if !isASCIISpace(c) {
				state = inDescriptor
				start = pos
				pos--
			}
		}
	}
}

// srcsetDescriptor parses one descriptor into d (the descriptor parser's
// loop body).
func srcsetDescriptor[T string | []byte](d *srcsetDescriptors, desc T) {
	num, last := desc[:len(desc)-1], desc[len(desc)-1]
	switch {
	case last == 'w' && isDigits(num):
		if d.width || d.density || allZero(num) {
			d.invalid = true
		}
		d.width = true
	case last == 'x' && isFloat(num):
		if d.width || d.density || d.height || negative(num) {
			d.invalid = true
		}
		d.density = true
	case last == 'h' && isDigits(num):
		if d.height || d.density || allZero(num) {
			d.invalid = true
		}
		d.height = true
	default:
		d.invalid = true
	}
}

// isDigits reports whether v is a valid non-negative integer: one or more
// ASCII digits.
func isDigits[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return len(v) > 0
}

func allZero[T string | []byte](v T) bool {
	for i := 0; i < len(v); i++ {
		if v[i] != '0' {
			return false
		}
	}
	return true
}

// isFloat reports whether v is a valid floating-point number: an optional
// '-', digits with an optional fraction or a fraction alone, and an
// optional exponent.
func isFloat[T string | []byte](v T) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	digits := 0
	for ; i < len(v) && '0' <= v[i] && v[i] <= '9'; i++ {
		digits++
	}
	if i < len(v) && v[i] == '.' {
		i++
		frac := 0
		for ; i < len(v) && '0' <= v[i] && v[i] <= '9'; i++ {
			frac++
		}
		if frac == 0 {
			return false
		}
		digits += frac
	}
	if digits == 0 {
		return false
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '-' || v[i] == '+') {
			i++
		}
		exp := 0
		for ; i < len(v) && '0' <= v[i] && v[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(v)
}

// negative reports whether the valid floating-point number v is less than
// zero once rounded to a double, as the rules for parsing floating-point
// number values give it (a negative number too small for a double rounds
// to zero).
func negative[T string | []byte](v T) bool {
	if len(v) == 0 || v[0] != '-' {
		return false
	}
	for i := 1; i < len(v) && v[i] != 'e' && v[i] != 'E'; i++ {
		if '1' <= v[i] && v[i] <= '9' {
			f, _ := strconv.ParseFloat(string(v), 64) // rare: no need to spare the copy
			return f < 0
		}
	}
	return false
}
