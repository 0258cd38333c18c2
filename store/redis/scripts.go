package redis

import (
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
)

// The scripts. Each takes the crawl's key prefix as KEYS[1] (every key it
// touches starts with it, so they are all in the prefix's hash slot) and
// its arguments in ARGV. Times are Unix milliseconds; a time argument of
// -1 means "now by Redis's clock" (TIME), and 0 means "never" (no
// constraint). A per-host limit of 0 means none, an interval or lease
// time of 0 none either.
//
// The scripts use only what Redis 7 and miniredis both offer to Lua: no
// bit, struct or cmsgpack library (cjson only for string escapes), and
// numbers only as integers below 2^53, which both print exactly.
var (
	scriptOpen     = goredis.NewScript(luaPrelude + luaOpen)
	scriptMarkSeen = goredis.NewScript(luaPrelude + luaMarkSeen)
	scriptClaim    = goredis.NewScript(luaPrelude + luaClaim)
	scriptSettle   = goredis.NewScript(luaPrelude + luaSettle)
	scriptBatch    = goredis.NewScript(luaPrelude + luaBatch())
	scriptInterval = goredis.NewScript(luaPrelude + luaInterval)
	scriptStats    = goredis.NewScript(luaPrelude + luaStats)
	scriptExtend   = goredis.NewScript(luaPrelude + luaExtend)
	scriptBeat     = goredis.NewScript(luaPrelude + luaBeat)
	scriptJoin     = goredis.NewScript(luaPrelude + luaJoin)
)

// Bounds of the work one Claim does besides claiming.
const (
	reapMax  = 256 // expired leases reaped
	sweepMax = 64  // idle hosts forgotten
)

// luaPrelude holds the keys, constants and helpers that the scripts
// share. Host state is a table {h, n, last, iv, bo, na, rm} (see the
// h:<host> key in the package doc; iv is the host's interval, raised or
// the caller's default).
var luaPrelude = `
local P = KEYS[1]
local READY, ACTIVE, IDLE = P .. 'ready', P .. 'active', P .. 'idle'
local LEASE, LD, STATS, OUT = P .. 'lease', P .. 'ld', P .. 'stats', P .. 'out'
local NOEXP = ` + strconv.FormatInt(noExpiry, 10) + `
local KINDS = {` + luaStrings(kindNames()) + `}

local function clock(a)
  local t = tonumber(a)
  if t >= 0 then return t end
  local r = redis.call('TIME')
  return tonumber(r[1]) * 1000 + math.floor(tonumber(r[2]) / 1000)
end

-- seq6 returns the crawl's next sequence number, or n, as 6 bytes, big
-- endian: members prefixed with it sort in the order they were made.
local function seq6(n)
  n = n or redis.call('INCR', P .. 'seq')
  local b = {}
  for i = 6, 1, -1 do
    b[i] = n % 256
    n = math.floor(n / 256)
  end
  return string.char(b[1], b[2], b[3], b[4], b[5], b[6])
end

local function num(v, def)
  if v then return tonumber(v) end
  return def
end

-- hstate reads host h's state; rm is false for a host that is not known.
local function hstate(h, defIv)
  local v = redis.call('HMGET', P .. 'h:' .. h, 'n', 'last', 'iv', 'bo', 'na', 'rm')
  return {h = h, n = num(v[1], 0), last = num(v[2], 0), iv = num(v[3], defIv),
    bo = num(v[4], 0), na = num(v[5], 0), rm = v[6]}
end

-- known makes sure s is stored: a new host goes behind the others that
-- are ready at the same time.
local function known(s)
  if not s.rm then
    s.rm = seq6() .. s.h
    redis.call('HSET', P .. 'h:' .. s.h, 'rm', s.rm)
  end
end

-- refresh files host s after its queue, in-flight count or times
-- changed: it is in ready exactly when it has queued entries and a free
-- slot, scored by the time it may be claimed from, and in active while
-- it has any work. It returns whether the host has work. fresh and
-- delayed, the lengths of its queues, are read if not given.
local function refresh(s, perHost, fresh, delayed)
  local h = s.h
  fresh = fresh or redis.call('LLEN', P .. 'q:' .. h)
  delayed = delayed or redis.call('ZCARD', P .. 'd:' .. h)
  local pending = fresh + delayed
  local active = pending + s.n > 0
  if active then
    if redis.call('ZADD', ACTIVE, pending, h) == 1 then
      redis.call('ZREM', IDLE, h)
    end
  else
    redis.call('ZREM', ACTIVE, h)
  end
  if pending == 0 or (perHost > 0 and s.n >= perHost) then
    redis.call('ZREM', READY, s.rm)
    return active
  end
  local at = math.max(s.bo, s.na)
  if fresh == 0 then
    local head = redis.call('ZRANGE', P .. 'd:' .. h, 0, 0, 'WITHSCORES')
    at = math.max(at, tonumber(head[2]))
  end
  redis.call('ZADD', READY, at, s.rm)
  return active
end

-- park files host s, which has no work, to be forgotten once its
-- next-allowed time passes (at once if it has).
local function park(s, now)
  local at = math.max(s.bo, s.na)
  if at > now then
    redis.call('ZADD', IDLE, at, s.h)
  else
    redis.call('ZREM', IDLE, s.h)
    redis.call('DEL', P .. 'h:' .. s.h)
  end
end

-- forget drops host h if it is idle and its time has passed: it comes
-- back as a new host.
local function forget(h, now)
  local at = redis.call('ZSCORE', IDLE, h)
  if at and tonumber(at) <= now then
    redis.call('ZREM', IDLE, h)
    redis.call('DEL', P .. 'h:' .. h)
  end
end

-- forgotten reports whether host s, with pending entries queued, is idle
-- and its time has passed (see forget), and if so drops it.
local function forgotten(s, pending, now)
  if not s.rm or pending + s.n > 0 or math.max(s.bo, s.na) > now then return false end
  redis.call('ZREM', IDLE, s.h)
  redis.call('DEL', P .. 'h:' .. s.h)
  return true
end

-- sweep forgets up to max idle hosts whose time has passed.
local function sweep(now, max)
  local hs = redis.call('ZRANGEBYSCORE', IDLE, '-inf', now, 'LIMIT', 0, max)
  for _, h in ipairs(hs) do
    redis.call('DEL', P .. 'h:' .. h)
  end
  if #hs > 0 then redis.call('ZREM', IDLE, unpack(hs)) end
end

-- lease returns the worker, host and entry of lease lid, or nil.
local function lease(lid)
  local d = redis.call('HGET', LD, lid)
  if not d then return nil end
  local i = string.find(d, '\n', 1, true)
  local j = string.find(d, '\n', i + 1, true)
  return string.sub(d, 1, i - 1), string.sub(d, i + 1, j - 1), string.sub(d, j + 1)
end

-- unlease ends lease lid and frees its host slot; it returns the
-- host's state and the entry. With fp set, it returns nil unless the
-- lease is live and its entry has that fingerprint.
local function unlease(lid, fp, defIv)
  local w, h, e = lease(lid)
  if not w or (fp and string.sub(e, 1, 8) ~= fp) then return nil end
  redis.call('ZREM', LEASE, lid)
  redis.call('HDEL', LD, lid)
  local s = hstate(h, defIv)
  known(s)
  s.n = math.max(s.n - 1, 0)
  redis.call('HSET', P .. 'h:' .. h, 'n', s.n)
  return s, e
end

-- delay queues entry e of host s again, claimable from time at.
local function delay(s, e, at)
  redis.call('ZADD', P .. 'd:' .. s.h, at, seq6() .. e)
end

-- requeue ends the leases lids and queues their entries again, ahead
-- of their hosts' fresh entries (expired leases, or those of a worker
-- that was killed).
local function requeue(lids, perHost, defIv)
  for _, lid in ipairs(lids) do
    local s, e = unlease(lid, nil, defIv)
    if s then
      delay(s, e, 0)
      refresh(s, perHost)
      redis.call('HINCRBY', STATS, 'queued', 1)
    else
      redis.call('ZREM', LEASE, lid)
    end
  end
end

-- fields parses the n numbers after an entry's fingerprint; it returns
-- them and the position of the strings.
local function fields(e, n)
  local t, pos = {}, 9
  for i = 1, n do
    local j = string.find(e, '|', pos, true)
    t[i] = tonumber(string.sub(e, pos, j - 1))
    pos = j + 1
  end
  return t, pos
end

local function expand(s, h)
  local c = string.byte(s, 1)
  if c == 0 then return string.sub(s, 2) end
  if c == 1 then return 'http://' .. h .. string.sub(s, 2) end
  if c == 2 then return 'https://' .. h .. string.sub(s, 2) end
  return s
end

-- skipped returns the record of entry e of host h, refused because its
-- host's queue is full, as store.Record's MarshalJSON writes it.
local function skipped(h, e)
  local f, pos = fields(e, 8)
  local url = expand(string.sub(e, pos, pos + f[6] - 1), h)
  local ppos = pos + f[6] + f[7]
  local parent = expand(string.sub(e, ppos, ppos + f[8] - 1), h)
  local r = '{"url":' .. cjson.encode(url) .. ',"depth":' .. f[2]
  if parent ~= '' then r = r .. ',"parent":' .. cjson.encode(parent) end
  r = r .. ',"skipped":"` + SkipQueueFull + `"'
  if KINDS[f[4]] then r = r .. ',"kind":"' .. KINDS[f[4]] .. '"' end
  return r .. '}'
end
`

// luaOpen makes the crawl if it does not exist, checks its schema,
// creates the outbox's consumer group, registers the worker and gives
// back the leases a former process of the same worker name held.
// ARGV: schema version, seen bits for a new crawl, now, worker, per-host
// limit, default interval. It returns {"schema", version} for a crawl
// of another schema, else {"ok", seen bits, leases given back}.
const luaOpen = `
local now = clock(ARGV[3])
local v = redis.call('GET', P .. 'schema')
if v and v ~= ARGV[1] then return {'schema', v} end
if not v then
  redis.call('SET', P .. 'schema', ARGV[1])
  redis.call('HSET', P .. 'conf', 'seenbits', ARGV[2], 'created', now)
end
redis.pcall('XGROUP', 'CREATE', OUT, 'out', '0', 'MKSTREAM')
local worker = ARGV[4]
redis.call('ZADD', P .. 'workers', now, worker)
local mine, all = {}, redis.call('HGETALL', LD)
for i = 1, #all, 2 do
  if string.sub(all[i + 1], 1, #worker + 1) == worker .. '\n' then mine[#mine + 1] = all[i] end
end
requeue(mine, tonumber(ARGV[5]), tonumber(ARGV[6]))
return {'ok', redis.call('HGET', P .. 'conf', 'seenbits'), #mine}
`

// luaBatch returns the script that pushes and settles: the settle
// loop's batches (the pushes and the settles that callers queued while
// the previous batch was on its way, in one call), and a big Push alone
// (one push, no settles). ARGV: now, per-host limit, default interval,
// queue bound (0: none), the number G of pushes, G entry counts, the
// pushes' entries (four values each: host, seen bucket, seen member,
// stored entry), then the settles (six values each, as luaSettle). Each
// push queues its entries never seen, marking them seen, and refuses
// those of a host whose queue is full, writing their records; the
// pushes run one after the other, then the settles, as luaSettle. It
// returns G counts of entries queued, then luaSettle's reply.
func luaBatch() string {
	settle := luaSettle
	for _, r := range [][2]string{
		{"for i = 4, #ARGV, 6 do", "for i = settleFrom, #ARGV, 6 do"},
		{"\nreturn res\n", "\nfor _, v in ipairs(res) do pushed[#pushed + 1] = v end\nreturn pushed\n"},
	} {
		if strings.Count(settle, r[0]) != 1 {
			panic("redis: luaBatch: luaSettle changed: " + r[0])
		}
		settle = strings.Replace(settle, r[0], r[1], 1)
	}
	return luaBatchPush + "do\n" + settle + "end\n"
}

// luaBatchPush is luaBatch's first part: the G pushes.
const luaBatchPush = `
local pushed, settleFrom = {}, 6 + tonumber(ARGV[5])
do
  local G = tonumber(ARGV[5])
  local perHost, defIv, maxq = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local now
  local dups, full, total = 0, 0, 0
  local hosts, order = {}, {}
  for g = 1, G do
    local added = 0
    local last = settleFrom + 4 * tonumber(ARGV[5 + g]) - 1
    for i = settleFrom, last, 4 do
      local h = ARGV[i]
      if redis.call('SADD', P .. 's:' .. ARGV[i + 1], ARGV[i + 2]) == 0 then
        dups = dups + 1
      else
        local s = hosts[h]
        if not s then
          now = now or clock(ARGV[1])
          s = hstate(h, defIv)
          s.fresh = redis.call('LLEN', P .. 'q:' .. h)
          s.delayed = redis.call('ZCARD', P .. 'd:' .. h)
          if forgotten(s, s.fresh + s.delayed, now) then
            s = hstate(h, defIv)
            s.fresh, s.delayed = 0, 0
          end
          known(s)
          s.len = s.fresh + s.delayed
          s.add = {}
          hosts[h] = s
          order[#order + 1] = s
        end
        if maxq > 0 and s.len >= maxq then
          full = full + 1
          redis.call('XADD', OUT, '*', 'r', skipped(h, ARGV[i + 3]))
        else
          s.add[#s.add + 1] = ARGV[i + 3]
          s.len = s.len + 1
          added = added + 1
        end
      end
    end
    pushed[g] = added
    total = total + added
    settleFrom = last + 1
  end
  for _, s in ipairs(order) do
    for j = 1, #s.add, 1000 do
      redis.call('RPUSH', P .. 'q:' .. s.h, unpack(s.add, j, math.min(j + 999, #s.add)))
    end
    refresh(s, perHost, s.fresh + #s.add, s.delayed)
  end
  if total + full > 0 then redis.call('HINCRBY', STATS, 'seen', total + full) end
  if total > 0 then redis.call('HINCRBY', STATS, 'queued', total) end
  if dups > 0 then redis.call('HINCRBY', STATS, 'dups', dups) end
  if full > 0 then redis.call('HINCRBY', STATS, 'qfull', full) end
end
`

// luaMarkSeen marks a key seen and, if it was new and a record is given,
// writes the record. ARGV: seen bucket, seen member, record (may be
// empty). It returns 1 if the key was new.
const luaMarkSeen = `
if redis.call('SADD', P .. 's:' .. ARGV[1], ARGV[2]) == 0 then
  redis.call('HINCRBY', STATS, 'dups', 1)
  return 0
end
redis.call('HINCRBY', STATS, 'seen', 1)
if ARGV[3] ~= '' then redis.call('XADD', OUT, '*', 'r', ARGV[3]) end
return 1
`

// luaClaim reaps expired leases, forgets idle hosts, then leases up to
// max entries from ready hosts, the one ready longest first. ARGV: now,
// max, per-host limit, default interval, lease time (0: no expiry),
// worker. It returns {now, next, then per lease: ID, host, interval,
// stored entry}; next is 0 unless fewer than max were leased and time
// alone can make more claimable.
var luaClaim = `
local now = clock(ARGV[1])
local max, perHost, defIv, ttl, worker = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
requeue(redis.call('ZRANGEBYSCORE', LEASE, '-inf', now, 'LIMIT', 0, ` + strconv.Itoa(reapMax) + `), perHost, defIv)
sweep(now, ` + strconv.Itoa(sweepMax) + `)
local out = {now, 0}
local n = 0
while n < max do
  local top = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  if #top == 0 or tonumber(top[2]) > now then break end
  local h = string.sub(top[1], 7)
  local s = hstate(h, defIv)
  local dk, qk = P .. 'd:' .. h, P .. 'q:' .. h
  local e
  local fresh, delayed = redis.call('LLEN', qk), redis.call('ZCARD', dk)
  local head = {}
  if delayed > 0 then head = redis.call('ZRANGE', dk, 0, 0, 'WITHSCORES') end
  if #head > 0 and tonumber(head[2]) <= now then
    redis.call('ZREM', dk, head[1])
    e = string.sub(head[1], 7)
    delayed = delayed - 1
  elseif fresh > 0 then
    e = redis.call('LPOP', qk)
    fresh = fresh - 1
  end
  redis.call('ZREM', READY, top[1])
  if e then
    local lid = redis.call('INCR', P .. 'seq')
    local exp = NOEXP
    if ttl > 0 then exp = now + ttl end
    redis.call('ZADD', LEASE, exp, lid)
    redis.call('HSET', LD, lid, worker .. '\n' .. h .. '\n' .. e)
    s.n, s.last, s.na, s.rm = s.n + 1, now, now + s.iv, seq6(lid) .. h
    redis.call('HSET', P .. 'h:' .. h, 'n', s.n, 'last', s.last, 'na', s.na, 'rm', s.rm)
    n = n + 1
    out[#out + 1] = lid
    out[#out + 1] = h
    out[#out + 1] = s.iv
    out[#out + 1] = e
  end
  if s.rm then refresh(s, perHost, fresh, delayed) end
end
if n > 0 then redis.call('HINCRBY', STATS, 'queued', -n) end
if n < max then
  local wake = NOEXP
  local top = redis.call('ZRANGE', READY, 0, 0, 'WITHSCORES')
  if #top > 0 then wake = tonumber(top[2]) end
  local l = redis.call('ZRANGE', LEASE, 0, 0, 'WITHSCORES')
  if #l > 0 then wake = math.min(wake, tonumber(l[2])) end
  if wake < NOEXP then out[2] = math.max(wake, now + 1) end
end
return out
`

// luaSettle settles leases: acks, retries and releases, each only if
// the lease is live and still its URL's. ARGV: now, per-host limit,
// default interval, then per lease six values: op, lease ID,
// fingerprint, a, b, record. For op "a" (ack) a is the outcome ("f"
// fetched, "e" failed, "s" skipped), b the host back-off time and record
// the record to write, if not empty; for "t" (retry) a is the not-before
// time and b "1" for a host back-off; for "r" (release) a is the
// not-before time. It returns, per lease, 1 if it was settled and 0 if
// it was stale.
const luaSettle = `
local perHost, defIv = tonumber(ARGV[2]), tonumber(ARGV[3])
local now
local res, done, retries, queued = {}, 0, 0, 0
local outcomes = {f = 0, e = 0, s = 0}
for i = 4, #ARGV, 6 do
  local op, a, b = ARGV[i], ARGV[i + 3], ARGV[i + 4]
  local s, e = unlease(ARGV[i + 1], ARGV[i + 2], defIv)
  if not s then
    res[#res + 1] = 0
  else
    res[#res + 1] = 1
    local hk = P .. 'h:' .. s.h
    if op == 'a' then
      done = done + 1
      outcomes[a] = outcomes[a] + 1
      local bo = tonumber(b)
      if bo > s.bo then
        s.bo = bo
        redis.call('HSET', hk, 'bo', bo)
      end
      if not refresh(s, perHost) then
        now = now or clock(ARGV[1])
        park(s, now)
      end
      if ARGV[i + 5] ~= '' then redis.call('XADD', OUT, '*', 'r', ARGV[i + 5]) end
    else
      local at = tonumber(a)
      if op == 't' then
        local j = string.find(e, '|', 9, true)
        e = string.sub(e, 1, 8) .. (tonumber(string.sub(e, 9, j - 1)) + 1) .. string.sub(e, j)
        retries = retries + 1
      end
      delay(s, e, at)
      queued = queued + 1
      if (op == 'r' or b == '1') and at > s.bo then
        s.bo = at
        redis.call('HSET', hk, 'bo', at)
      end
      refresh(s, perHost)
    end
  end
end
for k, v in pairs({done = done, retries = retries, queued = queued, fetched = outcomes.f, failed = outcomes.e, skipped = outcomes.s}) do
  if v > 0 then redis.call('HINCRBY', STATS, k, v) end
end
return res
`

// luaInterval sets a host's interval (SetHostInterval). ARGV: now,
// per-host limit, default interval, host, interval.
const luaInterval = `
local now, perHost, defIv, h = clock(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
forget(h, now)
local s = hstate(h, defIv)
if not s.rm then return 0 end
s.iv = math.max(tonumber(ARGV[5]), defIv)
local hk = P .. 'h:' .. h
if s.iv > defIv then redis.call('HSET', hk, 'iv', s.iv) else redis.call('HDEL', hk, 'iv') end
if s.last > 0 then
  s.na = s.last + s.iv
  redis.call('HSET', hk, 'na', s.na)
end
redis.call('ZREM', IDLE, h)
if not refresh(s, perHost) then park(s, now) end
return 1
`

// luaStats returns {queued, seen, dups, done, retries, in flight,
// active hosts}.
const luaStats = `
local v = redis.call('HMGET', STATS, 'queued', 'seen', 'dups', 'done', 'retries')
return {num(v[1], 0), num(v[2], 0), num(v[3], 0), num(v[4], 0), num(v[5], 0),
  redis.call('ZCARD', LEASE), redis.call('ZCARD', ACTIVE)}
`

// luaExtend extends leases that are still live and their URL's. ARGV:
// now, lease time, then pairs of lease ID and fingerprint. It returns
// the IDs of the leases that are gone.
const luaExtend = `
local exp = clock(ARGV[1]) + tonumber(ARGV[2])
local gone = {}
for i = 3, #ARGV, 2 do
  local w, h, e = lease(ARGV[i])
  if w and string.sub(e, 1, 8) == ARGV[i + 1] then
    redis.call('ZADD', LEASE, 'XX', 'GT', exp, ARGV[i])
  else
    gone[#gone + 1] = ARGV[i]
  end
end
return gone
`

// luaBeat records a worker's heartbeat and forgets workers not seen for
// a day. ARGV: now, worker. It returns now.
const luaBeat = `
local now = clock(ARGV[1])
redis.call('ZADD', P .. 'workers', now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', P .. 'workers', '-inf', now - 86400000)
return now
`

// luaJoin makes ARGV[1] the crawl's meta if it has none, and returns
// the crawl's meta.
const luaJoin = `
redis.call('SET', P .. 'meta', ARGV[1], 'NX')
return redis.call('GET', P .. 'meta')
`

// noExpiry is the expiry, in Unix milliseconds, of a lease that does not
// expire: 2^52, after every real time and exact as a Lua number.
const noExpiry = 1 << 52

// luaStrings returns ss as the items of a Lua table constructor.
func luaStrings(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
