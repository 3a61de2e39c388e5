import ArgumentParser
import NIOCore
import NIOPosix

@main
enum AirlockMain {
    static func main() async {
        // Run Swift concurrency on NIO's event loops, installed before any task starts: a request handler then resumes
        // on the thread that does its socket I/O, which saves thread hops on every request. Safe because nothing in
        // Airlock blocks the concurrency pool: libcurl, BLAS and Redis calls run on threads of their own.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await Airlock.main()
    }
}
