package crawler

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"unicode/utf8"
)

// maxSeedLine is the longest seed list line ReadSeeds reads, not counting
// its comment.
const maxSeedLine = 1 << 20

// maxSeedErrorText is how much of a bad line SeedError.Error quotes.
const maxSeedErrorText = 200

var (
	errNotHTTP  = errors.New("want an http:// or https:// URL")
	errNoHost   = errors.New("no host")
	errLongSeed = fmt.Errorf("line longer than %d bytes", maxSeedLine)
	// errSpacedSeed: two URLs on a line, or a note without its '#'.
	errSpacedSeed = errors.New("a space inside: one URL per line, with a space written %20")
)

// SeedError is a line of a seed list that is not a seed.
type SeedError struct {
	// Line is the line's number, from 1.
	Line int
	// Text is the line, trimmed and without its comment; for a line too
	// long to read, its first 200 bytes (fewer, not to split a character).
	Text string
	// Err says what is wrong with Text: CheckSeed's reason, without the
	// URL, or that the line is longer than 1 MiB.
	Err error
}

// Error returns the error on one line, such as
// `line 7: "ftp://x": want an http:// or https:// URL`, with Text, and the
// reason (url.Parse's may quote part of the line), cut to 200 bytes.
func (e SeedError) Error() string {
	text, cut := cutText(e.Text)
	if errors.Is(e.Err, errLongSeed) {
		cut = "..."
	}
	why, whyCut := cutText(fmt.Sprint(e.Err))
	return fmt.Sprintf("line %d: %q%s: %s%s", e.Line, text, cut, why, whyCut)
}

// cutText returns s cut to at most maxSeedErrorText bytes on a character
// boundary, and "..." if it was cut.
func cutText(s string) (string, string) {
	if len(s) <= maxSeedErrorText {
		return s, ""
	}
	n := maxSeedErrorText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], "..."
}

// Unwrap returns e.Err.
func (e SeedError) Unwrap() error { return e.Err }

// ReadSeeds reads a seed list: one URL per line. Blank lines and lines
// starting with '#' (after leading spaces) are skipped, as is a comment
// after " #" (a space or tab, then '#'; a '#' after anything else belongs
// to the URL, as its fragment). Leading and trailing white space is
// trimmed (Unicode's, as strings.TrimSpace does), a
// UTF-8 byte order mark at the start is ignored, and lines may end in
// "\n" or "\r\n".
//
// Each remaining line must pass CheckSeed, hold no space or tab (a seed
// list has one URL per line), and be at most 1 MiB long:
// those that do are seeds, kept in order (duplicates too: the frontier
// removes them); the others are returned in bad, with their line numbers,
// and reading goes on. err is only a read error, wrapped; the seeds and
// bad lines read before it are returned with it, but not the line it cut
// short.
func ReadSeeds(r io.Reader) (seeds []string, bad []SeedError, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		var dropped bool
		buf, dropped, err = readSeedLine(br, buf[:0])
		if err != nil && err != io.EOF {
			return seeds, bad, fmt.Errorf("crawler: read seeds: %w", err)
		}
		if err == io.EOF && len(buf) == 0 {
			return seeds, bad, nil
		}
		line := buf
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if !dropped {
			line = bytes.TrimSuffix(line, []byte("\n"))
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		long := dropped
		if i := seedComment(line); i >= 0 {
			line, long = line[:i], false
		}
		line = bytes.TrimSpace(line)
		switch {
		case long || len(line) > maxSeedLine:
			text, _ := cutText(string(line[:min(len(line), maxSeedErrorText+1)]))
			bad = append(bad, SeedError{Line: n, Text: text, Err: errLongSeed})
		case len(line) == 0:
		case bytes.ContainsAny(line, " \t"):
			// Two URLs on a line, or a note without its #: a URL
			// has no space (a path's own is written %20).
			text, _ := cutText(string(line))
			bad = append(bad, SeedError{Line: n, Text: text, Err: errSpacedSeed})
		default:
			s := string(line)
			if why := seedReason(s); why != nil {
				bad = append(bad, SeedError{Line: n, Text: s, Err: why})
			} else {
				seeds = append(seeds, s)
			}
		}
		if err == io.EOF {
			return seeds, bad, nil
		}
	}
}

// readSeedLine appends to buf the next line of br, with its line end,
// keeping at most maxSeedLine+2 bytes (room for "\r\n") and reading the
// rest of a longer one without keeping it; dropped reports that. At the
// end of input it returns io.EOF with the last line, if it does not end
// in "\n".
func readSeedLine(br *bufio.Reader, buf []byte) (line []byte, dropped bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		room := maxSeedLine + 2 - len(buf)
		if len(chunk) > room {
			chunk, dropped = chunk[:max(room, 0)], true
		}
		buf = append(buf, chunk...)
		if err != bufio.ErrBufferFull {
			return buf, dropped, err
		}
	}
}

// seedComment returns the index of the '#' that starts line's comment, or
// -1: a '#' at the start or after a space or tab.
func seedComment(line []byte) int {
	for i, c := range line {
		if c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// CheckSeed reports why s is not a seed: it must be an absolute http or
// https URL (the scheme in any case) with a host. The error reads
// `bad URL "ftp://x": want an http:// or https:// URL`, as the command
// line has always said; errors.Unwrap gives the reason alone, which is
// SeedError.Err for a line of a seed list.
func CheckSeed(s string) error {
	if why := seedReason(s); why != nil {
		return fmt.Errorf("bad URL %q: %w", s, why)
	}
	return nil
}

// seedReason returns why s is not a seed, or nil.
func seedReason(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		if why := errors.Unwrap(err); why != nil {
			return why // url.Parse's reason, without the quoted URL
		}
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return errNotHTTP
	}
	if u.Host == "" {
		return errNoHost
	}
	return nil
}
