package store

import "math/bits"

// fpSet is a set of 64-bit fingerprints: an open-addressing hash table with
// linear probing that uses the fingerprint itself as the hash (fingerprints
// are xxhash values, already uniform). It costs 8 bytes per slot at a load
// factor between 0.4 and 0.8, so 10 to 20 bytes per key, about half of a
// map[uint64]struct{}. The zero value is an empty set. fpSet is not safe
// for concurrent use.
type fpSet struct {
	slots   []uint64 // 0 marks a free slot; len is a power of two
	shift   uint     // 64 - log2(len(slots)): top bits index the table
	n       int      // keys in slots
	hasZero bool     // whether the fingerprint 0, which slots cannot hold, is in the set
}

// len returns the number of fingerprints in s.
func (s *fpSet) len() int {
	if s.hasZero {
		return s.n + 1
	}
	return s.n
}

// add inserts fp and reports whether it was not in s already.
func (s *fpSet) add(fp uint64) bool {
	if fp == 0 {
		added := !s.hasZero
		s.hasZero = true
		return added
	}
	if (s.n+1)*5 > len(s.slots)*4 { // keep the load factor <= 0.8
		s.grow()
	}
	mask := len(s.slots) - 1
	for i := int(fp >> s.shift); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case fp:
			return false
		case 0:
			s.slots[i] = fp
			s.n++
			return true
		}
	}
}

// has reports whether fp is in s.
func (s *fpSet) has(fp uint64) bool {
	if fp == 0 {
		return s.hasZero
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := len(s.slots) - 1
	for i := int(fp >> s.shift); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case fp:
			return true
		case 0:
			return false
		}
	}
}

// grow doubles the table (to 1024 slots at first) and re-inserts the keys.
func (s *fpSet) grow() {
	size := max(2*len(s.slots), 1024)
	old := s.slots
	s.slots = make([]uint64, size)
	s.shift = uint(64 - bits.TrailingZeros(uint(size)))
	mask := size - 1
	for _, fp := range old {
		if fp == 0 {
			continue
		}
		i := int(fp >> s.shift)
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = fp
	}
}
