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
              let value = tree(of: buffer) else { return }
        let unknown = unknownFields(in: value, schema: schema, components: components, path: "")
        guard unknown.isEmpty else {
            throw UserFacingError(code: "unknown_field", kind: .invalidInput,
                                  message: LocalizedText("请求中有无法识别的字段。", "The request has fields this operation does not know."),
                                  fields: Dictionary(uniqueKeysWithValues: unknown.map { ($0, "unknown_field") }))
        }
    }

    /// The body's members: read by `JSONTree`, or, for what it leaves to Foundation (another
    /// encoding, a key written twice), by `JSONSerialization`, whose objects and arrays are all
    /// this check needs; nil for a body that is not JSON (decoding it then fails).
    static func tree(of buffer: ByteBuffer) -> JSONTree? {
        if let tree = buffer.withUnsafeReadableBytes({ try? JSONTree.parse($0) }) { return tree }
        guard let value = try? JSONSerialization.jsonObject(with: Data(buffer: buffer), options: [.fragmentsAllowed]) else { return nil }
        func tree(_ value: Any) -> JSONTree {
            switch value {
            case let items as [Any]: return .array(items.map(tree))
            case let members as [String: Any]:
                var object = JSONObject()
                for (key, member) in members { _ = object.append(key, tree(member)) }
                return .object(object)
            default: return .null
            }
        }
        return tree(value)
    }

    /// The dotted paths of fields the schema does not name.
    static func unknownFields(in value: JSONTree, schema: JSONSchema, components: [String: JSONSchema], path: String, depth: Int = 0) -> [String] {
        guard depth < 16 else { return [] }
        switch schema {
        case .ref(let name):
            guard let resolved = components[name] else { return [] }
            return unknownFields(in: value, schema: resolved, components: components, path: path, depth: depth + 1)
        case .nullable(let inner):
            if case .null = value { return [] }
            return unknownFields(in: value, schema: inner, components: components, path: path, depth: depth + 1)
        case .array(let items):
            guard case .array(let array) = value else { return [] }
            return array.enumerated().flatMap { index, item in
                unknownFields(in: item, schema: items, components: components, path: "\(path)[\(index)]", depth: depth + 1)
            }
        case .object(let properties, _, let additional):
            guard case .object(let object) = value else { return [] }
            return object.members.sorted { $0.key < $1.key }.flatMap { key, member -> [String] in
                let child = path.isEmpty ? key : "\(path).\(key)"
                if let property = properties[key] {
                    return unknownFields(in: member, schema: property, components: components, path: child, depth: depth + 1)
                }
                if let additional {
                    return unknownFields(in: member, schema: additional, components: components, path: child, depth: depth + 1)
                }
                return [child]
            }
        default:
            return []
        }
    }
}

/// API.md "Strictness" for query parameters: a documented parameter that is present must parse
/// as its schema says (a whole number, one of the allowed values, a UUID, a date); 422 naming it.
enum StrictQuery {
    static func check(_ req: Request, against parameters: [String: JSONSchema]) throws {
        guard !parameters.isEmpty, let query = req.url.query, !query.isEmpty else { return }
        let items = URLComponents(string: "?" + query)?.queryItems ?? []
        var problems: [String: String] = [:]
        for item in items {
            guard let schema = parameters[item.name] else { continue }
            if !accepts(item.value ?? "", schema) { problems[item.name] = "invalid_value" }
        }
        guard problems.isEmpty else { throw AccountError.invalid(problems) }
    }

    static func accepts(_ value: String, _ schema: JSONSchema) -> Bool {
        switch schema {
        case .integer(_, let minimum, let maximum):
            guard let number = Int(value) else { return false }
            return number >= (minimum ?? .min) && number <= (maximum ?? .max)
        case .boolean: return ["true", "false", "1", "0"].contains(value)
        case .nullable(let inner): return accepts(value, inner)
        case .string(let format, let allowed, _, let minLength, _):
            if let allowed, !allowed.contains(value) { return false }
            if let minLength, value.count < minLength { return false }
            switch format {
            case "uuid": return UUID(uuidString: value) != nil
            case "date": return value.wholeMatch(of: /[0-9]{4}-[0-9]{2}-[0-9]{2}/) != nil
            default: return true
            }
        default: return true
        }
    }
}

extension JSONSchema {
    /// A request schema as clients may send it: optional properties accept `null` (read as
    /// absent), which is what the decoders do.
    var acceptingNullForOptional: JSONSchema {
        switch self {
        case .object(let properties, let required, let additional):
            var result: [String: JSONSchema] = [:]
            for (name, property) in properties {
                let inner = property.acceptingNullForOptional
                if required.contains(name) { result[name] = inner; continue }
                if case .nullable = inner { result[name] = inner } else { result[name] = .nullable(inner) }
            }
            return .object(result, required: required, additional: additional)
        case .array(let items): return .array(items.acceptingNullForOptional)
        case .nullable(let inner): return .nullable(inner.acceptingNullForOptional)
        default: return self
        }
    }
}
