package disk

import (
	"encoding/binary"

	"trawl/parse"
	"trawl/store"
)

// Flags of a stored entry, in its first byte. A record written before a
// flag existed has it clear, so older records stay readable.
const (
	entrySameKey   = 1 << 0 // Key equals URL and is not stored
	entryRedirects = 1 << 1 // a Redirects varint follows Attempt
	entryKind      = 1 << 2 // a Kind byte follows Redirects
	entryFlags     = entrySameKey | entryRedirects | entryKind
)

// encodeEntry appends e's stored form to b: a flags byte, URL, Key unless
// it equals URL, Depth, Parent, Attempt, Redirects unless it is 0, and
// Kind, one byte, unless it is parse.KindPage (0). Host is in the key.
// A Kind that parse does not define is written too, but does not decode.
func encodeEntry(b []byte, e *store.Entry) []byte {
	same := e.Key == e.URL
	flags := byte(0)
	if same {
		flags |= entrySameKey
	}
	if e.Redirects != 0 {
		flags |= entryRedirects
	}
	if e.Kind != parse.KindPage {
		flags |= entryKind
	}
	b = append(b, flags)
	b = appendString(b, e.URL)
	if !same {
		b = appendString(b, e.Key)
	}
	b = binary.AppendVarint(b, int64(e.Depth))
	b = appendString(b, e.Parent)
	b = binary.AppendVarint(b, int64(e.Attempt))
	if flags&entryRedirects != 0 {
		b = binary.AppendVarint(b, int64(e.Redirects))
	}
	if flags&entryKind != 0 {
		b = append(b, byte(e.Kind))
	}
	return b
}

// decodeEntry decodes an entry of host stored by encodeEntry.
func decodeEntry(b []byte, host string) (store.Entry, error) {
	if len(b) == 0 || b[0]&^entryFlags != 0 {
		return store.Entry{}, corruptf("bad entry record")
	}
	flags := b[0]
	r := reader{b: b[1:]}
	e := store.Entry{Host: host}
	e.URL = r.string()
	if flags&entrySameKey != 0 {
		e.Key = e.URL
	} else {
		e.Key = r.string()
	}
	e.Depth = int(r.varint())
	e.Parent = r.string()
	e.Attempt = int(r.varint())
	if flags&entryRedirects != 0 {
		e.Redirects = int(r.varint())
	}
	if flags&entryKind != 0 {
		e.Kind = parse.Kind(r.byte())
		if !e.Kind.Valid() {
			return store.Entry{}, corruptf("bad entry record: unknown link kind %d", e.Kind)
		}
	}
	if r.err != nil || len(r.b) > 0 {
		return store.Entry{}, corruptf("bad entry record")
	}
	return e, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// reader decodes varints and strings; the first failure sticks in err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = ErrCorrupt
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = ErrCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = ErrCorrupt
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
