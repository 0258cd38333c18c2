package store

// FlushDisk writes d's committed changes from memory into sorted table
// files, for tests that damage those files.
func FlushDisk(d *Disk) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Flush()
}
