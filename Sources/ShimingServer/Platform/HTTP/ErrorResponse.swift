import ShimingCore
import Vapor

/// The error body of API.md: `{"error":{"code","message","fields"?}}`.
struct ErrorResponse: Content {
    struct Detail: Content {
        var code: String
        var message: String
        var fields: [String: String]?
    }
    var error: Detail
}

/// Errors raised by the HTTP layer itself (routing, body parsing), with their texts.
enum HTTPFailure {
    static func error(for status: HTTPResponseStatus) -> UserFacingError {
        switch status {
        case .badRequest:
            return UserFacingError(code: "bad_request", kind: .badRequest,
                                   message: LocalizedText("请求格式不正确。", "The request is malformed."))
        case .unauthorized:
            return CommonErrors.unauthenticated
        case .forbidden:
            return CommonErrors.forbidden
        case .notFound:
            return CommonErrors.notFound
        case .methodNotAllowed:
            return UserFacingError(code: "method_not_allowed", kind: .badRequest,
                                   message: LocalizedText("不支持此请求方法。", "This method is not allowed here."))
        case .payloadTooLarge:
            return UserFacingError(code: "payload_too_large", kind: .badRequest,
                                   message: LocalizedText("上传的内容太大。", "The upload is too large."))
        case .unsupportedMediaType:
            return UserFacingError(code: "unsupported_media_type", kind: .badRequest,
                                   message: LocalizedText("不支持此内容类型，请发送 JSON。", "Unsupported content type; send JSON."))
        case .tooManyRequests:
            return UserFacingError(code: "rate_limited", kind: .rateLimited(retryAfterSeconds: 60),
                                   message: LocalizedText("操作过于频繁，请稍后再试。", "Too many attempts; please try again later."))
        case .serviceUnavailable:
            return UserFacingError(code: "unavailable", kind: .unavailable,
                                   message: LocalizedText("服务暂时不可用，请稍后再试。", "The service is unavailable; please try again later."))
        default:
            if status.code >= 500 { return internalFailure }
            return UserFacingError(code: "bad_request", kind: .badRequest,
                                   message: LocalizedText("请求无法处理。", "The request cannot be processed."))
        }
    }

    static let internalFailure = UserFacingError(
        code: "internal_error", kind: .internalFailure,
        message: LocalizedText("服务器出了点问题，我们已记录。请稍后再试。",
                               "Something went wrong on our side and has been logged. Please try again later.")
    )

    /// A body that could not be decoded, naming the field at fault.
    static func invalidBody(_ error: DecodingError) -> UserFacingError {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let keys = codingPath + (last.map { [$0] } ?? [])
            return keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        var fields: [String: String] = [:]
        switch error {
        case .keyNotFound(let key, let context):
            fields[path(context.codingPath, key)] = "required"
        case .valueNotFound(_, let context):
            fields[path(context.codingPath)] = "required"
        case .typeMismatch(_, let context):
            fields[path(context.codingPath)] = "invalid_type"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return UserFacingError(code: "invalid_json", kind: .badRequest,
                                       message: LocalizedText("请求内容不是有效的 JSON。", "The request body is not valid JSON."))
            }
            fields[path(context.codingPath)] = "invalid_value"
        @unknown default:
            break
        }
        return UserFacingError(code: "invalid_body", kind: .badRequest,
                               message: LocalizedText("请求内容有误，请检查标出的字段。", "The request body is invalid; check the named fields."),
                               fields: fields)
    }
}

extension ErrorKind {
    var status: HTTPResponseStatus {
        switch self {
        case .badRequest: .badRequest
        case .invalidInput: .unprocessableEntity
        case .unauthenticated: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .rateLimited: .tooManyRequests
        case .unavailable: .serviceUnavailable
        case .internalFailure: .internalServerError
        }
    }
}
