public import Hummingbird
public import NIOCore

/// The request context of Airlock's routes: Hummingbird's core storage plus the client's address, which admin routes
/// use to answer only on loopback when no admin token is configured, and the connection, whose event loop paces
/// streamed answers.
public struct AirlockRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}

/// Guards `/airlock/*`: with a token, `Authorization: Bearer <token>` is required (compared in constant time); without
/// one, only loopback clients are answered.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AirlockRequestContext
    let token: String?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        if let token {
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
                Self.constantTimeEquals(Array(header.utf8.dropFirst(7)), Array(token.utf8))
            else {
                throw AirlockHTTPError(
                    status: .unauthorized, message: "Admin routes need Authorization: Bearer <AIRLOCK_ADMIN_TOKEN>.",
                    type: "airlock_admin_error", code: "unauthorized")
            }
            return try await next(request, context)
        }
        guard Self.isLoopback(context.remoteAddress) else {
            throw AirlockHTTPError(
                status: .forbidden,
                message: "No admin token is configured, so admin routes answer on loopback only. Set AIRLOCK_ADMIN_TOKEN.",
                type: "airlock_admin_error", code: "loopback_only")
        }
        return try await next(request, context)
    }

    static func isLoopback(_ address: SocketAddress?) -> Bool {
        guard let ip = address?.ipAddress else { return address?.pathname != nil }  // unix sockets are local
        return ip.hasPrefix("127.") || ip == "::1" || ip.hasPrefix("::ffff:127.")
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
