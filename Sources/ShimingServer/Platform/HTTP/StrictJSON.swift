import Foundation
import NIOFoundationCompat
import ShimingCore
import Vapor

extension Request {
    /// Decodes a JSON body, refusing fields the operation does not know (API.md "Strictness":
    /// 422 `unknown_field` naming them) and a body that is not a JSON object.
    func strictContent<T: Decodable>(_ type: T.Type, fields: Set<String>) throws -> T {
        guard let buffer = body.data, let object = try? JSONSerialization.jsonObject(with: Data(buffer: buffer)) as? [String: Any] else {
            throw UserFacingError(code: "invalid_json", kind: .badRequest,
                                  message: LocalizedText("请求内容应为 JSON 对象。", "The body must be a JSON object."))
        }
        let unknown = Set(object.keys).subtracting(fields)
        guard unknown.isEmpty else {
            throw UserFacingError(code: "unknown_field", kind: .invalidInput,
                                  message: LocalizedText("请求中有无法识别的字段。", "The request has fields this operation does not know."),
                                  fields: Dictionary(uniqueKeysWithValues: unknown.map { ($0, "unknown_field") }))
        }
        return try content.decode(T.self)
    }
}
