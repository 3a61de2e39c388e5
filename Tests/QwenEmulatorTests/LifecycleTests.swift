import AirlockTestSupport
import NIOCore
import NIOPosix
import QwenEmulator
import ServiceLifecycle
import Testing

@Suite("Lifecycle")
struct LifecycleTests {
    struct BodyFailure: Error {}

    @Test("withRunning shuts the emulator down afterwards, also when the body throws")
    func withRunningShutsDown() async throws {
        // Stopped: waiting for its port fails. (Whether the port still accepts is not asked: another test's server may
        // have bound it since.)
        let emulator = try await QwenEmulator.withRunning { emulator, _ in
            _ = try await emulator.waitUntilListening()
            return emulator
        }
        await #expect(throws: EmulatorError.self) { try await emulator.waitUntilListening() }

        let holder = EmulatorHolder()
        await #expect(throws: BodyFailure.self) {
            try await QwenEmulator.withRunning { emulator, _ in
                _ = try await emulator.waitUntilListening()
                holder.emulator = emulator
                throw BodyFailure()
            }
        }
        let thrown = try #require(holder.emulator)
        await #expect(throws: EmulatorError.self) { try await thrown.waitUntilListening() }
    }

    final class EmulatorHolder: @unchecked Sendable {
        // @unchecked Sendable: set once inside the body, read after withRunning returned.
        var emulator: QwenEmulator?
    }

    @Test("withRunning returns while a timeout fault is still holding a request")
    func shutdownWithRequestInFlight() async throws {
        // Returning at all is the point: the held request ends on graceful shutdown. (How long that takes is not
        // asserted; on a loaded machine it is slower, and withRunning bounds it in any case.)
        let emulator = try await QwenEmulator.withRunning { emulator, _ in
            let port = try await emulator.waitUntilListening()
            let client = LoopbackHTTPClient(port: port)
            async let abandoned = client.sendAndAbandon(
                path: "/compatible-mode/v1/chat/completions",
                json: #"{"model":"qwen-plus","messages":[{"role":"user","content":"x"}]}"#,
                headers: [("x-emulator-fault", "timeout")], after: .seconds(2))
            try await eventually { emulator.stats.faultsServed["timeout"] == 1 }
            _ = try? await abandoned
            return emulator
        }
        await #expect(throws: EmulatorError.self) { try await emulator.waitUntilListening() }
    }

    @Test("the emulator runs as a Service in a ServiceGroup and stops on graceful shutdown")
    func serviceGroup() async throws {
        let emulator = QwenEmulator()
        let group = ServiceGroup(
            configuration: .init(services: [emulator], logger: QwenEmulator.quietLogger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try await emulator.waitUntilListening()
            #expect(try await LoopbackHTTPClient(port: port).chat("hi").status == 200)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // Stopped: its run returned. (Whether the port still accepts is not asked: another test's server may have
        // bound it since.)
        await #expect(throws: EmulatorError.self) { try await emulator.waitUntilListening() }
    }

    @Test("an emulator whose port is taken fails instead of hanging")
    func bindFailure() async throws {
        try await QwenEmulator.withRunning { first, _ in
            var configuration = EmulatorConfiguration()
            configuration.port = try await first.waitUntilListening()
            let second = QwenEmulator(configuration: configuration, logger: QwenEmulator.quietLogger)
            await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await second.run() }
                await #expect(throws: (any Error).self) { try await second.waitUntilListening() }
                tasks.cancelAll()
            }
        }
    }
}
