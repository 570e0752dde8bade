import { inboxStates } from '@c2p/core';
import { inboxDefaults, inboxStateLiterals as states, unfinishedInboxStates } from '@c2p/core/kit';
import { type RedisScript, redisScript } from './redis-connection.js';

// The inbox's Lua scripts. Each runs atomically on the server: one script is one
// state change, written to the AOF as one unit, so a crash leaves either all of
// it or none of it. ARGV[1] is the key prefix, ARGV[2] the time in ms ('' for
// the server's own clock), the rest the operation's arguments.
//
// States are written in from the kit (`states.dead` is `'dead'`, quoted as Lua
// wants it), so the scripts and the SQL stores name them from one place.
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
//   P h:<id>           list, the event's history as JSON items, oldest first,
//                      trimmed to its newest inboxDefaults.historyLimit
//   P paused           present while the inbox is paused: lease answers nothing
//   P resolvedAt       sorted set of resolved ids by when they were resolved (sweep)
//   P x:all            sorted set of every event's id (score: id), for search
//   P x:r:<resourceKey> sorted set of the resource's ids, every state (score: id)
//   P x:t:<eventType>  sorted set of the type's ids (score: id)
//   P x:upto           the highest id indexed in x:* by indexEvents (events an
//                      earlier version stored have no x:* entries until then)
/** A Lua condition: is `value` an unfinished state? */
const isUnfinished = (value: string): string =>
  unfinishedInboxStates.map((state) => `${value} == ${states[state]}`).join(' or ');

const prelude = `
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local DUE = prefix .. 'due'
local function digits(value) return string.format('%.0f', value) end
local function ekey(id) return prefix .. 'e:' .. id end
local function skey(state) return prefix .. 's:' .. state end
local function rkey(res) return prefix .. 'r:' .. res end
local function num(value) return tonumber(value) or 0 end
local function set_state(id, from, to, score)
  redis.call('ZREM', skey(from), id)
  redis.call('ZADD', skey(to), score, id)
  redis.call('HSET', ekey(id), 'state', to)
end
-- The token holder's event: unfinished, this token. The token alone fences
-- complete and fail: a lease is taken over only by a new lease, which writes a
-- new token, so a holder whose lease ran out with nobody taking over still
-- records its outcome (a handler that outlived its lease, then failed, reaches
-- the retry schedule instead of running again at once, forever).
local function held(id, token)
  local fields = redis.call('HMGET', ekey(id), 'state', 'token', 'lockedUntil', 'resourceKey')
  if (${isUnfinished('fields[1]')}) and fields[2] == token then
    return fields
  end
  return nil
end
-- The resource's earliest unfinished event becomes its runner.
local function promote(res)
  local head = redis.call('ZRANGE', rkey(res), 0, 0)[1]
  if head then
    local fields = redis.call('HMGET', ekey(head), 'nextAttemptAt', 'lockedUntil')
    redis.call('ZADD', DUE, digits(math.max(num(fields[1]), num(fields[2]))), head)
  end
end
local function step_down(id, res)
  redis.call('ZREM', DUE, id)
  promote(res)
end
-- Adds an item to the event's history: \`fields\` is the JSON object's members but its time.
local function remember(id, fields)
  local key = prefix .. 'h:' .. id
  redis.call('RPUSH', key, '{"at":' .. digits(now) .. ',' .. fields .. '}')
  redis.call('LTRIM', key, -${inboxDefaults.historyLimit}, -1)
end
-- An attempt's history members; startedAt '' when unknown.
local function attempt(outcome, startedAt, err)
  local fields = '"action":"attempt","outcome":"' .. outcome .. '"'
  local started = tonumber(startedAt)
  if started then fields = fields .. ',"durationMs":' .. digits(math.max(0, now - started)) end
  if err then fields = fields .. ',"error":' .. cjson.encode(err) end
  return fields
end
-- The search indexes of one event.
local function index_event(id, res, eventType)
  redis.call('ZADD', prefix .. 'x:all', id, id)
  redis.call('ZADD', prefix .. 'x:r:' .. res, id, id)
  redis.call('ZADD', prefix .. 'x:t:' .. eventType, id, id)
end
-- A dead event made pending again, due now, attempts reset, the replay in its history.
local function revive(id)
  local event = ekey(id)
  local fields = redis.call('HMGET', event, 'state', 'resourceKey')
  if fields[1] ~= ${states.dead} then return 0 end
  redis.call('HDEL', event, 'lastError', 'token', 'lockedUntil')
  redis.call('HSET', event, 'attempts', '0', 'nextAttemptAt', digits(now))
  set_state(id, ${states.dead}, ${states.pending}, id)
  remember(id, '"action":"replayed"')
  local queue = rkey(fields[2])
  local others = redis.call('ZRANGE', queue, 0, -1)
  redis.call('ZADD', queue, id, id)
  local runner
  for _, other in ipairs(others) do
    if redis.call('ZSCORE', DUE, other) then runner = other break end
  end
  if not runner then
    redis.call('ZADD', DUE, digits(now), id)
  elseif tonumber(id) < tonumber(runner)
    and num(redis.call('HGET', ekey(runner), 'lockedUntil')) <= now then
    -- Back in arrival order; a runner whose lease is live finishes first.
    redis.call('ZREM', DUE, runner)
    redis.call('ZADD', DUE, digits(now), id)
  end
  return 1
end
`;

const script = (body: string): RedisScript => redisScript(`${prelude}\n${body}`);

/** ARGV[3..]: six per record (key, resourceKey, eventType, payload, receivedAt, '+ip' or '-'). */
const enqueue = script(`
local out = {}
for first = 3, #ARGV - 5, 6 do
  local key, res = ARGV[first], ARGV[first + 1]
  if redis.call('HSETNX', prefix .. 'keys', key, '') == 0 then
    out[#out + 1] = 0
  else
    local id = digits(redis.call('INCR', prefix .. 'seq'))
    redis.call('HSET', prefix .. 'keys', key, id)
    redis.call('HSET', ekey(id), 'id', id, 'key', key, 'resourceKey', res,
      'eventType', ARGV[first + 2], 'payload', ARGV[first + 3], 'receivedAt', ARGV[first + 4],
      'state', ${states.pending}, 'attempts', '0', 'nextAttemptAt', digits(now))
    local ip = ARGV[first + 5]
    if string.sub(ip, 1, 1) == '+' then redis.call('HSET', ekey(id), 'clientIp', string.sub(ip, 2)) end
    redis.call('ZADD', skey(${states.pending}), id, id)
    redis.call('ZADD', rkey(res), id, id)
    index_event(id, res, ARGV[first + 2])
    if redis.call('ZCARD', rkey(res)) == 1 then redis.call('ZADD', DUE, digits(now), id) end
    out[#out + 1] = 1
  end
end
return out`);

/** ARGV[3] limit, ARGV[4] leaseMs, ARGV[5] a random token base. Answers {token, HGETALL}[]. */
const lease = script(`
local limit, leaseMs, base = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local out = {}
-- Paused: no worker of the inbox, in any process, leases anything.
if redis.call('EXISTS', prefix .. 'paused') == 1 then return out end
for round = 1, 50 do
  if #out >= limit then break end
  local candidates = redis.call('ZRANGEBYSCORE', DUE, '-inf', digits(now), 'LIMIT', 0, limit - #out)
  if #candidates == 0 then break end
  for _, id in ipairs(candidates) do
    local event = ekey(id)
    local res = redis.call('HGET', event, 'resourceKey')
    local head = res and redis.call('ZRANGE', rkey(res), 0, 0)[1]
    if head == id then
      local attempts = redis.call('HINCRBY', event, 'attempts', 1)
      local token = base .. ':' .. id .. ':' .. attempts
      local lockedUntil = digits(now + leaseMs)
      redis.call('HSET', event, 'token', token, 'lockedUntil', lockedUntil)
      redis.call('ZADD', DUE, lockedUntil, id)
      out[#out + 1] = { token, redis.call('HGETALL', event) }
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
local fields = held(id, ARGV[4])
if not fields or num(fields[3]) <= now then return 0 end
local lockedUntil = digits(now + tonumber(ARGV[5]))
redis.call('HSET', ekey(id), 'lockedUntil', lockedUntil)
redis.call('ZADD', DUE, 'XX', lockedUntil, id)
return 1`);

/** ARGV[3] id, ARGV[4] token, ARGV[5] startedAt ('' when unknown). */
const complete = script(`
local id = ARGV[3]
local fields = held(id, ARGV[4])
if not fields then return 0 end
local event = ekey(id)
redis.call('HDEL', event, 'token', 'lockedUntil', 'nextAttemptAt')
redis.call('HSET', event, 'processedAt', digits(now))
set_state(id, fields[1], ${states.processed}, digits(now))
remember(id, attempt(${states.processed}, ARGV[5]))
redis.call('ZREM', rkey(fields[4]), id)
step_down(id, fields[4])
return 1`);

/** ARGV[3] id, ARGV[4] token, ARGV[5] retryAt ('' when dead), ARGV[6] error, ARGV[7] startedAt. */
const fail = script(`
local id, retryAt = ARGV[3], ARGV[5]
local fields = held(id, ARGV[4])
if not fields then return 0 end
local event = ekey(id)
redis.call('HDEL', event, 'token', 'lockedUntil')
redis.call('HSET', event, 'lastError', ARGV[6])
if retryAt ~= '' then
  redis.call('HSET', event, 'nextAttemptAt', retryAt)
  set_state(id, fields[1], ${states.retrying}, id)
  remember(id, attempt(${states.retrying}, ARGV[7], ARGV[6]))
else
  redis.call('HDEL', event, 'nextAttemptAt')
  set_state(id, fields[1], ${states.dead}, id)
  remember(id, attempt(${states.dead}, ARGV[7], ARGV[6]))
  redis.call('ZREM', rkey(fields[4]), id)
end
step_down(id, fields[4])
return 1`);

/** ARGV[3] id. */
const replay = script(`return revive(ARGV[3])`);

/** ARGV[3] id. */
const retryNow = script(`
local id = ARGV[3]
local fields = redis.call('HMGET', ekey(id), 'state', 'lockedUntil')
if fields[1] ~= ${states.retrying} then return 0 end
redis.call('HSET', ekey(id), 'nextAttemptAt', digits(now))
remember(id, '"action":"retried-now"')
if num(fields[2]) <= now then redis.call('ZADD', DUE, 'XX', digits(now), id) end
return 1`);

/** ARGV[3] state, ARGV[4] limit. Answers HGETALL[]. */
const list = script(`
local state, limit = ARGV[3], tonumber(ARGV[4])
local key = skey(state)
local ids
if ${isUnfinished('state')} then
  ids = redis.call('ZRANGE', key, 0, limit - 1)
else
  ids = redis.call('ZREVRANGE', key, 0, limit - 1)
end
local out = {}
for _, id in ipairs(ids) do out[#out + 1] = redis.call('HGETALL', ekey(id)) end
return out`);

/** Answers one count per state, in the order of `inboxStates`. */
const counts = script(`
return { ${inboxStates.map((state) => `redis.call('ZCARD', skey(${states[state]}))`).join(', ')} }`);

/** ARGV[3] retainMs, ARGV[4] batch: processed events first, then resolved ones. */
const sweep = script(`
local before, batch = digits(now - tonumber(ARGV[3])), tonumber(ARGV[4])
local function drop(id, state, byTime)
  local fields = redis.call('HMGET', ekey(id), 'key', 'resourceKey', 'eventType')
  if fields[1] then redis.call('HDEL', prefix .. 'keys', fields[1]) end
  if fields[2] then redis.call('ZREM', prefix .. 'x:r:' .. fields[2], id) end
  if fields[3] then redis.call('ZREM', prefix .. 'x:t:' .. fields[3], id) end
  redis.call('ZREM', prefix .. 'x:all', id)
  redis.call('DEL', ekey(id), prefix .. 'h:' .. id)
  redis.call('ZREM', skey(state), id)
  redis.call('ZREM', byTime, id)
end
local ids = redis.call('ZRANGEBYSCORE', skey(${states.processed}), '-inf', before, 'LIMIT', 0, batch)
for _, id in ipairs(ids) do drop(id, ${states.processed}, skey(${states.processed})) end
local swept = #ids
if swept < batch then
  local resolved = redis.call('ZRANGEBYSCORE', prefix .. 'resolvedAt', '-inf', before, 'LIMIT', 0, batch - swept)
  for _, id in ipairs(resolved) do drop(id, ${states.resolved}, prefix .. 'resolvedAt') end
  swept = swept + #resolved
end
return swept`);

/** ARGV[3] id, ARGV[4] note. */
const resolve = script(`
local id = ARGV[3]
if redis.call('HGET', ekey(id), 'state') ~= ${states.dead} then return 0 end
redis.call('HSET', ekey(id), 'processedAt', digits(now))
set_state(id, ${states.dead}, ${states.resolved}, id)
redis.call('ZADD', prefix .. 'resolvedAt', digits(now), id)
remember(id, '"action":"resolved","note":' .. cjson.encode(ARGV[4]))
return 1`);

/**
 * One bounded step of a search, a count or a bulk replay, newest first.
 * ARGV[3] the filter as JSON, ARGV[4] the id to start below ('' for the
 * newest), ARGV[5] how many matches to stop at, ARGV[6] how many candidates
 * to read at most, ARGV[7] 'read', 'count' or 'replay'. Candidates come from
 * the smallest index the filter names: its ids, its key, or the sorted set of
 * its resource, its event type or its state, else every event. Answers
 * {matches (HGETALL[] for read, a number otherwise), the last id read, 1 when
 * the index is exhausted}.
 */
const scan = script(`
local filter, after = cjson.decode(ARGV[3]), ARGV[4]
local want, budget, mode = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local below = tonumber(after)
local candidates, exhausted = {}, 1
if filter.ids then
  for _, id in ipairs(filter.ids) do
    if not below or tonumber(id) < below then candidates[#candidates + 1] = id end
  end
elseif filter.key then
  local id = redis.call('HGET', prefix .. 'keys', filter.key)
  if id and id ~= '' and (not below or tonumber(id) < below) then candidates[1] = id end
else
  local source = prefix .. 'x:all'
  local size = redis.call('ZCARD', source)
  local function consider(key)
    local n = redis.call('ZCARD', key)
    if n < size then source, size = key, n end
  end
  if filter.resourceKey then consider(prefix .. 'x:r:' .. filter.resourceKey) end
  if filter.eventType then consider(prefix .. 'x:t:' .. filter.eventType) end
  -- State sets are scored by id, but processed's (by when it was processed).
  if filter.state and filter.state ~= ${states.processed} then consider(skey(filter.state)) end
  candidates = redis.call('ZREVRANGEBYSCORE', source, below and ('(' .. after) or '+inf', '-inf',
    'LIMIT', 0, budget)
  if #candidates == budget then exhausted = 0 end
end
local out, count, last = {}, 0, after
for at, id in ipairs(candidates) do
  last = id
  local f = redis.call('HMGET', ekey(id), 'state', 'resourceKey', 'eventType', 'key', 'receivedAt')
  if f[1] and (not filter.state or f[1] == filter.state)
    and (not filter.resourceKey or f[2] == filter.resourceKey)
    and (not filter.eventType or f[3] == filter.eventType)
    and (not filter.key or f[4] == filter.key)
    and (not filter.receivedSince or num(f[5]) >= filter.receivedSince)
    and (not filter.receivedBefore or num(f[5]) < filter.receivedBefore) then
    if mode == 'read' then
      out[#out + 1] = redis.call('HGETALL', ekey(id))
    elseif mode == 'replay' then
      count = count + revive(id)
    else
      count = count + 1
    end
    if #out >= want then
      if at < #candidates then exhausted = 0 end
      break
    end
  end
end
if mode == 'read' then return { out, last, exhausted } end
return { count, last, exhausted }`);

/**
 * Indexes, for search, up to ARGV[3] events an earlier version stored, from
 * x:upto on. Answers 1 once every event up to the counter is indexed.
 */
const indexEvents = script(`
local upto = num(redis.call('GET', prefix .. 'x:upto'))
local last = num(redis.call('GET', prefix .. 'seq'))
local stop = math.min(last, upto + tonumber(ARGV[3]))
for id = upto + 1, stop do
  local key = digits(id)
  local f = redis.call('HMGET', ekey(key), 'resourceKey', 'eventType')
  if f[1] then index_event(key, f[1], f[2]) end
end
redis.call('SET', prefix .. 'x:upto', digits(stop))
if stop >= last then return 1 end
return 0`);

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
  resolve,
  scan,
  indexEvents,
};
