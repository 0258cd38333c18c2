// Package proctree measures a process and the processes it started, from
// Linux's /proc: which they are (Descendants), how much memory they hold
// (PSS) and how much CPU time they used (CPUTime). Tests and benchmarks use it to find and weigh the browser
// that a Renderer starts, with its zygote, GPU and renderer processes.
//
// Memory is the proportional set size (PSS): a process's private pages
// plus its share of the pages it shares with others, so that summing it
// over a tree of processes that share libraries and memory counts each
// page once.
//
// Elsewhere than Linux (no /proc), every function returns zero or
// nothing. Processes come and go while /proc is read: one that exits
// meanwhile is left out. Every function is safe for concurrent use.
package proctree

import (
	"bufio"
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// statFields returns the fields of /proc/pid/stat after the command name:
// field 3 (state) is the first, at index 0. comm may hold spaces and
// parentheses, so the fields start after the last ')'.
func statFields(stat []byte) []string {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(stat[i+1:]))
}

// parents returns the parent of every process in /proc, by pid.
func parents() map[int]int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	parent := make(map[int]int, len(entries))
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		if f := statFields(stat); len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil {
				parent[p] = pp
			}
		}
	}
	return parent
}

// Descendants returns the processes that descend from pid (its children,
// their children, ...), pid excluded, in increasing order. It returns nil
// when there are none or /proc cannot be read.
func Descendants(pid int) []int {
	parent := parents()
	var out []int
	for p := range parent {
		if p != pid && descends(parent, p, pid) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// descends reports whether p is pid or one of its descendants.
func descends(parent map[int]int, p, pid int) bool {
	for range len(parent) + 1 { // bounded, should /proc show a cycle
		if p == pid {
			return true
		}
		pp, ok := parent[p]
		if !ok || p <= 1 {
			return false
		}
		p = pp
	}
	return false
}

// OwnPSS returns the proportional set size of the process pid alone, in
// bytes, or zero when it cannot be read (no such process, no /proc).
func OwnPSS(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "Pss:            1234 kB"; Pss_Anon, Pss_File, ... follow.
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "Pss:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// PSS returns the proportional set size, in bytes, of the process pid and
// its descendants together, or zero when /proc cannot be read.
func PSS(pid int) int64 {
	total := OwnPSS(pid)
	for _, p := range Descendants(pid) {
		total += OwnPSS(p)
	}
	return total
}

// DescendantsPSS returns the proportional set size, in bytes, of the
// descendants of pid, without pid itself: for a test process, that of the
// programs it started (a browser and its helpers).
func DescendantsPSS(pid int) int64 {
	var total int64
	for _, p := range Descendants(pid) {
		total += OwnPSS(p)
	}
	return total
}

// clockTick is the unit of the CPU times of /proc/pid/stat, USER_HZ:
// 100 Hz on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// CPUTime returns the CPU time, user and system, that the process pid has
// used so far (not that of its children), or zero when it cannot be read.
func CPUTime(pid int) time.Duration {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields 14 and 15, utime and stime, are at indices 11 and 12.
	f := statFields(stat)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * clockTick
}
