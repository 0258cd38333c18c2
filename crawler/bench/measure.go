package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// peakRSS returns the process's resident-set high-water mark (VmHWM in
// /proc/self/status) in bytes, or zero if it cannot be read.
func peakRSS() int64 {
	hwm, _ := rssStatus()
	return hwm
}

// rssStatus returns VmHWM and VmRSS from /proc/self/status, in bytes,
// zero where unknown. Both come from one read.
func rssStatus() (hwm, rss int64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		var dst *int64
		switch {
		case bytes.HasPrefix(line, []byte("VmHWM:")):
			dst = &hwm
		case bytes.HasPrefix(line, []byte("VmRSS:")):
			dst = &rss
		default:
			continue
		}
		f := bytes.Fields(line[bytes.IndexByte(line, ':')+1:])
		if len(f) != 2 || string(f[1]) != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
			*dst = n << 10
		}
	}
	return hwm, rss
}

// resetPeakRSS resets the high-water mark to the current RSS by writing
// "5" to /proc/self/clear_refs (Linux 4.0 and later) and reports whether
// that worked: right after a reset VmHWM equals VmRSS, give or take what
// moved between the two.
func resetPeakRSS() bool {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	_, werr := f.Write([]byte("5"))
	cerr := f.Close()
	if werr != nil || cerr != nil {
		return false
	}
	hwm, rss := rssStatus()
	const slack = 1 << 20
	return hwm > 0 && rss > 0 && hwm <= rss+slack
}
