import Crypto
import Fluent
import Foundation
import NIOPosix
import ShimingCore
import SQLKit

/// A stored file's row. The bytes are elsewhere (sealed); this holds what may be shown.
final class StoredFileRecord: Model, @unchecked Sendable {
    static let schema = "stored_files"

    @ID(key: .id) var id: UUID?
    @Field(key: "owner_id") var ownerID: UUID
    @Field(key: "purpose") var purpose: String
    @Field(key: "parent_id") var parentID: UUID
    @OptionalField(key: "kind") var kind: String?
    @Field(key: "content_type") var contentType: String
    @Field(key: "size") var size: Int
    @OptionalField(key: "width") var width: Int?
    @OptionalField(key: "height") var height: Int?
    @Field(key: "key_id") var keyID: String
    /// `FileSealing`; rows from before streamed uploads have none (`whole`).
    @OptionalField(key: "sealing") var sealing: String?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    func file() throws -> StoredFile {
        StoredFile(id: try requireID(), ownerID: ownerID, purpose: purpose, parentID: parentID, kind: kind,
                   format: StoredFile.format(contentType), size: size, width: width, height: height, createdAt: createdAt,
                   sealing: StoredFile.sealing(sealing), keyID: keyID)
    }
}

extension StoredFile {
    /// The columns of `stored_files` a `StoredFile` is made of.
    static let columnNames = ["id", "owner_id", "purpose", "parent_id", "kind", "content_type", "size", "width", "height", "key_id", "sealing",
                              "created_at"]
    /// The same, for a `SELECT`.
    static let columns = SQLQueryString(columnNames.joined(separator: ", "))

    /// A row read with `columns`.
    init(row: some SQLRow) throws {
        self.init(id: try row.value("id"), ownerID: try row.value("owner_id"), purpose: try row.value("purpose"),
                  parentID: try row.value("parent_id"), kind: try row.value("kind"), format: Self.format(try row.value("content_type")),
                  size: try row.value("size"), width: try row.value("width"), height: try row.value("height"),
                  createdAt: try row.value("created_at"), sealing: Self.sealing(try row.value("sealing")), keyID: try row.value("key_id"))
    }

    static func format(_ contentType: String) -> SniffedFile.Format {
        SniffedFile.Format.allCases.first { $0.contentType == contentType } ?? .pdf
    }

    /// Rows written before files were sealed as streams have no `sealing`: sealed whole.
    static func sealing(_ stored: String?) -> FileSealing {
        stored.flatMap(FileSealing.init(rawValue:)) ?? .whole
    }
}
