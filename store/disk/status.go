package disk

import (
	"fmt"
	"os"
	"path/filepath"
)

// statusName is the file in the state directory that WriteStatus replaces
// and ReadStatus reads: what a running crawl publishes about itself.
const statusName = "status.json"

// WriteStatus replaces the state directory's status file with data: a
// temporary file is written and renamed over it, so a reader sees the old
// content or the new, never a mix. It is not synced and not part of the
// state: it describes the crawl for tools that look while it runs (see
// ReadStatus), which cannot open the state the crawl holds. A read-only
// Frontier returns ErrReadOnly.
func (d *Frontier) WriteStatus(data []byte) error {
	if d.readOnly {
		return ErrReadOnly
	}
	path := filepath.Join(d.dir, statusName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("disk: write status: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("disk: write status: %w", err)
	}
	return nil
}

// ReadStatus returns the content of the status file of the state
// directory dir, as the crawl that holds it last wrote it with
// WriteStatus. It takes no lock and opens no database, so it works while
// a crawl runs; the error wraps fs.ErrNotExist when there is none.
func ReadStatus(dir string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, statusName))
	if err != nil {
		return nil, fmt.Errorf("disk: read status: %w", err)
	}
	return data, nil
}
