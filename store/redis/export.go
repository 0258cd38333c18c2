package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"trawl/store"
)

// ErrOutputNotEmpty is returned by Export for an output that holds data
// although the crawl has nothing committed under its name: the data is
// not this crawl's export, and exporting after it would mix the two. The
// CLI's --overwrite empties the file first.
var ErrOutputNotEmpty = errors.New("redis: the output holds data that this crawl did not export; remove it or choose another output")

// The outbox's keys and names, shared with the frontier that fills it.
// Each stream entry has one field, exportField, holding the record as
// store.Record's MarshalJSON writes it.
const (
	exportGroup = "out" // the consumer group of every export
	exportField = "r"
)

// exportKeys are the keys of crawl that Export uses.
type exportKeys struct {
	stream  string // STREAM trawl:{CRAWL}:out, the outbox
	schema  string // STRING trawl:{CRAWL}:schema, SchemaVersion
	exports string // HASH trawl:{CRAWL}:exports, name → committed size
}

func newExportKeys(crawl string) exportKeys {
	p := crawlPrefix(crawl)
	return exportKeys{stream: p + "out", schema: p + "schema", exports: p + "exports"}
}

// Tuning of Export, variables so that tests can shorten them.
var (
	// exportBatch is how many records Export takes, writes and commits
	// at once.
	exportBatch int64 = 512
	// exportBlock is how long a read for new records waits on the server
	// while stop is open: it bounds how late a closed stop is noticed.
	exportBlock = 250 * time.Millisecond
	// exportPace is the least time between two reads of new records
	// while stop is open: records gather meanwhile, so that a crawl's
	// export syncs its output and commits a batch of them at a time
	// rather than one record at a time (each a fsync and a script).
	// Once stop is closed the export takes what is left at once.
	exportPace = 100 * time.Millisecond
	// exportMaxOutage is how long Export retries, with back-off, while
	// Redis cannot be reached, before it fails.
	exportMaxOutage = DefaultMaxOutage
	// exportFsyncWait is how long Export waits at its end, on a server
	// with AOF that lacks WAITAOF (Redis < 7.2), for its last commit to
	// reach the disk: longer than appendfsync everysec's period.
	exportFsyncWait = 2 * time.Second
	// exportMaxRefused bounds the commits in a row that the server
	// refuses (see commit) before Export gives up.
	exportMaxRefused = 16
	// exportAfterSync, if set, is called after each Sync of the output
	// and before the commit; an error makes Export return it, as if the
	// process died between the two (tests).
	exportAfterSync func() error
	// exportOnStart, if set, is called with the committed size each
	// start read (tests).
	exportOnStart func(committed int64)
	// exportOnOutage, if set, is called with each error that Export
	// retries after a back-off (tests).
	exportOnOutage func(err error)
)

// Export moves crawl's records from its outbox into out under name,
// exactly once across every output of the crawl. It first cuts out back
// to the size name last committed (so records written after that commit
// by a process that was then killed are dropped, to be taken again), then
// repeatedly takes records, writes them to out, syncs it and commits the
// records taken together with out's new size. It returns when ctx ends,
// or when stop is closed (nil: at once) and no record is left to take.
//
// # Protocol
//
// The outbox is the stream trawl:{CRAWL}:out; each entry's field "r" is
// a record's JSON. Exports read it through the consumer group "out", each
// under its name as consumer, and trawl:{CRAWL}:exports maps each name to
// the size of its output when it last committed. Export:
//
//  1. reads name's committed size. A name without one is new: its output
//     must be empty (else ErrOutputNotEmpty; a CSV's buffered header does
//     not count), and it is registered at 0 at once, so that a process
//     killed before its first commit finds its output its own again. The
//     output is cut back to the committed size (Rewind);
//  2. takes records delivered to name before but never committed (they
//     were just cut from the output), then new ones, in batches;
//  3. for each batch: puts the records into out, syncs it, and commits
//     in one script, which first checks that name's committed size is
//     still the one this export set and that every entry of the batch is
//     still pending for name, then acknowledges and deletes the entries
//     and sets the committed size to out's synced size.
//
// # Why exactly once
//
// A record is in an output's committed part exactly when its entry was
// acknowledged and deleted, because both change in one atomic script, and
// every output is cut back to its committed part before anything more is
// written to it. A process killed between Sync and commit leaves records
// past the committed size; they are still pending for its name, so the
// next Export under that name cuts them and takes them again.
//
// A Redis that loses the tail of its log (AOF with appendfsync everysec,
// the machine lost) loses a suffix of the commands it ran: a lost commit
// loses with it every later change, and never an earlier one. The acks
// of the URLs whose records a lost commit took are either kept (their
// entries come back, pending for name or not yet delivered to anyone) or
// lost with their entries (the URLs are fetched again and their new
// records appended). Either way the entries are in the outbox once more
// and the output must drop them: the next commit under name finds the
// committed size behind what this export set (or an entry no longer
// pending for name), is refused, and Export starts over from step 1,
// cutting the output back to what Redis remembers. An Export that lost
// its connection starts over from step 1 too. So nothing Redis forgot is
// in an output, and nothing it remembers is in two.
//
// The one window left is at the end: the last commit of an Export that
// has returned has no later commit to be refused. So before returning,
// Export makes sure its last commit is on the server's disk (WAITAOF,
// Redis 7.2 and later; on older servers with AOF it waits
// exportFsyncWait, longer than appendfsync everysec's period) and then
// checks that the server still holds it, starting over if not. Without
// AOF, a server that restarts forgets everything since its last snapshot
// and exactly once holds only as long as it does not.
//
// # Entries pending on another name
//
// Records delivered to an export that was then killed stay pending for
// its name: no other export takes them, since its output may hold them
// past its committed size. They are taken when an output is exported
// under that name again (the CLI's default name is the host and the
// output file's path, so running the same command again does it).
// Pending reports them, by name. Until then that output may hold, past
// its committed size, records that are also somewhere else (when Redis
// lost their delivery and another export took them): the outputs
// together hold each record exactly once in their committed parts, and
// so in whole once every output has been exported again after its last
// kill. The committed sizes are in trawl:{CRAWL}:exports.
//
// # Records
//
// Each record reaches out as store.Record decoded with encoding/json,
// but Data, which is the record's "data" JSON text as it was written (a
// json.RawMessage, or nil without data), so that out writes it again
// byte for byte: key order, large numbers and a null are kept.
//
// Only one process may export under a name at a time; a second one is
// detected when its commits find the committed size moved ahead of them,
// and makes Export fail. While Redis cannot be reached Export retries
// with back-off for up to DefaultMaxOutage, then fails. Errors from out
// and other errors from Redis are returned, wrapped with what failed.
func Export(ctx context.Context, c goredis.UniversalClient, crawl, name string, out store.Output, stop <-chan struct{}) error {
	if err := checkName(crawl); err != nil {
		return err
	}
	if name == "" {
		return errors.New("redis: export: the output needs a name")
	}
	e := &exporter{c: c, crawl: crawl, name: name, keys: newExportKeys(crawl), out: out}
	return e.run(ctx, stop)
}

// Pending returns, for each export name that has records delivered to it
// but not committed, how many: the records of an export that was killed
// (or is running), which wait for an output exported under that name
// again (see Export). A crawl that does not exist gives ErrNoCrawl.
func Pending(ctx context.Context, c goredis.UniversalClient, crawl string) (map[string]int64, error) {
	if err := checkName(crawl); err != nil {
		return nil, err
	}
	k := newExportKeys(crawl)
	if err := exportCheckSchema(ctx, c, crawl, k); err != nil {
		return nil, err
	}
	p, err := c.XPending(ctx, k.stream, exportGroup).Result()
	switch {
	case err != nil && strings.HasPrefix(err.Error(), "NOGROUP"):
		return map[string]int64{}, nil // nothing was ever exported
	case err != nil:
		return nil, fmt.Errorf("redis: pending records of crawl %s: %w", crawl, err)
	}
	m := make(map[string]int64, len(p.Consumers))
	for name, n := range p.Consumers {
		if n > 0 {
			m[name] = n
		}
	}
	return m, nil
}

// exporter is one call of Export.
type exporter struct {
	c     goredis.UniversalClient
	crawl string
	name  string
	keys  exportKeys
	out   store.Output

	started   bool      // step 1 has been done once: the output is this export's
	committed int64     // name's committed size, as this export last read or set it
	cursor    string    // "0", then the last pending entry taken, while taking pending entries; then ">"
	refused   int       // commits refused (or found lost at the end) in a row
	lastRead  time.Time // when the last read of new records that found some was sent
	pace      *time.Timer
}

// errExportRestart is returned by the steps of exporter.run to start over
// from step 1: a commit was refused.
var errExportRestart = errors.New("start over")

// run is Export's loop. Every error from Redis that says it could not be
// reached (exportTransient) is retried, after a back-off, by starting over
// from step 1, which is correct whatever the failed command did.
func (e *exporter) run(ctx context.Context, stop <-chan struct{}) error {
	var (
		outage  time.Time // when the current outage began; zero if none
		backoff time.Duration
		fresh   = true // run step 1 first
		ending  bool   // stop was closed and no new record came: check own pending once more
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		if fresh {
			err = e.start(ctx)
			if err == nil {
				fresh, ending = false, false
			}
		} else {
			var done bool
			done, err = e.step(ctx, stop, &ending)
			if err == nil && done {
				err = e.finish(ctx)
				if err == nil {
					return nil
				}
			}
		}
		switch {
		case err == nil:
			outage, backoff = time.Time{}, 0
			continue
		case errors.Is(err, errExportRestart):
			e.refused++
			if e.refused > exportMaxRefused {
				return fmt.Errorf("redis: export %s: the server refused %d commits in a row", e.name, e.refused)
			}
			fresh = true
			continue
		case ctx.Err() != nil:
			return ctx.Err()
		case !exportTransient(err):
			return err
		}
		if exportOnOutage != nil {
			exportOnOutage(err)
		}
		now := time.Now()
		if outage.IsZero() {
			outage = now
		}
		if now.Sub(outage) >= exportMaxOutage {
			return fmt.Errorf("redis: export %s: redis unreachable for %v: %w", e.name, now.Sub(outage).Round(time.Second), err)
		}
		backoff = min(max(2*backoff, 50*time.Millisecond), 2*time.Second)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		fresh = true
	}
}

// start is step 1: it checks the crawl, reads name's committed size
// (registering a new name) and cuts the output back to it. Only the first
// start refuses a new name's output that holds data: later ones run
// because Redis forgot something, and the output is this export's.
func (e *exporter) start(ctx context.Context) error {
	if err := exportCheckSchema(ctx, e.c, e.crawl, e.keys); err != nil {
		return err
	}
	err := e.c.XGroupCreateMkStream(ctx, e.keys.stream, exportGroup, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("redis: export %s: create consumer group: %w", e.name, err)
	}
	committed, err := e.c.HGet(ctx, e.keys.exports, e.name).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		if !e.started {
			size, err := exportOutputSize(e.out)
			if err != nil {
				return fmt.Errorf("redis: export %s: %w", e.name, err)
			}
			if size > 0 {
				return fmt.Errorf("%w: export %s is new and its output has %d bytes", ErrOutputNotEmpty, e.name, size)
			}
		}
		if err := e.c.HSetNX(ctx, e.keys.exports, e.name, 0).Err(); err != nil {
			return fmt.Errorf("redis: export %s: register: %w", e.name, err)
		}
		e.committed = 0
	case err != nil:
		return fmt.Errorf("redis: export %s: read committed size: %w", e.name, err)
	default:
		n, err := strconv.ParseInt(committed, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("redis: export %s: committed size %q is not a size", e.name, committed)
		}
		e.committed = n
	}
	e.started = true
	if exportOnStart != nil {
		exportOnStart(e.committed)
	}
	if err := e.out.Rewind(e.committed); err != nil {
		return fmt.Errorf("redis: export %s: cut the output back to its committed %d bytes: %w", e.name, e.committed, err)
	}
	e.cursor = "0"
	return nil
}

// step reads one batch and, if it is not empty, exports it (steps 2 and
// 3). It returns done when stop was closed before a read of new records
// that found none, and a read of name's pending records after it found
// none either.
func (e *exporter) step(ctx context.Context, stop <-chan struct{}, ending *bool) (done bool, err error) {
	stopped := exportClosed(stop)
	args := &goredis.XReadGroupArgs{
		Group:    exportGroup,
		Consumer: e.name,
		Streams:  []string{e.keys.stream, e.cursor},
		Count:    exportBatch,
		Block:    -1,
	}
	if e.cursor == ">" && !stopped {
		if !e.wait(ctx, stop) {
			return false, ctx.Err() // nil once stop is closed: step again
		}
		args.Block = exportBlock
	}
	readAt := time.Now()
	streams, err := e.c.XReadGroup(ctx, args).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return false, errExportRestart // the server forgot the group; start recreates it
		}
		return false, fmt.Errorf("redis: export %s: read: %w", e.name, err)
	}
	var msgs []goredis.XMessage
	if len(streams) > 0 {
		msgs = streams[0].Messages
	}
	if len(msgs) == 0 {
		if e.cursor != ">" {
			e.cursor = ">"
			return *ending, nil
		}
		if stopped {
			// A read whose reply was lost may have left records pending
			// for name: look once more before ending.
			*ending, e.cursor = true, "0"
		}
		return false, nil
	}
	*ending = false
	if e.cursor != ">" {
		e.cursor = msgs[len(msgs)-1].ID
	} else if int64(len(msgs)) < exportBatch {
		e.lastRead = readAt
	}
	return false, e.export(ctx, msgs)
}

// wait waits until exportPace has passed since the last read of new
// records that found fewer than a full batch. It returns false if ctx
// ended or stop was closed meanwhile.
func (e *exporter) wait(ctx context.Context, stop <-chan struct{}) bool {
	d := exportPace - time.Since(e.lastRead)
	if e.lastRead.IsZero() || d <= 0 {
		return true
	}
	if e.pace == nil {
		e.pace = time.NewTimer(d)
	} else {
		e.pace.Reset(d)
	}
	select {
	case <-e.pace.C:
		return true
	case <-stop:
	case <-ctx.Done():
	}
	e.pace.Stop()
	return false
}

// export is step 3 for one batch.
func (e *exporter) export(ctx context.Context, msgs []goredis.XMessage) error {
	ids := make([]any, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
		if m.Values == nil {
			continue // an entry deleted while pending: nothing to write
		}
		v, ok := m.Values[exportField].(string)
		if !ok {
			return fmt.Errorf("redis: export %s: outbox entry %s has no record", e.name, m.ID)
		}
		r, err := decodeExportRecord([]byte(v))
		if err != nil {
			return fmt.Errorf("redis: export %s: outbox entry %s: %w", e.name, m.ID, err)
		}
		if err := e.out.Put(ctx, r); err != nil {
			return fmt.Errorf("redis: export %s: %w", e.name, err)
		}
	}
	size, err := e.out.Sync()
	if err != nil {
		return fmt.Errorf("redis: export %s: %w", e.name, err)
	}
	if exportAfterSync != nil {
		if err := exportAfterSync(); err != nil {
			return err
		}
	}
	return e.commit(ctx, ids, size)
}

// exportCommit is step 3's commit. KEYS: stream, exports. ARGV: group,
// name, the committed size the export expects, the new size, then the
// batch's entry IDs in increasing order. It returns {"ok"}, {"moved",
// committed} when name's committed size is not the expected one, or
// {"lost"} when an entry is not pending for name.
var exportCommit = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[2], ARGV[2]) or ''
if cur ~= ARGV[3] then return {'moved', cur} end
local n = #ARGV - 4
if n > 0 then
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[5], ARGV[#ARGV], n + 1, ARGV[2])
  if #p ~= n then return {'lost'} end
  for i = 1, n do
    if p[i][1] ~= ARGV[4 + i] then return {'lost'} end
  end
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 5))
  redis.call('XDEL', KEYS[1], unpack(ARGV, 5))
end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
return {'ok'}
`)

// commit commits the batch ids, written to the output up to size. A
// refused commit is errExportRestart: the server forgot a commit or a
// delivery (or a lost reply made a client retry a commit that was done),
// and starting over cuts the output back to what the server holds. A
// committed size ahead of this export's, other than the one it tried to
// set, means that another process exports under the same name.
func (e *exporter) commit(ctx context.Context, ids []any, size int64) error {
	args := make([]any, 0, 4+len(ids))
	args = append(args, exportGroup, e.name, strconv.FormatInt(e.committed, 10), strconv.FormatInt(size, 10))
	args = append(args, ids...)
	res, err := exportCommit.Run(ctx, e.c, []string{e.keys.stream, e.keys.exports}, args...).StringSlice()
	if err != nil {
		return fmt.Errorf("redis: export %s: commit: %w", e.name, err)
	}
	switch {
	case len(res) == 1 && res[0] == "ok":
		e.committed, e.refused = size, 0
		return nil
	case len(res) == 2 && res[0] == "moved":
		cur, err := strconv.ParseInt(res[1], 10, 64)
		if err != nil || cur < e.committed || cur == size {
			return errExportRestart
		}
		return fmt.Errorf("redis: export %s: its committed size moved from %d to %d bytes: another process exports under the same name", e.name, e.committed, cur)
	case len(res) == 1 && res[0] == "lost":
		return errExportRestart
	}
	return fmt.Errorf("redis: export %s: commit: unexpected reply %q", e.name, res)
}

// exportVerify checks that name's committed size is ARGV[2] and, if so,
// sets it again: a write that WAITAOF then waits for, on the same
// connection. KEYS: exports. ARGV: name, size.
var exportVerify = goredis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// finish makes sure, before Export returns, that its last commit is on
// the server's disk and still held by it (see Export's "Why exactly
// once"); if the server lost it, finish returns errExportRestart.
func (e *exporter) finish(ctx context.Context) error {
	k := []string{e.keys.exports}
	size := strconv.FormatInt(e.committed, 10)
	var verify, wait *goredis.Cmd
	// The pipeline's error is that of a command, read below.
	_, _ = e.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		verify = exportVerify.Eval(ctx, p, k, e.name, size)
		wait = p.Do(ctx, "WAITAOF", 1, 0, 5000)
		return nil
	})
	if n, err := verify.Int(); err != nil {
		return fmt.Errorf("redis: export %s: verify last commit: %w", e.name, err)
	} else if n == 0 {
		return errExportRestart
	}
	werr := wait.Err()
	switch {
	case werr == nil:
		if n, _ := wait.Int64Slice(); len(n) == 0 || n[0] < 1 {
			return fmt.Errorf("redis: export %s: last commit not on disk after WAITAOF: %w", e.name, errExportNotDurable)
		}
		return nil
	case strings.Contains(werr.Error(), "appendonly is disabled"):
		return nil // no AOF: nothing to wait for
	case !strings.Contains(strings.ToLower(werr.Error()), "unknown command"):
		return fmt.Errorf("redis: export %s: wait for the last commit to reach disk: %w", e.name, werr)
	}
	// A server without WAITAOF: wait for everysec's fsync if it has AOF.
	info, err := e.c.Info(ctx, "persistence").Result()
	if err != nil || !strings.Contains(info, "aof_enabled:1") {
		return nil // miniredis, or no AOF
	}
	t := time.NewTimer(exportFsyncWait)
	select {
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	case <-t.C:
	}
	got, err := e.c.HGet(ctx, e.keys.exports, e.name).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("redis: export %s: verify last commit: %w", e.name, err)
	}
	if got != size {
		return errExportRestart
	}
	return nil
}

// errExportNotDurable is a commit that WAITAOF did not see reach the
// disk in time; it is retried as an outage.
var errExportNotDurable = errors.New("redis: not durable")

// exportOutputSize returns the size of what out holds. For an output
// with a file name (JSONL and CSV over a store.File, and Filters of them)
// it is the file's size, not counting what the output has buffered but
// not written: a new CSV has its header row buffered, which does not
// make its file hold data. Other outputs are synced for their size.
func exportOutputSize(out store.Output) (int64, error) {
	if n, ok := out.(interface{ Name() string }); ok && n.Name() != "" {
		if st, err := os.Stat(n.Name()); err == nil && st.Mode().IsRegular() {
			return st.Size(), nil
		}
	}
	return out.Sync()
}

// exportCheckSchema checks that crawl exists and has this trawl's schema.
func exportCheckSchema(ctx context.Context, c goredis.UniversalClient, crawl string, k exportKeys) error {
	v, err := c.Get(ctx, k.schema).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return fmt.Errorf("%w: %s", ErrNoCrawl, crawl)
	case err != nil:
		return fmt.Errorf("redis: crawl %s: read schema: %w", crawl, err)
	case v != strconv.Itoa(SchemaVersion):
		return fmt.Errorf("%w: crawl %s has schema %q, this trawl %d", ErrSchema, crawl, v, SchemaVersion)
	}
	return nil
}

// exportClosed reports whether stop is closed; nil counts as closed.
func exportClosed(stop <-chan struct{}) bool {
	if stop == nil {
		return true
	}
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// exportTransient reports whether err may go away if Export tries again
// later: transient, or a commit that did not reach the disk in time.
func exportTransient(err error) bool {
	return errors.Is(err, errExportNotDurable) || transient(err)
}

// exportRecord decodes a record as store.Record but for data, which it
// keeps as JSON text.
type exportRecord struct {
	store.Record
	Data json.RawMessage `json:"data"`
}

// decodeExportRecord decodes a record's JSON, as Export hands it to the
// output: Data is the "data" JSON text as it was written.
func decodeExportRecord(b []byte) (store.Record, error) {
	var w exportRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return store.Record{}, fmt.Errorf("decode record: %w", err)
	}
	r := w.Record
	r.Data = nil
	if w.Data != nil {
		r.Data = w.Data
	}
	return r, nil
}
