import Foundation
import Synchronization

/// A JSON column of a stored row, decoded the first time it is read rather than when the row
/// is. A case's check results and decision come with the case everywhere, but few readers look
/// at them: a platform's verification query reads only who decided, and decoding both columns
/// of every row it read was the largest single part of its time on the request loops.
///
/// Written back (`$column.columnText()`), a column nobody changed is the text as it was read:
/// not encoded again, and kept as it is even if it could not be decoded (it then reads as nil,
/// where before the whole row failed to read). A changed column is encoded as `StoredJSON` does.
@propertyWrapper
struct LazyJSON<Value: Codable & Sendable & Equatable>: Sendable, Equatable {
    private final class Box: Sendable {
        /// The column as read (nil when the value was set in code).
        let text: String?
        /// The value: decoded at the first read of a column, given when set in code.
        let decoded: Mutex<Value??>

        init(text: String?) {
            self.text = text
            decoded = Mutex(text == nil ? .some(nil) : nil)
        }

        init(value: Value?) {
            text = nil
            decoded = Mutex(.some(value))
        }

        func part<Part: Decodable>(_ type: Part.Type, of whole: (Value) -> Part) -> Part? {
            if let known = decoded.withLock({ $0 }) { return known.map(whole) }
            return text.flatMap { try? StoredJSON.decode(Part.self, from: $0) }
        }

        var value: Value? {
            decoded.withLock { cached in
                if let known = cached { return known }
                let value = text.flatMap { try? StoredJSON.decode(Value.self, from: $0) }
                cached = .some(value)
                return value
            }
        }
    }

    private var box: Box

    init(wrappedValue: Value?) {
        box = Box(value: wrappedValue)
    }

    /// A column as read from the database (nil: SQL NULL).
    init(columnText: String?) {
        box = Box(text: columnText)
    }

    var wrappedValue: Value? {
        get { box.value }
        set { box = Box(value: newValue) }
    }

    var projectedValue: LazyJSON<Value> {
        get { self }
        set { self = newValue }
    }

    /// One part of the value, for a reader that needs no more: decoded alone from the column's
    /// text (`Part` declares only the members it reads) while the whole is not decoded, else
    /// taken from the whole (`whole`). nil where the value is nil or the text does not decode.
    func part<Part: Decodable>(_ type: Part.Type, of whole: (Value) -> Part) -> Part? {
        box.part(type, of: whole)
    }

    /// The text to store: as read when unchanged, else the value encoded.
    func columnText() throws -> String? {
        if let text = box.text { return text }
        return try box.value.map(StoredJSON.text)
    }

    static func == (lhs: LazyJSON, rhs: LazyJSON) -> Bool {
        lhs.wrappedValue == rhs.wrappedValue
    }
}
