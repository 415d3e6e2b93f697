import Foundation

/// The types the hot paths read columns as, told apart by the identity of the type asked for.
///
/// The row readers (`DirectSQLiteRow`, `KeptRow`) are asked for a value through SQLKit's generic
/// `decode(column:as:)`, unspecialised. Comparing the type asked for with `String?.self`
/// there asks the runtime for `Optional<String>`'s metadata at every comparison (a lookup in
/// its cache), and handing the value back with `as? T` is a dynamic cast, for every value of
/// every row. These identities are computed once; a value of the type found is handed back as
/// it is (`unsafeBitCast` to the same type).
enum ColumnType {
    case string, optionalString, uuid, optionalUUID, date, optionalDate
    case int, optionalInt, int64, optionalInt64, bool, optionalBool

    private static let known: [ObjectIdentifier: ColumnType] = [
        ObjectIdentifier(String.self): .string, ObjectIdentifier(String?.self): .optionalString,
        ObjectIdentifier(UUID.self): .uuid, ObjectIdentifier(UUID?.self): .optionalUUID,
        ObjectIdentifier(Date.self): .date, ObjectIdentifier(Date?.self): .optionalDate,
        ObjectIdentifier(Int.self): .int, ObjectIdentifier(Int?.self): .optionalInt,
        ObjectIdentifier(Int64.self): .int64, ObjectIdentifier(Int64?.self): .optionalInt64,
        ObjectIdentifier(Bool.self): .bool, ObjectIdentifier(Bool?.self): .optionalBool,
    ]

    /// The kind of `type` (a value's dynamic type too: `type(of:)` of a bound value), nil for
    /// any other type.
    static func of(_ type: any Any.Type) -> ColumnType? { known[ObjectIdentifier(type)] }

    /// `value` as `T`, which `of` found to be `V` itself.
    @inline(__always)
    static func same<V, T>(_ value: V, as type: T.Type) -> T {
        unsafeBitCast(value, to: T.self)
    }
}
