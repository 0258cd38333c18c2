package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"trawl/crawler"
	"trawl/store"
	"trawl/store/disk"
)

// Exit codes. A crawl that ran exits exitOK, exitNothing, exitFailure (the
// output or the state failed under it) or 128 + the signal that stopped
// it; a start that was refused exits exitUsage when the command must
// change, exitFailure when the disk or another process is in the way.
const (
	exitOK          = 0
	exitFailure     = 1 // an I/O error: output or state, or a state in use
	exitUsage       = 2 // bad flags or URLs; a folder missing; a --state of another crawl or output
	exitNothing     = 3 // the crawl ran and fetched nothing: every seed failed or was skipped
	exitInterrupted = 130
	exitTerminated  = 143
)

// stateOpenError is the failure to open the --state directory.
type stateOpenError struct {
	dir string
	err error
}

func (e *stateOpenError) Error() string { return e.err.Error() }
func (e *stateOpenError) Unwrap() error { return e.err }

// openFrontier is openState whose failures say they are the state's.
func openFrontier(dir string) func(store.FrontierOptions) (crawler.Frontier, error) {
	open := openState(dir)
	return func(o store.FrontierOptions) (crawler.Frontier, error) {
		f, err := open(o)
		if err != nil {
			return nil, &stateOpenError{dir: dir, err: err}
		}
		return f, nil
	}
}

// explainRefusal prints why a crawl could not start, in the command's
// words and with the fix, and returns the exit code: exitUsage when the
// command must change, exitFailure for the disk or another process.
func explainRefusal(w io.Writer, err error, opts *options) int {
	var mismatch *crawler.MismatchError
	var stateErr *stateOpenError
	switch {
	case errors.As(err, &mismatch):
		printMismatch(w, mismatch, "--state "+opts.state, "--state DIR")
		return exitUsage
	case errors.Is(err, crawler.ErrOutputMoved):
		if saved := savedStatus(opts.state).OutputName; saved != "" {
			fmt.Fprintf(w, "trawl: --state %s was written with -o %s, not %s: resume with -o %s, or give a new --state DIR to start a new crawl\n",
				opts.state, saved, opts.output, saved)
		} else {
			fmt.Fprintf(w, "trawl: --state %s was written with another -o file: %s\n", opts.state, detailAfter(err, crawler.ErrOutputMoved))
		}
		return exitUsage
	case errors.Is(err, crawler.ErrOutputNotEmpty):
		size := ""
		if fi, serr := os.Stat(opts.output); serr == nil {
			size = fmt.Sprintf(" (%d bytes)", fi.Size())
		}
		fmt.Fprintf(w, "trawl: -o %s already holds data%s and --state %s is new: starting would empty it; use --overwrite to replace it, or give another -o FILE\n",
			opts.output, size, opts.state)
		return exitUsage
	case errors.Is(err, crawler.ErrArchiveNotEmpty):
		fmt.Fprintf(w, "trawl: --warc %s already holds records and --state %s is new: starting would delete them; use --overwrite to replace them, or give another --warc name\n",
			opts.warc, opts.state)
		return exitUsage
	case errors.Is(err, crawler.ErrArchiveMoved):
		fmt.Fprintf(w, "trawl: --state %s was written with another --warc name: %s\n", opts.state, detailAfter(err, crawler.ErrArchiveMoved))
		return exitUsage
	case errors.Is(err, disk.ErrLocked):
		who := "another trawl"
		if st := savedStatus(opts.state); st.PID > 0 && st.Running {
			who = fmt.Sprintf("another trawl (pid %d)", st.PID)
		}
		fmt.Fprintf(w, "trawl: --state %s is in use by %s: wait for it to end, or stop it first\n", opts.state, who)
		return exitFailure
	case errors.Is(err, disk.ErrIncompatible):
		fmt.Fprintf(w, "trawl: --state %s is not a trawl state directory (%s): give a new or empty folder\n", opts.state, detailAfter(err, disk.ErrIncompatible))
		return exitUsage
	case errors.Is(err, disk.ErrCorrupt):
		fmt.Fprintf(w, "trawl: --state %s is damaged (%s): start a new crawl with a new --state DIR\n", opts.state, detailAfter(err, disk.ErrCorrupt))
		return exitFailure
	case errors.Is(err, store.ErrOutputMismatch):
		fmt.Fprintf(w, "trawl: -o %s does not match --state %s (%s): was the file changed or replaced? Restore it, or start a new crawl with a new --state DIR\n",
			opts.output, opts.state, detailAfter(err, store.ErrOutputMismatch))
		return exitFailure
	case errors.As(err, &stateErr):
		fmt.Fprintf(w, "trawl: --state %s: %s\n", stateErr.dir, cleanError(stateErr.err))
		return exitFailure
	}
	fmt.Fprintf(w, "trawl: %s\n", cleanError(err))
	return exitFailure
}

// flagOf names the flag behind each setting a crawler.MismatchError lists.
var flagOf = map[string]string{
	"Seeds":      "seed URLs",
	"Scope":      "--scope",
	"Include":    "--include",
	"Exclude":    "--exclude",
	"MaxDepth":   "--depth",
	"MaxPages":   "--max-pages",
	"MaxPerHost": "--max-per-host",
}

// printMismatch prints the settings in which the saved crawl and the
// command differ, side by side, and the fix. where names the crawl's
// place ("--state DIR", "--crawl NAME"), and fresh the flag that would
// start a new one.
func printMismatch(w io.Writer, e *crawler.MismatchError, where, fresh string) {
	fmt.Fprintf(w, "trawl: %s holds another crawl; these settings differ:\n", where)
	rows := make([][3]string, 0, len(e.Diffs)+1)
	rows = append(rows, [3]string{"", "saved", "this command"})
	for _, d := range e.Diffs {
		name := flagOf[d.Name]
		if name == "" {
			name = d.Name
		}
		rows = append(rows, [3]string{name, shorten(d.Saved), shorten(d.Now)})
	}
	var width [2]int
	for _, r := range rows {
		width[0], width[1] = max(width[0], len(r[0])), max(width[1], len(r[1]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %-*s  %s\n", width[0], r[0], width[1], r[1], r[2])
	}
	fmt.Fprintf(w, "trawl: run the command that started it, add --resume-anyway to continue it with these settings, or give a new %s\n", fresh)
}

// shorten cuts a long setting (a list of seeds) for a line.
func shorten(s string) string {
	const most = 60
	if len(s) <= most {
		return s
	}
	return s[:most-1] + "…"
}

// savedStatus reads what the crawl holding, or last holding, the state
// published about itself; the zero Status if nothing.
func savedStatus(dir string) crawler.Status {
	var st crawler.Status
	if data, err := disk.ReadStatus(dir); err == nil {
		_ = json.Unmarshal(data, &st)
	}
	return st
}

// detailAfter returns what err's message says after sentinel's, the
// detail a wrapping layer added, or the cleaned message if it has none.
func detailAfter(err, sentinel error) string {
	msg, s := err.Error(), sentinel.Error()
	if i := strings.Index(msg, s); i >= 0 {
		if rest := strings.TrimLeft(msg[i+len(s):], ": ;"); rest != "" {
			return rest
		}
	}
	return cleanError(err)
}

// layerNames are the package and type prefixes of the library's errors:
// "crawler: sink: store: jsonl: write …" says "write …" to a user.
var layerNames = map[string]bool{"crawler": true, "store": true, "fetch": true, "disk": true, "jsonl": true, "csv": true}

// layerWords rename the operations of the library's errors in the
// command's words.
var layerWords = map[string]string{
	"sink": "output", "flush sink": "output", "write output": "output", "sync output": "output",
	"checkpoint": "save state", "flush state": "save state",
}

// cleanError returns err's message with each layer once: without the
// library's package prefixes, with its operations in the command's words
// and without a layer that repeats the next one's first word.
//
//	crawler: sink: store: jsonl: write: write /dev/full: no space left on device
//	output: write /dev/full: no space left on device
func cleanError(err error) string {
	parts := strings.Split(err.Error(), ": ")
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		if layerNames[p] {
			continue
		}
		if w, ok := layerWords[p]; ok {
			p = w
		}
		if i+1 < len(parts) && strings.HasPrefix(parts[i+1], p+" ") {
			continue // "write: write /dev/full"
		}
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}
