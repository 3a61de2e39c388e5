import Testing
import TimeSource

@Suite struct TimeSourceTests {
    @Test func manualTimeMovesOnlyWhenAdvanced() async throws {
        let time = ManualTime()
        let start = time.now
        let wallStart = time.unixMilliseconds
        #expect(time.now == start)
        time.advance(by: .milliseconds(1500))
        #expect(time.now - start == .milliseconds(1500))
        #expect(time.unixMilliseconds - wallStart == 1500)
        try await time.sleep(for: .seconds(2))
        #expect(time.now - start == .milliseconds(3500))
        #expect(time.unixMilliseconds - wallStart == 3500)
    }

    @Test func systemTimeAgreesWithTheSystemClocks() {
        let time = SystemTime()
        let before = ContinuousClock.now
        let read = time.now
        #expect(read >= before && read <= ContinuousClock.now)
        #expect(time.unixMilliseconds > 1_700_000_000_000)
    }
}
