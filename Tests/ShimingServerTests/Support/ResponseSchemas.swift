import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Every JSON answer of an `/api/` call the tests make is checked against the schema the served
/// OpenAPI document gives for that operation and status, so the document cannot drift from
/// what the handlers send. Objects with listed properties are closed: a field the document does
/// not name is drift too.
struct ResponseSchemas: Sendable {
    let document: OpenAPIDocument.Document

    init(app: Application) {
        document = OpenAPIDocument.build(routes: app.routes.all, version: "test")
    }

    /// The problems of one response, empty when it matches (or is not a documented JSON answer).
    func problems(method: HTTPMethod, path: String, response: TestingHTTPResponse) -> [String] {
        let bare = String(path.split(separator: "?", maxSplits: 1).first ?? "")
        guard bare.hasPrefix("/api/"), response.headers.contentType?.subType == "json",
              let operation = operation(method: method, path: bare) else { return [] }
        let status = String(response.status.code)
        guard let declared = operation.responses[status] ?? (response.status.code >= 400 ? operation.responses["default"] : nil) else {
            return ["\(method) \(bare): status \(status) is not in the document"]
        }
        guard let schema = declared.content?["application/json"]?.schema else { return [] }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)) else {
            return ["\(method) \(bare) \(status): the body is not JSON"]
        }
        return check(value, schema, at: "\(method) \(bare) \(status) $")
    }

    func operation(method: HTTPMethod, path: String) -> OpenAPIDocument.Operation? {
        let segments = path.split(separator: "/")
        for (template, operations) in document.paths {
            let parts = template.split(separator: "/")
            guard parts.count == segments.count,
                  zip(parts, segments).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }) else { continue }
            if let operation = operations[method.rawValue.lowercased()] { return operation }
        }
        return nil
    }

    func check(_ value: JSONValue, _ schema: JSONSchema, at place: String) -> [String] {
        switch (schema, value) {
        case (.nullable, .null): return []
        case (.nullable(let inner), _): return check(value, inner, at: place)
        case (.ref(let name), _):
            guard let named = document.components.schemas[name] else { return ["\(place): unknown schema \(name)"] }
            return check(value, named, at: place)
        case (.string(_, let allowed, _, _, _), .string(let text)):
            if let allowed, !allowed.contains(text) { return ["\(place): \"\(text)\" is not one of \(allowed)"] }
            return []
        case (.integer, .number(let number)) where number.rounded() == number: return []
        case (.number, .number), (.boolean, .bool): return []
        case (.array(let items), .array(let elements)):
            return elements.enumerated().flatMap { check($1, items, at: "\(place)[\($0)]") }
        case (.object(let properties, let required, let additional), .object(let members)):
            var found = required.filter { members[$0] == nil }.map { "\(place): required \"\($0)\" is missing" }
            for (key, member) in members {
                if let property = properties[key] {
                    found += check(member, property, at: "\(place).\(key)")
                } else if let additional {
                    found += check(member, additional, at: "\(place).\(key)")
                } else if !properties.isEmpty {
                    found.append("\(place): \"\(key)\" is not in the document")
                }
            }
            return found
        default:
            return ["\(place): \(value.kind) where the document says \(schema.kind)"]
        }
    }
}

/// A decoded JSON value, kept apart from Foundation's bridging (so true is never 1).
enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let string = try? container.decode(String.self) { self = .string(string) }
        else if let array = try? container.decode([JSONValue].self) { self = .array(array) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONSchema {
    var kind: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .number: "a number"
        case .boolean: "a boolean"
        case .array: "an array"
        case .object: "an object"
        case .ref(let name): name
        case .nullable(let inner): "\(inner.kind) or null"
        }
    }
}
