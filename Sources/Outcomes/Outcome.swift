/// How one request ended: exactly one per request (design.md §2). A refusal is a decision; a failure is an accident.
public enum Outcome: Sendable, Hashable, CustomStringConvertible {
    case ok
    case cacheHit
    case blockedPrompt(rule: String)
    case blockedOutput(rule: String)
    case refusalProviderInput
    case refusalProviderOutput
    case refusalModel
    case failureTimeout
    case failureRateLimited
    case failureUpstream5xx
    case failureNetwork
    case failureMalformed
    case failureClient4xx
    case failureStreamCut
    case failureCircuitOpen
    case invalidRequest

    public enum Kind: String, Sendable, CaseIterable {
        case ok, cacheHit = "cache_hit", blocked, refusal, failure, invalid
    }

    public var kind: Kind {
        switch self {
        case .ok: .ok
        case .cacheHit: .cacheHit
        case .blockedPrompt, .blockedOutput: .blocked
        case .refusalProviderInput, .refusalProviderOutput, .refusalModel: .refusal
        case .failureTimeout, .failureRateLimited, .failureUpstream5xx, .failureNetwork, .failureMalformed,
            .failureClient4xx, .failureStreamCut, .failureCircuitOpen:
            .failure
        case .invalidRequest: .invalid
        }
    }

    /// The name without the rule: a fixed set, safe as a metric label.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .cacheHit: "cache_hit"
        case .blockedPrompt: "blocked_prompt"
        case .blockedOutput: "blocked_output"
        case .refusalProviderInput: "refusal_provider_input"
        case .refusalProviderOutput: "refusal_provider_output"
        case .refusalModel: "refusal_model"
        case .failureTimeout: "failure_timeout"
        case .failureRateLimited: "failure_rate_limited"
        case .failureUpstream5xx: "failure_upstream_5xx"
        case .failureNetwork: "failure_network"
        case .failureMalformed: "failure_malformed"
        case .failureClient4xx: "failure_client_4xx"
        case .failureStreamCut: "failure_stream_cut"
        case .failureCircuitOpen: "failure_circuit_open"
        case .invalidRequest: "invalid_request"
        }
    }

    /// The full label, as in the `x-airlock-outcome` header: `blocked_prompt:<rule>` carries the rule.
    public var description: String {
        switch self {
        case .blockedPrompt(let rule): "blocked_prompt:\(rule)"
        case .blockedOutput(let rule): "blocked_output:\(rule)"
        default: name
        }
    }

    /// Every outcome name, for metrics created once at start-up.
    public static let allNames: [String] = [
        "ok", "cache_hit", "blocked_prompt", "blocked_output", "refusal_provider_input", "refusal_provider_output",
        "refusal_model", "failure_timeout", "failure_rate_limited", "failure_upstream_5xx", "failure_network",
        "failure_malformed", "failure_client_4xx", "failure_stream_cut", "failure_circuit_open", "invalid_request",
    ]

    /// Failures another attempt (or another upstream target) may fix. Never a refusal, never a client error.
    public var isTransientFailure: Bool {
        switch self {
        case .failureTimeout, .failureRateLimited, .failureUpstream5xx, .failureNetwork, .failureCircuitOpen: true
        default: false
        }
    }

    /// Whether it may be stored in the cache: only clean answers.
    public var isCacheable: Bool { self == .ok }
}
