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

/// Who may use the admin routes (`/airlock/*`).
public enum AdminAccess: Sendable, Equatable {
    /// `Authorization: Bearer <token>` is required (compared in constant time).
    case token(String)
    /// No token, and Airlock itself listens on loopback: only loopback clients are answered. A proxy or mesh sidecar
    /// on the same host could still reach Airlock from loopback, which is why this holds only when Airlock does not
    /// listen beyond the host at all.
    case loopbackOnly
    /// No token and a listen address beyond loopback: the admin routes answer no one.
    case off

    public init(token: String?, listenHost: String) {
        if let token {
            self = .token(token)
        } else if Self.isLoopbackHost(listenHost) {
            self = .loopbackOnly
        } else {
            self = .off
        }
    }

    /// `127.0.0.0/8`, `::1` and `localhost`; `0.0.0.0`, `::` and every other address are not loopback.
    public static func isLoopbackHost(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }

    /// For the start-up log.
    public var summary: String {
        switch self {
        case .token: "admin routes (/airlock/*) need the admin token"
        case .loopbackOnly:
            "no AIRLOCK_ADMIN_TOKEN is set and Airlock listens on loopback: the admin routes (/airlock/*) answer any loopback client"
        case .off:
            "no AIRLOCK_ADMIN_TOKEN is set and Airlock listens beyond loopback: the admin routes (/airlock/*) are off"
        }
    }
}

/// Guards `/airlock/*` according to ``AdminAccess``.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AirlockRequestContext
    let access: AdminAccess

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch access {
        case .token(let token):
            guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
                Self.constantTimeEquals(Array(header.utf8.dropFirst(7)), Array(token.utf8))
            else {
                throw AirlockHTTPError(
                    status: .unauthorized, message: "Admin routes need Authorization: Bearer <AIRLOCK_ADMIN_TOKEN>.",
                    type: "airlock_admin_error", code: "unauthorized")
            }
        case .loopbackOnly:
            guard Self.isLoopback(context.remoteAddress) else {
                throw AirlockHTTPError(
                    status: .forbidden,
                    message: "No admin token is configured, so admin routes answer on loopback only. Set AIRLOCK_ADMIN_TOKEN.",
                    type: "airlock_admin_error", code: "loopback_only")
            }
        case .off:
            throw AirlockHTTPError(
                status: .forbidden,
                message: "Admin routes are off: Airlock listens beyond loopback and no admin token is configured. Set AIRLOCK_ADMIN_TOKEN.",
                type: "airlock_admin_error", code: "admin_disabled")
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
