//go:build !unix

package bench

import "time"

// cpuTime returns zero: getrusage is not available here.
func cpuTime() time.Duration { return 0 }
