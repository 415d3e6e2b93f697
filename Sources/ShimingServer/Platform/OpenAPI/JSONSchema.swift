/// The subset of JSON Schema (2020-12, as used by OpenAPI 3.1) that Shiming's API needs.
public indirect enum JSONSchema: Sendable, Encodable, Equatable {
    /// A string, optionally with a format (`uuid`, `date-time`, `email`) or allowed values, a
    /// minimum length and a pattern.
    case string(format: String? = nil, allowed: [String]? = nil, description: String? = nil, minLength: Int? = nil, pattern: String? = nil)
    /// An integer, optionally within bounds (inclusive).
    case integer(description: String? = nil, minimum: Int? = nil, maximum: Int? = nil)
    /// A number.
    case number(description: String? = nil)
    /// A boolean.
    case boolean(description: String? = nil)
    /// An array of items.
    case array(JSONSchema)
    /// An object with named properties; `required` lists those that must be present.
    case object([String: JSONSchema], required: [String] = [], additional: JSONSchema? = nil)
    /// A reference to a named schema in `components.schemas`.
    case ref(String)
    /// A value that may also be `null`.
    case nullable(JSONSchema)

    private enum Key: String, CodingKey {
        case type, format, description, items, properties, required, additionalProperties, minLength, pattern, minimum, maximum
        case ref = "$ref"
        case allowed = "enum"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .string(let format, let allowed, let description, let minLength, let pattern):
            try container.encode("string", forKey: .type)
            try container.encodeIfPresent(format, forKey: .format)
            try container.encodeIfPresent(allowed, forKey: .allowed)
            try container.encodeIfPresent(description, forKey: .description)
            try container.encodeIfPresent(minLength, forKey: .minLength)
            try container.encodeIfPresent(pattern, forKey: .pattern)
        case .integer(let description, let minimum, let maximum):
            try container.encode("integer", forKey: .type)
            try container.encodeIfPresent(description, forKey: .description)
            try container.encodeIfPresent(minimum, forKey: .minimum)
            try container.encodeIfPresent(maximum, forKey: .maximum)
        case .number(let description):
            try container.encode("number", forKey: .type)
            try container.encodeIfPresent(description, forKey: .description)
        case .boolean(let description):
            try container.encode("boolean", forKey: .type)
            try container.encodeIfPresent(description, forKey: .description)
        case .array(let items):
            try container.encode("array", forKey: .type)
            try container.encode(items, forKey: .items)
        case .object(let properties, let required, let additional):
            try container.encode("object", forKey: .type)
            try container.encode(properties, forKey: .properties)
            if !required.isEmpty { try container.encode(required, forKey: .required) }
            // Requests may carry only the named fields (422 unknown_field); answers carry only these.
            if let additional { try container.encode(additional, forKey: .additionalProperties) } else { try container.encode(false, forKey: .additionalProperties) }
        case .ref(let name):
            try container.encode("#/components/schemas/\(name)", forKey: .ref)
        case .nullable(let inner):
            // OpenAPI 3.1 spells nullability as a type union.
            var single = encoder.singleValueContainer()
            try single.encode(NullableWrapper(inner: inner))
        }
    }

    private struct NullableWrapper: Encodable {
        let inner: JSONSchema
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            var alternatives = container.nestedUnkeyedContainer(forKey: AnyKey("oneOf"))
            try alternatives.encode(inner)
            try alternatives.encode(JSONSchemaNull())
        }
    }

    private struct JSONSchemaNull: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyKey.self)
            try container.encode("null", forKey: AnyKey("type"))
        }
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
