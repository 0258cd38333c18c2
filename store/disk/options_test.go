package disk_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"trawl/store"
	"trawl/store/disk"
	"trawl/store/storetest"
)

// TestDiskConformanceCachesOff runs the suite with every cache that can
// be off turned off (-1): the block cache, the queue-head cache (one
// entry per host left) and the seen cache. They make a Frontier faster,
// never different.
func TestDiskConformanceCachesOff(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts store.FrontierOptions) storetest.Frontier {
			d, err := disk.Open(t.TempDir(), disk.Options{FrontierOptions: opts, CacheSize: -1, HeadCache: -1, SeenCache: -1})
			if err != nil {
				t.Fatalf("OpenDisk: %v", err)
			}
			t.Cleanup(func() { d.Close() })
			return d
		},
	})
}

// TestDiskMemTableSizeNegative checks that Open refuses a negative
// MemTableSize, which cannot mean off, before it touches the directory.
func TestDiskMemTableSizeNegative(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d, err := disk.Open(dir, disk.Options{MemTableSize: -1})
	if err == nil {
		d.Close()
		t.Fatal("Open with MemTableSize -1 succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "MemTableSize -1") || !strings.Contains(err.Error(), dir) {
		t.Errorf("got %v, want an error naming MemTableSize -1 and %s", err, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Open created %s: Stat = %v", dir, err)
	}
}
