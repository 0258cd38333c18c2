package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
)

// This file wires the crawl's log (crawler.Config.Logger) to the command
// line: --log FILE, --log-format and -v. Where the lines go:
//
//   - to the --log file when one is given, whatever -q says;
//   - else to stderr when stderr is not a terminal (a service, a pipe,
//     cron), unless -q;
//   - else nowhere: a terminal belongs to the progress line.

// logOptions are the log flags.
type logOptions struct {
	file    string // --log: append to this file
	format  string // --log-format: text or json
	verbose bool   // -v: Debug, one line per fetch
}

// addLogFlags defines the log flags on fs.
func addLogFlags(fs *pflag.FlagSet, o *logOptions) {
	fs.StringVar(&o.file, "log", "", "append log lines to `FILE` (created if missing; its folder must exist). Without --log, logs go to stderr when it is not a terminal (and not -q); on a terminal, which the progress line owns, there are none")
	fs.StringVar(&o.format, "log-format", "text", "log line `FORMAT`: text (key=value) or json (one object per line)")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log at debug level: one line per fetch (by default: errors, retries, back-offs, start and end)")
}

// check refuses a --log-format other than text or json.
func (o logOptions) check() error {
	switch o.format {
	case "text", "json":
		return nil
	}
	return fmt.Errorf("--log-format %q: want text or json", o.format)
}

// openLog returns the crawl's logger and the function that closes its
// file: the --log file, opened to append and created if missing; else
// stderr when it is not a terminal and quiet is not set; else nil, for no
// logs (the crawler then logs nowhere).
func openLog(o logOptions, quiet bool, stderr io.Writer) (*slog.Logger, func() error, error) {
	noClose := func() error { return nil }
	var w io.Writer
	closeLog := noClose
	switch {
	case o.file != "":
		f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, noClose, fmt.Errorf("--log %s: %v", o.file, innermost(err))
		}
		w, closeLog = f, f.Close
	case !quiet && !isTerminal(stderr):
		w = stderr
	default:
		return nil, noClose, nil
	}
	return slog.New(logHandler(w, o)), closeLog, nil
}

// logHandler is the slog handler of the log flags, writing to w: Info, or
// Debug with -v.
func logHandler(w io.Writer, o logOptions) slog.Handler {
	ho := &slog.HandlerOptions{Level: slog.LevelInfo}
	if o.verbose {
		ho.Level = slog.LevelDebug
	}
	if o.format == "json" {
		return slog.NewJSONHandler(w, ho)
	}
	return slog.NewTextHandler(w, ho)
}
