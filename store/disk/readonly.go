package disk

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// openReadOnly opens the lock file and the journal of a state for a
// read-only Frontier, creating neither: it takes the lock file's flock shared,
// so that read-only opens exclude read-write ones (a crawl in progress)
// but not each other, and reads the checkpoint witness. A state without a
// lock file or a journal (never written by a Frontier that made one) is read
// without it.
func (d *Frontier) openReadOnly() error {
	f, err := os.Open(filepath.Join(d.dir, lockName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("store: open state %s: %w", d.dir, err)
	default:
		if err := d.lockFrom(f, syscall.LOCK_SH); err != nil {
			return err
		}
	}
	d.journal, err = os.Open(filepath.Join(d.dir, journalName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.journal = nil
	case err != nil:
		d.closeFiles()
		return fmt.Errorf("store: open state %s: %w", d.dir, err)
	}
	return nil
}

// readOnlyFS is the file system Pebble gets for a read-only Frontier. Pebble's
// ReadOnly option turns off its writes (no flush after replaying the
// write-ahead log, no compactions, no OPTIONS file, no removal of
// obsolete files) but still locks the store through FS.Lock, which
// creates or truncates the LOCK file and takes an exclusive fcntl lock on
// it. readOnlyFS locks without writing, and refuses every call that would
// change the directory, so that no Pebble code path can do so unseen.
//
// The lock is a shared fcntl lock on LOCK opened read-only: it conflicts
// with the exclusive one of a Pebble that has the store open read-write
// in another process (reported as ErrLocked), and not with other readers.
// fcntl locks do not exclude their own process, and closing any
// descriptor of LOCK drops all of the process's locks on it; within one
// process, Disks exclude each other by the flock on trawl.lock, taken
// before Pebble opens.
type readOnlyFS struct {
	vfs.FS
}

// errFSReadOnly is what readOnlyFS returns for a call that would write.
var errFSReadOnly = errors.New("store: pebble tried to write to a state opened read-only")

func (readOnlyFS) Create(name string, _ vfs.DiskWriteCategory) (vfs.File, error) {
	return nil, &fs.PathError{Op: "create", Path: name, Err: errFSReadOnly}
}

func (readOnlyFS) Link(oldname, newname string) error {
	return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errFSReadOnly}
}

func (readOnlyFS) OpenReadWrite(name string, _ vfs.DiskWriteCategory, _ ...vfs.OpenOption) (vfs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: errFSReadOnly}
}

func (readOnlyFS) Remove(name string) error {
	return &fs.PathError{Op: "remove", Path: name, Err: errFSReadOnly}
}

func (readOnlyFS) RemoveAll(name string) error {
	return &fs.PathError{Op: "remove", Path: name, Err: errFSReadOnly}
}

func (readOnlyFS) Rename(oldname, newname string) error {
	return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: errFSReadOnly}
}

func (readOnlyFS) ReuseForWrite(oldname, newname string, _ vfs.DiskWriteCategory) (vfs.File, error) {
	return nil, &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: errFSReadOnly}
}

func (readOnlyFS) MkdirAll(dir string, _ os.FileMode) error {
	return &fs.PathError{Op: "mkdir", Path: dir, Err: errFSReadOnly}
}

// Lock takes a shared fcntl lock on name, which must exist, opened
// read-only. A lock held elsewhere is an error wrapping syscall.EAGAIN.
func (readOnlyFS) Lock(name string) (io.Closer, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	lk := syscall.Flock_t{Type: syscall.F_RDLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		f.Close()
		if errors.Is(err, syscall.EACCES) {
			err = syscall.EAGAIN // what POSIX allows instead
		}
		return nil, &fs.PathError{Op: "lock", Path: name, Err: err}
	}
	return f, nil
}

// Unwrap returns the file system readOnlyFS wraps.
func (fsys readOnlyFS) Unwrap() vfs.FS { return fsys.FS }
