import Foundation
import NIOFoundationCompat
import ShimingCore
import Vapor

/// API.md "Strictness": a JSON body may carry only the fields its operation documents. The
/// operation's request schema is the list, so the refusal and `/openapi.json` cannot disagree;
/// nested objects are checked too (`identity.nmae` is named as such).
enum StrictBody {
    static func check(_ req: Request, against schema: JSONSchema, components: [String: JSONSchema]) throws {
        guard req.headers.contentType?.subType == "json", let buffer = req.body.data, buffer.readableBytes > 0,
              let value = try? JSONSerialization.jsonObject(with: Data(buffer: buffer), options: [.fragmentsAllowed]) else { return }
        let unknown = unknownFields(in: value, schema: schema, components: components, path: "")
        guard unknown.isEmpty else {
            throw UserFacingError(code: "unknown_field", kind: .invalidInput,
                                  message: LocalizedText("请求中有无法识别的字段。", "The request has fields this operation does not know."),
                                  fields: Dictionary(uniqueKeysWithValues: unknown.map { ($0, "unknown_field") }))
        }
    }

    /// The dotted paths of fields the schema does not name.
    static func unknownFields(in value: Any, schema: JSONSchema, components: [String: JSONSchema], path: String, depth: Int = 0) -> [String] {
        guard depth < 16 else { return [] }
        switch schema {
        case .ref(let name):
            guard let resolved = components[name] else { return [] }
            return unknownFields(in: value, schema: resolved, components: components, path: path, depth: depth + 1)
        case .nullable(let inner):
            return value is NSNull ? [] : unknownFields(in: value, schema: inner, components: components, path: path, depth: depth + 1)
        case .array(let items):
            guard let array = value as? [Any] else { return [] }
            return array.enumerated().flatMap { index, item in
                unknownFields(in: item, schema: items, components: components, path: "\(path)[\(index)]", depth: depth + 1)
            }
        case .object(let properties, _, let additional):
            guard let object = value as? [String: Any] else { return [] }
            return object.keys.sorted().flatMap { key -> [String] in
                let child = path.isEmpty ? key : "\(path).\(key)"
                if let property = properties[key] {
                    return unknownFields(in: object[key]!, schema: property, components: components, path: child, depth: depth + 1)
                }
                if let additional {
                    return unknownFields(in: object[key]!, schema: additional, components: components, path: child, depth: depth + 1)
                }
                return [child]
            }
        default:
            return []
        }
    }
}
