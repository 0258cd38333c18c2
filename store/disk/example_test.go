package disk_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"trawl/store"
	"trawl/store/disk"
)

func ExampleOpen() {
	ctx := context.Background()
	tmp, _ := os.MkdirTemp("", "trawl-example")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "state")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := disk.Options{FrontierOptions: store.FrontierOptions{Now: func() time.Time { return now }}}

	d, err := disk.Open(dir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	added, _ := d.Push(ctx, []store.Entry{
		{URL: "http://a.test/1", Key: "http://a.test/1", Host: "a.test"},
		{URL: "http://a.test/2", Key: "http://a.test/2", Host: "a.test"},
	})
	leases, _, _ := d.Claim(ctx, 10)
	_ = d.Ack(ctx, leases[0], store.Outcome{Status: 200})
	// Commit the work done together with where the output stands.
	if err := d.Checkpoint(ctx, []byte(`{"output_offset":1234}`)); err != nil {
		fmt.Println(err)
	}
	_ = d.Close()
	fmt.Println("added", added, "acked", leases[0].URL)

	// Resume: the checkpoint is back.
	d, err = disk.Open(dir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()
	s, _ := d.Stats(ctx)
	fmt.Printf("meta %s, done %d, queued %d\n", d.Meta(), s.Done, s.Queued)
	// A reopened state spaces each host's first claim from the open time
	// (by DefaultInterval here, as the options leave Interval zero).
	now = now.Add(store.DefaultInterval)
	leases, _, _ = d.Claim(ctx, 10)
	fmt.Println("next", leases[0].URL)
	// Output:
	// added 2 acked http://a.test/1
	// meta {"output_offset":1234}, done 1, queued 1
	// next http://a.test/2
}
