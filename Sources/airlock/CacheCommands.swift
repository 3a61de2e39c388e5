import AirlockConfiguration
import AirlockServer
import ArgumentParser
import Digest
import Embeddings
import Foundation
import Inspection
import Logging
import Redis
import SemanticCache

/// `airlock cache …`.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Semantic cache tools.", subcommands: [CacheCalibrateCommand.self])
}

/// `airlock eval cache`: each pair in its own namespace; store `a`'s answer, look `b` up through the real path.
struct EvalCacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Cache precision and recall on labeled pairs.",
        discussion: """
            Each pair gets its own namespace: the answer for `a` is stored, then `b` is looked up through the real \
            path (exact layer, embedding, threshold, lexical gate, Redis). Starts its own redis-server unless \
            --redis-url is given (then it writes under the key prefix airlock-eval and deletes it afterwards).
            """)

    @Option(name: .long, help: "Labeled pairs (TSV: a, b, same; header line).")
    var pairs: String

    @Flag(name: .long, help: "Print one JSON object.")
    var json = false

    @Option(name: .customLong("redis-url"), help: "Use this Redis instead of starting one.")
    var redisURL: String?
    @Option(
        name: .long,
        help: "Semantic index: local (in process) or redis (Redis 8 vector sets; needs --redis-url to a Redis 8, or AIRLOCK_REDIS8_SERVER / .tools/redis-8.2.3/redis-server).")
    var index: String = "local"

    private var indexBackend: SemanticCacheConfiguration.IndexBackend {
        SemanticCacheConfiguration.IndexBackend(rawValue: index) ?? .local
    }

    @Option(name: .long, help: "Base threshold (default: the cache's default).")
    var threshold: Float?

    @Option(name: .long, help: "Model directory (default: $AIRLOCK_MODEL_DIR or models/all-MiniLM-L6-v2).")
    var model: String?

    @Option(
        name: .customLong("multilingual-model"),
        help: "The model for texts in other scripts than Latin (models/multilingual-e5-small), or off (default: as serve, cache.multilingual_model_dir).")
    var multilingualModel: String?

    @Option(name: .long, help: "Base thresholds by script, such as han=0.93,latin=0.9 (default: as serve, cache.thresholds).")
    var thresholds: String?

    @Flag(name: .customLong("show-wrong"), help: "With --crowded: print each wrong hit (the question, the entry).")
    var showWrong = false

    @Option(name: .long, help: "Nearest neighbours checked against the gate per lookup (default: the cache's).")
    var candidates: Int?

    @Option(
        name: .long,
        help: "Pass every text through the regex and NER prompt rules of this directory first, as serve does before the cache key (placeholders in place of names); pairs with a blocked text are left out.")
    var rules: String?

    @Flag(
        name: .long,
        help: """
            One crowded namespace instead of one per pair: store every distinct `a`, then ask every `b`, and count             the lookups served another question's answer (a hit on an entry not labeled the same question as `b`,             unless the two texts are identical).
            """)
    var crowded = false

    func run() async throws {
        let read = try LabeledPairs.read(pairs)
        let rows: [LabeledPairs.Row]
        if let rules { rows = try await Self.inspected(read, rulesDirectory: rules) } else { rows = read }
        guard SemanticCacheConfiguration.IndexBackend(rawValue: index) != nil else {
            throw ValidationError("--index must be local or redis")
        }
        let server = redisURL == nil ? try EphemeralRedisServer.start(vectorSets: indexBackend == .redis) : nil
        defer { server?.stop() }
        var logger = Logger(label: "airlock.eval")
        logger.logLevel = .warning
        var redisConfiguration = try RedisConfiguration(url: redisURL ?? server!.url)
        // Generous: the eval measures decisions, not latency, and must not count a slow moment as a miss.
        redisConfiguration.commandTimeout = .seconds(2)
        redisConfiguration.connectTimeout = .seconds(2)
        let redis = try RedisClient(configuration: redisConfiguration, logger: logger)
        defer { redis.shutdown() }
        let embedder = try loadLocalEmbedder(model)
        defer { embedder.shutdown() }
        // The cache as `airlock serve` would build it from this environment, the flags on top.
        var environment = ProcessInfo.processInfo.environment
        if let threshold { environment["AIRLOCK_CACHE_THRESHOLD"] = String(threshold) }
        if let thresholds { environment["AIRLOCK_CACHE_THRESHOLDS"] = thresholds }
        if let multilingualModel { environment["AIRLOCK_CACHE_MULTILINGUAL_MODEL_DIR"] = multilingualModel }
        let settings = try AirlockConfiguration.load(path: nil, environment: environment)
        var cacheConfiguration = settings.semanticCacheConfiguration
        cacheConfiguration.index = indexBackend
        cacheConfiguration.keyPrefix = "airlock-eval"
        if let candidates { cacheConfiguration.candidatesPerLookup = max(1, candidates) }
        var routes: [TextScript: SemanticCache.Route] = [:]
        var multilingualEngine: LocalEmbedder?
        if settings.usesMultilingualCacheModel {
            let engine = try loadLocalEmbedder(settings.cache.multilingualModelDirectory)
            multilingualEngine = engine
            routes = settings.multilingualCacheRoutes(engine)
        }
        defer { multilingualEngine?.shutdown() }
        let cache = try SemanticCache(
            configuration: cacheConfiguration, redis: redis, embedder: embedder,
            embeddingModel: settings.cacheEmbeddingModel, routes: routes, logger: logger)
        if crowded {
            try await runCrowded(
                rows, cache: cache, embedder: embedder, threshold: cacheConfiguration.threshold,
                byScript: Self.describe(cacheConfiguration))
            _ = try? await cache.delete(.all)
            return
        }

        let keys = rows.enumerated().map { index, row in
            (
                cache.key(CacheKeyInput(tenant: "eval-\(index)", model: "eval", lastUserTurn: row.a)),
                cache.key(CacheKeyInput(tenant: "eval-\(index)", model: "eval", lastUserTurn: row.b))
            )
        }
        // One batched pass through the same embedder the lookup would call: the vectors are identical, and the
        // run takes seconds instead of minutes.
        let vectors = try await cache.embed(keys.flatMap { [$0.0, $0.1] })
        var rates = Rates()
        var bypasses = 0
        try await withThrowingTaskGroup(of: (Bool, Bool, Bool).self) { group in
            var next = 0
            func addNext() {
                let index = next
                next += 1
                group.addTask {
                    let (storeKey, lookupKey) = keys[index]
                    let answer = CachedCompletion(model: "eval", content: "answer \(index)", finishReason: "stop")
                    _ = await cache.store(storeKey, completion: answer, vector: vectors[2 * index])
                    switch await cache.lookup(lookupKey, vector: vectors[2 * index + 1]) {
                    case .hit: return (true, rows[index].same, false)
                    case .miss: return (false, rows[index].same, false)
                    case .bypass: return (false, rows[index].same, true)
                    }
                }
            }
            for _ in 0..<min(8, rows.count) { addNext() }
            for try await (hit, same, bypassed) in group {
                rates.add(hit: hit, same: same)
                if bypassed { bypasses += 1 }
                if next < rows.count { addNext() }
            }
        }
        _ = try? await cache.delete(.all)
        if bypasses > 0 {
            FileHandle.standardError.write(Data("warning: \(bypasses) lookups bypassed the cache (Redis errors)\n".utf8))
        }
        let base = cacheConfiguration.threshold
        // Pairs labelled different whose texts are one after --rules (names become the same placeholders): the upstream
        // would receive the same request for both, so their exact hit is what a call would answer.
        let differentOneText = rows.filter { !$0.same && $0.a == $0.b }.count
        if json {
            print(
                #"{"pairs":\#(rows.count),"same":\#(rates.same),"different":\#(rates.different),"hits_same":\#(rates.hitsSame),"hits_different":\#(rates.hitsDifferent),"different_one_text":\#(differentOneText),"precision":\#(format(rates.precision, 4)),"recall":\#(format(rates.recall, 4)),"false_hit_rate":\#(format(rates.falseHitRate, 4)),"threshold":\#(format(base, 3))}"#
            )
        } else {
            print("pairs:             \(rows.count)")
            print("same:              \(rates.same)")
            print("different:         \(rates.different)")
            print("hits on same:      \(rates.hitsSame)")
            print("hits on different: \(rates.hitsDifferent)")
            if differentOneText > 0 {
                print("  of which one text after the rules: \(differentOneText) (the upstream would get the same request)")
            }
            print("precision:         \(format(rates.precision, 4))")
            print("recall:            \(format(rates.recall, 4))")
            print("false-hit rate:    \(format(rates.falseHitRate, 4))")
            print("threshold:         \(format(base, 3))\(Self.describe(cacheConfiguration)) (+ lexical gate)")
        }
    }
}

extension EvalCacheCommand {
    /// The scripts with their own threshold, and those served exactly only: ", han 0.990; exact only: kana, …".
    static func describe(_ configuration: SemanticCacheConfiguration) -> String {
        let own = configuration.thresholds.sorted { $0.key.rawValue < $1.key.rawValue }
            .map { "\($0.key.rawValue) \(format($0.value, 3))" }
        let exactOnly = TextScript.allCases.filter { !configuration.semanticScripts.contains($0) }.map(\.rawValue)
        return (own.isEmpty ? "" : ", " + own.joined(separator: ", "))
            + (exactOnly.isEmpty ? "" : "; exact hits only: " + exactOnly.joined(separator: ", "))
    }

    /// The crowded evaluation: one namespace holding every distinct `a`; every `b` asked against all of them.
    func runCrowded(
        _ rows: [LabeledPairs.Row], cache: SemanticCache, embedder: any Embedder, threshold: Float, byScript: String
    ) async throws {
        func key(_ text: String) -> CacheKey {
            cache.key(CacheKeyInput(tenant: "eval-crowded", model: "eval", lastUserTurn: text))
        }
        // Entries by exact id (two `a` that normalize alike are one entry, as in the real cache).
        var entries: [String] = []
        var entryByID: [String: Int] = [:]
        for row in rows {
            let id = key(row.a).exactID
            if entryByID[id] == nil {
                entryByID[id] = entries.count
                entries.append(row.a)
            }
        }
        // Which stored entries each `b` may be served: those labeled the same question as it.
        var sameAs: [String: Set<Int>] = [:]
        for row in rows where row.same {
            if let entry = entryByID[key(row.a).exactID] { sameAs[key(row.b).exactID, default: []].insert(entry) }
        }
        let storeKeys = entries.map(key)
        let storeVectors = try await cache.embed(storeKeys)
        _ = try await forEachConcurrently(storeKeys.indices) { index in
            let answer = CachedCompletion(model: "eval", content: "\(index)", finishReason: "stop")
            _ = await cache.store(storeKeys[index], completion: answer, vector: storeVectors[index])
            return ()
        }
        let lookupKeys = rows.map { key($0.b) }
        let lookupVectors = try await cache.embed(lookupKeys)
        var served = 0
        var wrong = 0
        var rightOnSame = 0
        var bypasses = 0
        let results = try await forEachConcurrently(lookupKeys.indices) { index -> (Int, Int?, Bool) in
            switch await cache.lookup(lookupKeys[index], vector: lookupVectors[index]) {
            case .hit(let hit): return (index, Int(hit.entry.completion.content), false)
            case .miss: return (index, nil, false)
            case .bypass: return (index, nil, true)
            }
        }
        for (index, entry, bypassed) in results {
            if bypassed { bypasses += 1 }
            guard let entry else { continue }
            served += 1
            let query = lookupKeys[index]
            let correct = storeKeys[entry].exactID == query.exactID || sameAs[query.exactID]?.contains(entry) == true
            if correct {
                if rows[index].same { rightOnSame += 1 }
            } else {
                wrong += 1
                if showWrong { print("WRONG\t\(rows[index].b)\t\(entries[entry])") }
            }
        }
        if bypasses > 0 {
            FileHandle.standardError.write(Data("warning: \(bypasses) lookups bypassed the cache (Redis errors)\n".utf8))
        }
        let lookups = rows.count
        let sameRows = rows.filter(\.same).count
        let wrongRate = lookups == 0 ? 0 : Double(wrong) / Double(lookups)
        let precision = served == 0 ? 1 : Double(served - wrong) / Double(served)
        let recall = sameRows == 0 ? 0 : Double(rightOnSame) / Double(sameRows)
        if json {
            print(
                #"{"mode":"crowded","entries":\#(entries.count),"lookups":\#(lookups),"served":\#(served),"wrong":\#(wrong),"wrong_rate":\#(format(wrongRate, 4)),"precision":\#(format(precision, 4)),"recall_on_same":\#(format(recall, 4)),"threshold":\#(format(threshold, 3))}"#
            )
        } else {
            print("entries stored:        \(entries.count) (one namespace)")
            print("lookups:               \(lookups)")
            print("served from cache:     \(served)")
            print("served a wrong answer: \(wrong) (\(format(wrongRate * 100, 2))% of lookups)")
            print("precision of hits:     \(format(precision, 4))")
            print("recall on same pairs:  \(format(recall, 4)) (\(rightOnSame) of \(sameRows))")
            print("threshold:             \(format(threshold, 3))\(byScript) (+ lexical gate)")
        }
    }
}

/// Runs `body` for every element, eight at a time; returns the results in completion order.
private func forEachConcurrently<Element: Sendable, Result: Sendable>(
    _ elements: some Collection<Element> & Sendable, _ body: @escaping @Sendable (Element) async throws -> Result
) async throws -> [Result] {
    try await withThrowingTaskGroup(of: Result.self) { group in
        var results: [Result] = []
        var iterator = elements.makeIterator()
        for _ in 0..<8 {
            guard let element = iterator.next() else { break }
            group.addTask { try await body(element) }
        }
        for try await result in group {
            results.append(result)
            if let element = iterator.next() { group.addTask { try await body(element) } }
        }
        return results
    }
}

/// Hits counted against labels.
struct Rates {
    var same = 0
    var different = 0
    var hitsSame = 0
    var hitsDifferent = 0

    mutating func add(hit: Bool, same isSame: Bool) {
        if isSame {
            same += 1
            if hit { hitsSame += 1 }
        } else {
            different += 1
            if hit { hitsDifferent += 1 }
        }
    }

    var precision: Double { hitsSame + hitsDifferent == 0 ? 1 : Double(hitsSame) / Double(hitsSame + hitsDifferent) }
    var recall: Double { same == 0 ? 0 : Double(hitsSame) / Double(same) }
    var falseHitRate: Double { different == 0 ? 0 : Double(hitsDifferent) / Double(different) }

    var json: String {
        #"{"precision":\#(format(precision, 4)),"recall":\#(format(recall, 4)),"false_hit_rate":\#(format(falseHitRate, 4))}"#
    }

    var row: String { "\(format(precision, 3))   \(format(recall, 3))    \(format(falseHitRate, 4))" }
}

func format(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
func format(_ value: Float, _ digits: Int) -> String { String(format: "%.\(digits)f", Double(value)) }

/// The `a`, `b`, `same` rows of a pair file: TSV with a header and CSV-style quoting.
extension EvalCacheCommand {
    /// `rows` with every text as the prompt rules of `rulesDirectory` leave it (regex and NER rules; the others do not
    /// change text), pairs with a blocked text left out; what changed is printed to standard error.
    static func inspected(_ rows: [LabeledPairs.Row], rulesDirectory: String) async throws -> [LabeledPairs.Row] {
        var packs: [RulePackDefinition]
        do {
            packs = try RuleSet.parsePacks(directory: rulesDirectory)
        } catch {
            throw ValidationError(error.description)
        }
        for p in packs.indices {
            for r in packs[p].rules.indices where ![RuleKind.regex, .ner].contains(packs[p].rules[r].kind) {
                packs[p].rules[r].enabled = false
            }
        }
        let needsNER = packs.contains { $0.enabled && $0.rules.contains { $0.enabled && $0.kind == .ner } }
        var logger = Logger(label: "airlock.eval")
        logger.logLevel = .error
        let recognizer = needsNER ? try loadRecognizer(nil) : nil
        let ruleSet: RuleSet
        do {
            ruleSet = try await RuleSet.compile(
                packs: packs, directory: rulesDirectory, recognizer: recognizer, logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        var seen: [String: String?] = [:]
        func inspect(_ text: String) -> String? {
            if let known = seen[text] { return known }
            let inspection = ruleSet.inspectPromptPatterns(messages: [InspectedMessage(role: "user", content: text)])
            let result: String? = inspection.decision == .allow ? inspection.messages[0].content : nil
            seen[text] = result
            return result
        }
        var kept: [LabeledPairs.Row] = []
        for row in rows {
            guard let a = inspect(row.a), let b = inspect(row.b) else { continue }
            kept.append(LabeledPairs.Row(a: a, b: b, same: row.same))
        }
        let changed = seen.filter { $0.value != nil && $0.value! != $0.key }.count
        let blocked = seen.values.filter { $0 == nil }.count
        var originals: [String: Set<String>] = [:]
        for (text, result) in seen { if let result { originals[result, default: []].insert(text) } }
        let merged = originals.values.filter { $0.count > 1 }.reduce(0) { $0 + $1.count }
        printError(
            "rules \(rulesDirectory): \(changed) of \(seen.count) distinct texts changed, \(blocked) blocked "
                + "(\(rows.count - kept.count) pairs left out), \(merged) distinct texts share their new text with another")
        return kept
    }
}

enum LabeledPairs {
    struct Row {
        var a: String
        var b: String
        var same: Bool
    }

    static func read(_ path: String) throws -> [Row] {
        let contents: String
        do {
            contents = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read \(path): \(error.localizedDescription)")
        }
        let records = parse(contents)
        guard let header = records.first, header.count >= 3 else { throw ValidationError("\(path): empty file") }
        let columns = header.map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        guard let a = columns.firstIndex(of: "a"), let b = columns.firstIndex(of: "b"),
            let same = columns.firstIndex(of: "same")
        else { throw ValidationError("\(path): expected the header columns a, b, same") }
        var rows: [Row] = []
        for (number, record) in records.dropFirst().enumerated() {
            if record.count == 1 && record[0].isEmpty { continue }
            guard record.count > max(a, b, same) else {
                throw ValidationError("\(path): record \(number + 2) has \(record.count) fields, expected 3")
            }
            switch record[same].trimmingCharacters(in: .whitespacesAndNewlines) {
            case "1": rows.append(Row(a: record[a], b: record[b], same: true))
            case "0": rows.append(Row(a: record[a], b: record[b], same: false))
            default: throw ValidationError("\(path): record \(number + 2): same must be 0 or 1")
            }
        }
        guard !rows.isEmpty else { throw ValidationError("\(path): no pairs") }
        return rows
    }

    /// Tab-separated records; a field that starts with a quote runs to the closing quote (`""` is a quote).
    static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var atFieldStart = true
        var characters = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar?
        func nextScalar() -> Unicode.Scalar? {
            if let scalar = pending {
                pending = nil
                return scalar
            }
            return characters.next()
        }
        while let scalar = nextScalar() {
            if quoted {
                if scalar == "\"" {
                    if let following = nextScalar() {
                        if following == "\"" {
                            field.unicodeScalars.append("\"")
                        } else {
                            quoted = false
                            pending = following
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where atFieldStart:
                quoted = true
                atFieldStart = false
            case "\t":
                record.append(field)
                field = ""
                atFieldStart = true
            case "\n":
                if field.hasSuffix("\r") { field.removeLast() }
                record.append(field)
                records.append(record)
                record = []
                field = ""
                atFieldStart = true
            default:
                field.unicodeScalars.append(scalar)
                atFieldStart = false
            }
        }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}

/// A throwaway `redis-server` on a unix socket in a temporary directory, persistence off.
final class EphemeralRedisServer {
    let directory: URL
    let process: Process
    var url: String { "unix://" + directory.appendingPathComponent("redis.sock").path }

    private init(directory: URL, process: Process) {
        self.directory = directory
        self.process = process
    }

    /// `vectorSets`: a Redis 8 (`AIRLOCK_REDIS8_SERVER`, else `.tools/redis-8.2.3/redis-server` from
    /// `scripts/fetch-redis8.sh`) instead of the system's.
    static func start(vectorSets: Bool = false) throws -> EphemeralRedisServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "airlock-eval-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let socket = directory.appendingPathComponent("redis.sock").path
        let process = Process()
        let candidates =
            vectorSets
            ? [ProcessInfo.processInfo.environment["AIRLOCK_REDIS8_SERVER"] ?? ".tools/redis-8.2.3/redis-server"]
            : ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ValidationError(
                vectorSets
                    ? "Redis 8 not found: run scripts/fetch-redis8.sh, set AIRLOCK_REDIS8_SERVER, or pass --redis-url"
                    : "redis-server not found: install it or pass --redis-url")
        }
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
            "--dir", directory.path, "--loglevel", "warning",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let server = EphemeralRedisServer(directory: directory, process: process)
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: socket) { return server }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        server.stop()
        throw ValidationError("redis-server did not start")
    }

    func stop() {
        // SIGKILL: the child inherits the spawning thread's blocked signals (SIGTERM among them on dispatch
        // threads), and there is nothing to save. Polled rather than `waitUntilExit()`, which spins a run loop
        // forever when called off the main thread.
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

