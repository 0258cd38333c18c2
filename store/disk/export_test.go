package disk

// FlushDisk writes d's committed changes from memory into sorted table
// files, for tests that damage those files.
func FlushDisk(d *Frontier) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.db.Flush()
}
