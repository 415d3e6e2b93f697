import NIOCore
import PostgresNIO

/// A `text[]` value whose elements may be NULL, bound as one value: PostgresNIO binds arrays
/// of its own element types only, none of them optional. Used where rows are sent as one array
/// per column (`unnest`), so that a statement has the same text for any number of rows and
/// stays prepared.
struct NullableTexts: PostgresNonThrowingEncodable, Encodable, Sendable {
    let values: [String?]

    init(_ values: [String?]) {
        self.values = values
    }

    static var psqlType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    /// PostgreSQL's binary array: dimensions, a flag for NULLs, the element type, then each
    /// element as its length (-1: NULL) and bytes.
    func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        buffer.writeInteger(values.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(values.contains(nil) ? 1 : 0, as: Int32.self)
        buffer.writeInteger(String.psqlType.rawValue)
        guard !values.isEmpty else { return }
        buffer.writeInteger(Int32(values.count))
        buffer.writeInteger(1, as: Int32.self)  // the lower bound
        for value in values {
            guard let value else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            buffer.writeInteger(Int32(value.utf8.count))
            buffer.writeString(value)
        }
    }

    /// As a list of optional texts (for an encoder other than PostgresNIO's).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for value in values { try container.encode(value) }
    }
}
