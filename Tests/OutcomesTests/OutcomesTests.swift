import Testing

@testable import Outcomes

@Suite struct OutcomeClassifierTests {
    let classifier = OutcomeClassifier()

    func body(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(arguments: [
        (200, #"{"choices":[{"message":{"role":"assistant","content":"Paris."},"finish_reason":"stop"}]}"#, "ok"),
        (200, #"{"choices":[{"message":{"content":"I'm sorry, but I can't help with that."}}]}"#, "refusal_model"),
        (200, #"{"choices":[{"message":{"content":"抱歉，我无法帮助您完成这个请求。"}}]}"#, "refusal_model"),
        // Thinking mode: the decline is in the reasoning and the answer is empty; with an answer, the answer counts.
        (200, #"{"choices":[{"message":{"content":"","reasoning_content":"I'm sorry, but I can't help with that."}}]}"#,
            "refusal_model"),
        (200, #"{"choices":[{"message":{"content":"Paris.","reasoning_content":"I'm sorry, but I can't say."}}]}"#, "ok"),
        (200, #"{"choices":[{"message":{"content":"Here is why people say \"I'm sorry, but I can't\" so often."}}]}"#, "ok"),
        (200, #"{"id": "x", "choices": ["#, "failure_malformed"),
        (200, #"{"id":"x"}"#, "failure_malformed"),
        (400, #"{"error":{"code":"data_inspection_failed","message":"Input data may contain inappropriate content."}}"#,
            "refusal_provider_input"),
        (400, #"{"error":{"code":"data_inspection_failed","message":"Output data may contain inappropriate content."}}"#,
            "refusal_provider_output"),
        (400, #"{"error":{"code":"InvalidParameter","message":"<400> InternalError.Algo.DataInspectionFailed: Input data may contain inappropriate content."}}"#,
            "refusal_provider_input"),
        (500, #"{"error":{"code":"DataInspectionFailed","message":"Output data may contain inappropriate content."}}"#,
            "refusal_provider_output"),
        (400, #"{"error":{"code":"invalid_parameter_error","message":"Range of input length should be [1, 30720]"}}"#,
            "failure_client_4xx"),
        (401, #"{"error":{"code":"invalid_api_key"}}"#, "failure_client_4xx"),
        (404, #"{"error":{"code":"model_not_found"}}"#, "failure_client_4xx"),
        (429, #"{"error":{"code":"limit_requests"}}"#, "failure_rate_limited"),
        (400, #"{"error":{"code":"insufficient_quota"}}"#, "failure_rate_limited"),
        (500, #"{"error":{"code":"internal_error"}}"#, "failure_upstream_5xx"),
        (503, "", "failure_upstream_5xx"),
    ])
    func wholeResponses(status: Int, text: String, expected: String) {
        #expect(classifier.classify(status: status, body: body(text)).name == expected)
    }

    @Test func labelsAndKinds() {
        #expect(Outcome.blockedPrompt(rule: "pii-cn/cn-id").description == "blocked_prompt:pii-cn/cn-id")
        #expect(Outcome.blockedPrompt(rule: "x").name == "blocked_prompt")
        #expect(Outcome.refusalModel.kind == .refusal && Outcome.failureStreamCut.kind == .failure)
        #expect(Outcome.allNames.count == 16)
        #expect(!Outcome.refusalProviderInput.isTransientFailure && Outcome.failureUpstream5xx.isTransientFailure)
    }
}

@Suite struct CircuitBreakerTests {
    @Test func opensAfterThresholdThenProbesAfterCoolDown() {
        var breaker = CircuitBreakerState(settings: .init(failureThreshold: 3, coolDown: .seconds(10)))
        let t0 = ContinuousClock.now
        for _ in 0..<2 {
            #expect(breaker.admit(now: t0) == .allowed)
            breaker.recordFailure(now: t0)
        }
        #expect(breaker.phase == .closed)
        breaker.recordFailure(now: t0)
        #expect(breaker.phase == .open)
        #expect(breaker.admit(now: t0 + .seconds(5)) == .rejected)
        #expect(breaker.admit(now: t0 + .seconds(11)) == .probe)
        #expect(breaker.admit(now: t0 + .seconds(11)) == .rejected, "one probe at a time")
        breaker.recordFailure(now: t0 + .seconds(11))
        #expect(breaker.phase == .open)
        #expect(breaker.admit(now: t0 + .seconds(22)) == .probe)
        breaker.recordSuccess()
        #expect(breaker.phase == .closed && breaker.admit(now: t0 + .seconds(22)) == .allowed)
    }

    @Test func successResetsTheCount() {
        var breaker = CircuitBreakerState(settings: .init(failureThreshold: 2))
        breaker.recordFailure(now: .now)
        breaker.recordSuccess()
        breaker.recordFailure(now: .now)
        #expect(breaker.phase == .closed)
    }
}

@Suite struct RetryPolicyTests {
    @Test func retryableOutcomes() {
        #expect(RetryPolicy.isRetryable(.failureRateLimited, connectPhase: false))
        #expect(RetryPolicy.isRetryable(.failureUpstream5xx, connectPhase: false))
        #expect(RetryPolicy.isRetryable(.failureNetwork, connectPhase: true))
        #expect(!RetryPolicy.isRetryable(.failureNetwork, connectPhase: false))
        #expect(!RetryPolicy.isRetryable(.failureTimeout, connectPhase: false))
        #expect(!RetryPolicy.isRetryable(.refusalProviderInput, connectPhase: true))
        #expect(!RetryPolicy.isRetryable(.failureClient4xx, connectPhase: true))
    }

    @Test func backoffIsBoundedJitteredAndRespectsRetryAfterAndDeadline() {
        let policy = RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(100), maxDelay: .seconds(2))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<100 {
            let first = policy.delay(retry: 1, retryAfter: nil, remaining: nil, using: &generator)!
            #expect(first >= .zero && first <= .milliseconds(100))
            let second = policy.delay(retry: 2, retryAfter: nil, remaining: nil, using: &generator)!
            #expect(second <= .milliseconds(200))
        }
        #expect(policy.delay(retry: 3, retryAfter: nil, remaining: nil, using: &generator) == nil)
        #expect(policy.delay(retry: 1, retryAfter: .seconds(1), remaining: nil, using: &generator) == .seconds(1))
        #expect(policy.delay(retry: 1, retryAfter: .seconds(5), remaining: .seconds(2), using: &generator) == nil)
        #expect(RetryPolicy.parseRetryAfter("1") == .seconds(1))
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT") == nil)
    }
}
