import AsyncKit
import ShimingCore
import Vapor

/// Turns every error into the API's error shape (JSON) or an error page (browsers), in the
/// request's language. Internal details — stack traces, SQL, driver messages — go to the log
/// with the request id, never into the response.
struct ShimingErrorMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        do {
            return try await next.respond(to: request)
        } catch {
            return Self.response(for: error, request: request)
        }
    }

    static func response(for error: any Error, request: Request) -> Response {
        let failure = userFacing(error)
        if case .internalFailure = failure.kind {
            request.logger.error("Unhandled error: \(String(reflecting: error))", metadata: ["request-id": .string(request.id)])
        }
        let status = failure.kind.status
        var headers = HTTPHeaders()
        if case .rateLimited(let seconds) = failure.kind {
            headers.replaceOrAdd(name: .retryAfter, value: String(seconds))
        }
        if case .unavailable = failure.kind {
            request.logger.warning("Unavailable: \(String(reflecting: error))", metadata: ["request-id": .string(request.id)])
            headers.replaceOrAdd(name: .retryAfter, value: "5")
        }
        let lang = request.lang
        if request.prefersHTML {
            // A frozen holder can still read and appeal: show the way there, not only home.
            let action: (LocalizedText, String)? = switch failure.code {
            case "account_frozen": (LocalizedText("查看我的申请并申诉", "My applications and the appeal"), "/cases")
            case "account_unconfirmed": (LocalizedText("去确认手机号或邮箱", "Confirm my phone or e-mail"), "/account")
            default: nil
            }
            let page = ErrorPage(status: status, message: failure.message(lang), lang: lang, path: request.url.path, action: action,
                                 helpPhone: request.application.shiming.configuration.helpPhone)
            headers.contentType = .html
            return Response(status: status, headers: headers, body: .init(string: page.render()))
        }
        let body = ErrorResponse(error: .init(
            code: failure.code,
            message: failure.message(lang),
            fields: failure.fields.isEmpty ? nil : failure.fields
        ))
        let response = Response(status: status, headers: headers)
        do {
            try response.content.encode(body, as: .json)
        } catch {
            response.body = .init(string: #"{"error":{"code":"internal_error","message":"internal error"}}"#)
        }
        response.headers.contentType = .init(type: "application", subType: "json", parameters: ["charset": "utf-8"])
        return response
    }

    /// Maps any error to what a user may see.
    static func userFacing(_ error: any Error) -> any ShimingError {
        switch error {
        case let error as any ShimingError:
            return error
        case let error as DecodingError:
            return HTTPFailure.invalidBody(error)
        case let error as any AbortError:
            return HTTPFailure.error(for: error.status)
        case is ConnectionPoolTimeoutError:
            // Every database connection stayed busy for the pool's whole wait: overloaded, not
            // broken, so the client is told to come back (503, Retry-After: 5).
            return HTTPFailure.error(for: .serviceUnavailable)
        default:
            return HTTPFailure.internalFailure
        }
    }
}
