package sched

import (
	"math"
	"time"
)

// Never is the nanosecond time that sorts before every real time: "no
// constraint" for next-allowed times and not-before times.
const Never = math.MinInt64

// Nanos converts t to Unix nanoseconds, clamped to the int64 range; the
// zero time is Never.
func Nanos(t time.Time) int64 {
	switch {
	case t.IsZero() || t.Year() < 1678:
		return Never
	case t.Year() > 2261:
		return math.MaxInt64
	}
	return t.UnixNano()
}
