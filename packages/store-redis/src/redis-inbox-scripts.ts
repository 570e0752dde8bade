import { type RedisScript, redisScript } from './redis-connection.js';

// The inbox's Lua scripts. Each runs atomically on the server: one script is one
// state change, written to the AOF as one unit, so a crash leaves either all of
// it or none of it. ARGV[1] is the key prefix, ARGV[2] the time in ms ('' for
// the server's own clock), the rest the operation's arguments.
//
// Keys, under the prefix P:
//   P seq              INCR counter: ids in arrival order
//   P keys             hash, idempotency key -> id (the deduplication, until swept)
//   P e:<id>           hash, the event: its record, state, attempts, nextAttemptAt,
//                      lastError, processedAt, and while leased token + lockedUntil
//   P s:<state>        sorted set of the ids in that state (score: id; processedAt
//                      for processed)
//   P r:<resourceKey>  sorted set of the resource's unfinished (pending, retrying)
//                      ids by id: its head is the one allowed to run
//   P due              sorted set of one "runner" per resource with unfinished
//                      events, scored by when it may be leased:
//                      max(nextAttemptAt, lockedUntil)
const prelude = `
local P = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local DUE = P .. 'due'
local function s(x) return string.format('%.0f', x) end
local function ekey(id) return P .. 'e:' .. id end
local function rkey(res) return P .. 'r:' .. res end
local function num(v) return tonumber(v) or 0 end
local function set_state(id, from, to, score)
  redis.call('ZREM', P .. 's:' .. from, id)
  redis.call('ZADD', P .. 's:' .. to, score, id)
  redis.call('HSET', ekey(id), 'state', to)
end
-- The token holder's event: unfinished, this token. The token alone fences
-- complete and fail: a lease is taken over only by a new lease, which writes a
-- new token, so a holder whose lease ran out with nobody taking over still
-- records its outcome (a handler that outlived its lease, then failed, reaches
-- the retry schedule instead of running again at once, forever).
local function held(id, token)
  local f = redis.call('HMGET', ekey(id), 'state', 'token', 'lockedUntil', 'resourceKey')
  if (f[1] == 'pending' or f[1] == 'retrying') and f[2] == token then
    return f
  end
  return nil
end
-- The resource's earliest unfinished event becomes its runner.
local function promote(res)
  local head = redis.call('ZRANGE', rkey(res), 0, 0)[1]
  if head then
    local f = redis.call('HMGET', ekey(head), 'nextAttemptAt', 'lockedUntil')
    redis.call('ZADD', DUE, s(math.max(num(f[1]), num(f[2]))), head)
  end
end
local function step_down(id, res)
  redis.call('ZREM', DUE, id)
  promote(res)
end
`;

const script = (body: string): RedisScript => redisScript(`${prelude}\n${body}`);

/** ARGV[3..]: six per record (key, resourceKey, eventType, payload, receivedAt, '+ip' or '-'). */
const enqueue = script(`
local out = {}
for b = 3, #ARGV - 5, 6 do
  local key, res = ARGV[b], ARGV[b + 1]
  if redis.call('HSETNX', P .. 'keys', key, '') == 0 then
    out[#out + 1] = 0
  else
    local id = s(redis.call('INCR', P .. 'seq'))
    redis.call('HSET', P .. 'keys', key, id)
    redis.call('HSET', ekey(id), 'id', id, 'key', key, 'resourceKey', res,
      'eventType', ARGV[b + 2], 'payload', ARGV[b + 3], 'receivedAt', ARGV[b + 4],
      'state', 'pending', 'attempts', '0', 'nextAttemptAt', s(now))
    local ip = ARGV[b + 5]
    if string.sub(ip, 1, 1) == '+' then redis.call('HSET', ekey(id), 'clientIp', string.sub(ip, 2)) end
    redis.call('ZADD', P .. 's:pending', id, id)
    redis.call('ZADD', rkey(res), id, id)
    if redis.call('ZCARD', rkey(res)) == 1 then redis.call('ZADD', DUE, s(now), id) end
    out[#out + 1] = 1
  end
end
return out`);

/** ARGV[3] limit, ARGV[4] leaseMs, ARGV[5] a random token base. Answers {token, HGETALL}[]. */
const lease = script(`
local limit, leaseMs, base = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local out = {}
for round = 1, 50 do
  if #out >= limit then break end
  local candidates = redis.call('ZRANGEBYSCORE', DUE, '-inf', s(now), 'LIMIT', 0, limit - #out)
  if #candidates == 0 then break end
  for _, id in ipairs(candidates) do
    local e = ekey(id)
    local res = redis.call('HGET', e, 'resourceKey')
    local head = res and redis.call('ZRANGE', rkey(res), 0, 0)[1]
    if head == id then
      local attempts = redis.call('HINCRBY', e, 'attempts', 1)
      local token = base .. ':' .. id .. ':' .. attempts
      local lockedUntil = s(now + leaseMs)
      redis.call('HSET', e, 'token', token, 'lockedUntil', lockedUntil)
      redis.call('ZADD', DUE, lockedUntil, id)
      out[#out + 1] = { token, redis.call('HGETALL', e) }
    else
      -- A replayed earlier event of the resource, waiting for this one's lease
      -- (now run out): the earlier one runs first.
      redis.call('ZREM', DUE, id)
      if res then promote(res) end
    end
  end
end
return out`);

/** ARGV[3] id, ARGV[4] token, ARGV[5] leaseMs. */
const renew = script(`
local id = ARGV[3]
-- Renewal alone needs the lease not run out: it extends a live lease, never revives one.
local f = held(id, ARGV[4])
if not f or num(f[3]) <= now then return 0 end
local lockedUntil = s(now + tonumber(ARGV[5]))
redis.call('HSET', ekey(id), 'lockedUntil', lockedUntil)
redis.call('ZADD', DUE, 'XX', lockedUntil, id)
return 1`);

/** ARGV[3] id, ARGV[4] token. */
const complete = script(`
local id = ARGV[3]
local f = held(id, ARGV[4])
if not f then return 0 end
local e = ekey(id)
redis.call('HDEL', e, 'token', 'lockedUntil', 'nextAttemptAt')
redis.call('HSET', e, 'processedAt', s(now))
set_state(id, f[1], 'processed', s(now))
redis.call('ZREM', rkey(f[4]), id)
step_down(id, f[4])
return 1`);

/** ARGV[3] id, ARGV[4] token, ARGV[5] retryAt ('' when dead), ARGV[6] error. */
const fail = script(`
local id, retryAt = ARGV[3], ARGV[5]
local f = held(id, ARGV[4])
if not f then return 0 end
local e = ekey(id)
redis.call('HDEL', e, 'token', 'lockedUntil')
redis.call('HSET', e, 'lastError', ARGV[6])
if retryAt ~= '' then
  redis.call('HSET', e, 'nextAttemptAt', retryAt)
  set_state(id, f[1], 'retrying', id)
else
  redis.call('HDEL', e, 'nextAttemptAt')
  set_state(id, f[1], 'dead', id)
  redis.call('ZREM', rkey(f[4]), id)
end
step_down(id, f[4])
return 1`);

/** ARGV[3] id. */
const replay = script(`
local id = ARGV[3]
local e = ekey(id)
local f = redis.call('HMGET', e, 'state', 'resourceKey')
if f[1] ~= 'dead' then return 0 end
redis.call('HDEL', e, 'lastError', 'token', 'lockedUntil')
redis.call('HSET', e, 'attempts', '0', 'nextAttemptAt', s(now))
set_state(id, 'dead', 'pending', id)
local r = rkey(f[2])
local others = redis.call('ZRANGE', r, 0, -1)
redis.call('ZADD', r, id, id)
local runner
for _, other in ipairs(others) do
  if redis.call('ZSCORE', DUE, other) then runner = other break end
end
if not runner then
  redis.call('ZADD', DUE, s(now), id)
elseif tonumber(id) < tonumber(runner)
  and num(redis.call('HGET', ekey(runner), 'lockedUntil')) <= now then
  -- Back in arrival order; a runner whose lease is live finishes first.
  redis.call('ZREM', DUE, runner)
  redis.call('ZADD', DUE, s(now), id)
end
return 1`);

/** ARGV[3] id. */
const retryNow = script(`
local id = ARGV[3]
local f = redis.call('HMGET', ekey(id), 'state', 'lockedUntil')
if f[1] ~= 'retrying' then return 0 end
redis.call('HSET', ekey(id), 'nextAttemptAt', s(now))
if num(f[2]) <= now then redis.call('ZADD', DUE, 'XX', s(now), id) end
return 1`);

/** ARGV[3] state, ARGV[4] limit. Answers HGETALL[]. */
const list = script(`
local state, limit = ARGV[3], tonumber(ARGV[4])
local key = P .. 's:' .. state
local ids
if state == 'pending' or state == 'retrying' then
  ids = redis.call('ZRANGE', key, 0, limit - 1)
else
  ids = redis.call('ZREVRANGE', key, 0, limit - 1)
end
local out = {}
for _, id in ipairs(ids) do out[#out + 1] = redis.call('HGETALL', ekey(id)) end
return out`);

const counts = script(`
return { redis.call('ZCARD', P .. 's:pending'), redis.call('ZCARD', P .. 's:retrying'),
  redis.call('ZCARD', P .. 's:dead'), redis.call('ZCARD', P .. 's:processed') }`);

/** ARGV[3] retainMs, ARGV[4] batch. */
const sweep = script(`
local ids = redis.call('ZRANGEBYSCORE', P .. 's:processed', '-inf', s(now - tonumber(ARGV[3])),
  'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  local key = redis.call('HGET', ekey(id), 'key')
  if key then redis.call('HDEL', P .. 'keys', key) end
  redis.call('DEL', ekey(id))
  redis.call('ZREM', P .. 's:processed', id)
end
return #ids`);

/** The inbox's scripts, by operation. */
export const inboxScripts = {
  enqueue,
  lease,
  renew,
  complete,
  fail,
  replay,
  retryNow,
  list,
  counts,
  sweep,
};
