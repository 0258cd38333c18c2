package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// LoadRobots returns the robots.txt body kept for origin and when it was
// fetched (see fetch.RobotsCache); ok is false if none is kept or the
// store has failed.
func (d *Frontier) LoadRobots(origin string) (body []byte, fetched time.Time, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.usable() != nil {
		return nil, time.Time{}, false
	}
	v, closer, err := d.batch.Get(append(append(d.kbuf[:0], 'b'), origin...))
	if err != nil {
		if !errors.Is(err, pebble.ErrNotFound) {
			_ = d.fail("read robots.txt", err) // sticky: every later call reports it
		}
		return nil, time.Time{}, false
	}
	defer closer.Close()
	if len(v) < 8 {
		_ = d.fail("read robots.txt", corruptf("bad robots.txt record of %q", origin))
		return nil, time.Time{}, false
	}
	return bytes.Clone(v[8:]), time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
}

// StoreRobots keeps origin's robots.txt body, fetched at fetched, with the
// next checkpoint (see fetch.RobotsCache).
func (d *Frontier) StoreRobots(origin string, body []byte, fetched time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writable(); err != nil {
		return err
	}
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(body)), uint64(fetched.UnixNano()))
	return d.set(append([]byte{'b'}, origin...), append(v, body...))
}
