import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script run with EVALSHA (EVAL when the server does not know it yet). */
export interface RedisScript {
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
}

function script(name: string, body: string): RedisScript {
  // Every script may read the server's clock and then write: Redis before 7 needs effects
  // replication for that; from 7 on it is the default and the call does nothing.
  const lua = `if redis.replicate_commands then redis.replicate_commands() end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function extendTo(key, at, now)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 or now + ttl < at then redis.call('PEXPIREAT', key, at) end
end
${body}`;
  return { name, lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Creates a session record, checking the cluster-wide cap in the same step.
 * KEYS: session hash, active set. ARGV: prefix, id, maxActive, expiresAt, removeAt, status, owner
 * ('' for none), then the record's field/value pairs. Returns 1, 0 (cap reached) or -1 (exists).
 */
export const CREATE_SESSION = script(
  'createSession',
  `if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local now = nowMs()
local removeAt = tonumber(ARGV[5])
local status = ARGV[6]
if status == 'pending' or status == 'running' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 0 end
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
  extendTo(KEYS[2], removeAt, now)
  if ARGV[7] ~= '' then
    local owned = ARGV[1] .. 'broker:' .. ARGV[7] .. ':sessions'
    redis.call('SADD', owned, ARGV[2])
    extendTo(owned, removeAt, now)
  end
end
local fields = {}
for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], removeAt)
return 1`,
);

/**
 * Appends entries to a session's log and applies record changes, atomically and only in order.
 * KEYS: session hash, log stream, active set. ARGV: prefix, maxLen, n, first seq, last seq, then
 * n × (entry id `<seq>-0`, type, JSON event), then m, then m × (field, value; '' deletes the field).
 * The log is trimmed once per call. Returns the AppendOutcome.
 */
export const APPEND = script(
  'append',
  `local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
local lastSeq = tonumber(redis.call('HGET', KEYS[1], 'lastSeq'))
local n = tonumber(ARGV[3])
if n > 0 and tonumber(ARGV[5]) <= lastSeq then return 'duplicate' end
if status ~= 'pending' and status ~= 'running' then return 'ended' end
if n > 0 and tonumber(ARGV[4]) ~= lastSeq + 1 then return 'conflict' end
local log = KEYS[2]
for base = 6, 5 + n * 3, 3 do
  redis.call('XADD', log, ARGV[base], 't', ARGV[base + 1], 'e', ARGV[base + 2])
end
local set = {}
if n > 0 then
  redis.call('XTRIM', log, 'MAXLEN', ARGV[2])
  set[1] = 'lastSeq'
  set[2] = ARGV[5]
  if redis.call('PTTL', log) == -1 then
    local ttl = redis.call('PTTL', KEYS[1])
    if ttl > 0 then redis.call('PEXPIRE', log, ttl) end
  end
end
local c = 6 + n * 3
local m = tonumber(ARGV[c])
local newStatus = nil
for j = 0, m - 1 do
  local field = ARGV[c + 1 + j * 2]
  local value = ARGV[c + 2 + j * 2]
  if value == '' then
    redis.call('HDEL', KEYS[1], field)
  else
    set[#set + 1] = field
    set[#set + 1] = value
  end
  if field == 'status' then newStatus = value end
end
if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
if newStatus and newStatus ~= 'pending' and newStatus ~= 'running' then
  local id = redis.call('HGET', KEYS[1], 'id')
  redis.call('ZREM', KEYS[3], id)
  local owner = redis.call('HGET', KEYS[1], 'owner')
  if owner then redis.call('SREM', ARGV[1] .. 'broker:' .. owner .. ':sessions', id) end
end
return 'appended'`,
);

/**
 * Removes a session and frees its slot. KEYS: session hash, log stream, active set. ARGV: prefix,
 * id.
 */
export const DELETE_SESSION = script(
  'deleteSession',
  `local owner = redis.call('HGET', KEYS[1], 'owner')
if owner then redis.call('SREM', ARGV[1] .. 'broker:' .. owner .. ':sessions', ARGV[2]) end
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1], KEYS[2])
return 1`,
);

/**
 * Renews a broker's lease in the server's clock. KEYS: brokers set. ARGV: broker id, lease ms,
 * registry ttl ms.
 */
export const RENEW_LEASE = script(
  'renewLease',
  `local now = nowMs()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return now`,
);

/** Brokers whose lease has lapsed, in the server's clock. KEYS: brokers set. */
export const LOST_BROKERS = script(
  'lostBrokers',
  `return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. nowMs())`,
);

/**
 * Active sessions a broker owns, dropping stale members on the way. KEYS: the broker's sessions
 * set. ARGV: prefix, broker id, limit.
 */
export const OWNED_SESSIONS = script(
  'ownedSessions',
  `local found = {}
local limit = tonumber(ARGV[3])
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local fields = redis.call('HMGET', ARGV[1] .. 'session:' .. id, 'status', 'owner')
  if (fields[1] == 'pending' or fields[1] == 'running') and fields[2] == ARGV[2] then
    if #found < limit then found[#found + 1] = id end
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return found`,
);

/**
 * Forgets a lost broker that owns nothing and has not renewed. KEYS: brokers set, the broker's
 * sessions set. ARGV: broker id. Returns 1 when forgotten.
 */
export const FORGET_BROKER = script(
  'forgetBroker',
  `local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) >= nowMs() then return 0 end
if redis.call('SCARD', KEYS[2]) > 0 then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1`,
);

/**
 * A broker leaves: forgotten at once when it owns nothing, otherwise its lease is lapsed so that
 * peers end what it left. KEYS: brokers set, the broker's sessions set. ARGV: broker id.
 */
export const LEAVE = script(
  'leave',
  `if redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 0, ARGV[1])
end
return 1`,
);

/** Runs a script by its SHA, loading it when the server does not have it (after a restart). */
export async function runScript(
  connection: Redis,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await connection.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return connection.eval(script.lua, keys.length, ...keys, ...args);
  }
}
