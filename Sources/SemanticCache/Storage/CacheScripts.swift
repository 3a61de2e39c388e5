/// Lua run by Redis so that each read-modify-write on an entry is one atomic round trip. Every key a script
/// touches carries the namespace's hash tag, so a namespace stays on one Redis Cluster slot.
enum CacheScripts {
    /// KEYS: entry, lru[, vector set, expiry set]. ARGV: now (ms), id. Returns the entry's fields (HGETALL) after
    /// counting the hit, or an empty array when the entry has expired (then its id leaves the LRU set too, and the
    /// vector set and expiry set when given).
    static let hit = """
        local fields = redis.call('HGETALL', KEYS[1])
        if #fields == 0 then
          redis.call('ZREM', KEYS[2], ARGV[2])
          if KEYS[4] then
            redis.call('VREM', KEYS[3], ARGV[2])
            redis.call('ZREM', KEYS[4], ARGV[2])
          end
          return fields
        end
        redis.call('HINCRBY', KEYS[1], 'h', 1)
        redis.call('ZADD', KEYS[2], 'XX', ARGV[1], ARGV[2])
        return fields
        """

    /// KEYS: entry, lru. ARGV: ttl (ms), now (ms), id, cap, entry key prefix, then field/value pairs.
    /// Replaces the entry, sets its TTL, records it in the LRU set, evicts the least recently hit entries past
    /// the cap, and returns the evicted ids.
    static let store = """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], unpack(ARGV, 6))
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
        local pttl = redis.call('PTTL', KEYS[2])
        if pttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
        local cap = tonumber(ARGV[4])
        local n = redis.call('ZCARD', KEYS[2])
        if n <= cap then return {} end
        local evicted = redis.call('ZRANGE', KEYS[2], 0, n - cap - 1)
        for _, id in ipairs(evicted) do redis.call('DEL', ARGV[5] .. id) end
        redis.call('ZREM', KEYS[2], unpack(evicted))
        return evicted
        """

    /// The store of the vector-set backend. KEYS: entry, lru, vector set, expiry set. ARGV: ttl (ms), now (ms), id,
    /// cap, entry key prefix, expires at (ms), then field/value pairs. As `store`, and the entry's expiry joins the
    /// expiry set; an evicted entry leaves all four sets, so the index never holds what the cache no longer has. The
    /// vector itself is added by a `VADD … CAS` sent right after this script (not from it: inside a script the
    /// insertion's neighbour search would run on Redis's main thread, 1–6 ms for every store at 50k–1M members,
    /// during which Redis answers no one).
    static let storeWithVectorSet = """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], unpack(ARGV, 7))
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
        redis.call('ZADD', KEYS[4], ARGV[6], ARGV[3])
        for i = 2, 4 do
          if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
        end
        local cap = tonumber(ARGV[4])
        local n = redis.call('ZCARD', KEYS[2])
        if n <= cap then return {} end
        local evicted = redis.call('ZRANGE', KEYS[2], 0, n - cap - 1)
        for _, id in ipairs(evicted) do
          redis.call('DEL', ARGV[5] .. id)
          redis.call('VREM', KEYS[3], id)
        end
        redis.call('ZREM', KEYS[2], unpack(evicted))
        redis.call('ZREM', KEYS[4], unpack(evicted))
        return evicted
        """

    /// KEYS: expiry set, vector set, lru. ARGV: now (ms), batch. Removes up to `batch` entries whose expiry has
    /// passed from the three sets (Redis expired the entries themselves); returns how many.
    static let sweepVectorSet = """
        local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        for _, id in ipairs(ids) do redis.call('VREM', KEYS[2], id) end
        if #ids > 0 then
          redis.call('ZREM', KEYS[1], unpack(ids))
          redis.call('ZREM', KEYS[3], unpack(ids))
        end
        return #ids
        """
}
