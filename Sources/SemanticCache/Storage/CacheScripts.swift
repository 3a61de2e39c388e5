/// Lua run by Redis so that each read-modify-write on an entry is one atomic round trip. Every key a script
/// touches carries the namespace's hash tag, so a namespace stays on one Redis Cluster slot.
enum CacheScripts {
    /// KEYS: entry, lru. ARGV: now (ms), id. Returns the entry's fields (HGETALL) after counting the hit, or an
    /// empty array when the entry has expired (then its id leaves the LRU set too).
    static let hit = """
        local fields = redis.call('HGETALL', KEYS[1])
        if #fields == 0 then
          redis.call('ZREM', KEYS[2], ARGV[2])
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
}
