package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"trawl/fetch"
	"trawl/store"
)

// flushEvery is the longest a record waits in the sink's buffer before it
// reaches stdout or the -o file, so that "trawl URL | jq" and "tail -f"
// show records as URLs are decided. The sinks still buffer in between:
// a flush costs one write call however many records it carries.
const flushEvery = 200 * time.Millisecond

// flushLoop flushes f every period until ctx ends or a flush fails (the
// error is sticky in the sink, and the crawl reports it).
func flushLoop(ctx context.Context, f interface{ Flush() error }, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if f.Flush() != nil {
				return
			}
		}
	}
}

// checkPaths refuses an -o FILE, --state DIR, --warc FILE or --log FILE
// whose folder does not exist, and an -o that is a folder, before
// anything is created: none creates missing folders.
func checkPaths(output, state, warc, logFile string) error {
	for _, p := range []struct{ flag, path string }{{"-o", output}, {"--state", state}, {"--warc", warc}, {"--log", logFile}} {
		if p.path == "" || p.flag == "-o" && p.path == "-" {
			continue
		}
		dir := filepath.Dir(filepath.Clean(p.path))
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%s %s: folder %s does not exist (create it first)", p.flag, p.path, dir)
		case err != nil:
			return fmt.Errorf("%s %s: %v", p.flag, p.path, errors.Unwrap(err))
		case !fi.IsDir():
			return fmt.Errorf("%s %s: %s is not a folder", p.flag, p.path, dir)
		}
	}
	if fi, err := os.Stat(output); err == nil && fi.IsDir() && output != "-" {
		return fmt.Errorf("-o %s is a folder: give a file name", output)
	}
	return nil
}

// output is where the records go: stdout, a file, or with --state a
// store.File that the crawler syncs and cuts back.
type output struct {
	w       io.Writer
	path    string
	created bool     // this run created the file
	file    *os.File // for a plain -o file
	sfile   *store.File
	closed  bool
}

// openOutput opens the output: stdout for "" and "-", else the file at
// path, created or emptied; with syncable (--state) a store.File, which
// keeps its content for the crawler to check against the state.
func openOutput(path string, syncable bool, stdout io.Writer) (*output, error) {
	if path == "" || path == "-" {
		return &output{w: stdout}, nil
	}
	o := &output{path: path}
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		o.created = true
	}
	var err error
	if syncable {
		if o.sfile, err = store.OpenFile(path); err != nil {
			return nil, fmt.Errorf("-o %s: %v", path, innermost(err))
		}
		o.w = o.sfile
		return o, nil
	}
	if o.file, err = os.Create(path); err != nil {
		return nil, fmt.Errorf("-o %s: %v", path, innermost(err))
	}
	o.w = o.file
	return o, nil
}

// Sync makes a plain output file durable; a --state output is synced by
// the crawler at its checkpoints. A device or a pipe (-o /dev/null) is
// not synced: it cannot be.
func (o *output) Sync() error {
	if o.file == nil || o.closed {
		return nil
	}
	if fi, err := o.file.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return o.file.Sync()
}

// Close closes the file, if any.
func (o *output) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	switch {
	case o.file != nil:
		return o.file.Close()
	case o.sfile != nil:
		return o.sfile.Close()
	}
	return nil
}

// discard removes the output file if this run created it: for a run that
// failed, or was refused, before it wrote a record. A file that was there
// before is left as it is.
func (o *output) discard() {
	if !o.created {
		return
	}
	o.Close()
	os.Remove(o.path)
	o.created = false
}

// innermost returns the innermost error of err's chain that still says
// what happened: the *fs.PathError if there is one ("open /x/y: permission
// denied"), else the last wrapped error.
func innermost(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// openArchive opens the WARC files of --warc, or returns nil without it.
// Without --state the archive starts anew, as -o does; with it, the
// crawler cuts it back to the saved crawl's last checkpoint, or refuses
// to cut an archive that holds data for a new crawl unless --overwrite.
func openArchive(opts *options) (*store.WARC, error) {
	if opts.warc == "" {
		return nil, nil
	}
	wo := opts.warcOpts
	wo.Software = "trawl/" + version
	robots := "obey"
	if opts.cfg.IgnoreRobots {
		robots = "ignore"
	}
	wo.Info = append(wo.Info, [2]string{"robots", robots},
		[2]string{"http-header-user-agent", cmp.Or(opts.cfg.UserAgent, fetch.DefaultUserAgent)})
	w, err := store.OpenWARC(opts.warc, wo)
	if err != nil {
		return nil, fmt.Errorf("--warc %s: %v", opts.warc, innermost(err))
	}
	if opts.state == "" {
		if err := w.Rewind(store.WARCPos{}); err != nil {
			w.Close()
			return nil, fmt.Errorf("--warc %s: %v", opts.warc, innermost(err))
		}
	}
	return w, nil
}

// printArchive names the WARC files of the crawl in the summary.
func printArchive(w io.Writer, archive *store.WARC) {
	if archive == nil {
		return
	}
	files := archive.Files()
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	switch len(files) {
	case 0:
	case 1:
		fmt.Fprintf(w, "warc     %s (%s)\n", files[0], humanBytes(size))
	default:
		fmt.Fprintf(w, "warc     %s … %s (%d files, %s)\n", files[0], filepath.Base(files[len(files)-1]), len(files), humanBytes(size))
	}
}
