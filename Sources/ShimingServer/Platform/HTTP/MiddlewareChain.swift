import Vapor

/// The app's middlewares run one inside the other in one task, as one Vapor middleware.
///
/// Vapor runs each `AsyncMiddleware` of its own list in a task of its own, bridged through an
/// event-loop future to the next one (`AsyncMiddleware.respond(to:chainingTo:)` with a plain
/// `Responder`): a task, a promise and a suspension per middleware and request, and one more
/// task for an async route. Here the middlewares call each other directly, and an async route
/// that sits right behind them is called directly too; the order, the errors and the responses
/// are those of the same list given to Vapor.
struct MiddlewareChain: Middleware {
    /// Outermost first, as `Middlewares.use` takes them.
    let middlewares: [any AsyncMiddleware]

    init(_ middlewares: [any AsyncMiddleware]) {
        self.middlewares = middlewares
    }

    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let promise = request.eventLoop.makePromise(of: Response.self)
        promise.completeWithTask {
            try await Link(middlewares: middlewares[...], last: next).respond(to: request)
        }
        return promise.futureResult
    }

    /// The middlewares from one on, then the responder after them.
    private struct Link: AsyncResponder {
        let middlewares: ArraySlice<any AsyncMiddleware>
        let last: any Responder

        func respond(to request: Request) async throws -> Response {
            guard let middleware = middlewares.first else {
                // An async route is run in this task rather than in one of its own.
                if let route = last as? any AsyncResponder { return try await route.respond(to: request) }
                return try await last.respond(to: request).get()
            }
            return try await middleware.respond(to: request, chainingTo: Link(middlewares: middlewares.dropFirst(), last: last))
        }
    }
}
