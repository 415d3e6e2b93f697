import Crypto
import Fluent
import Foundation
import NIOPosix
import ShimingCore

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
        let format = SniffedFile.Format.allCases.first { $0.contentType == contentType } ?? .pdf
        return StoredFile(id: try requireID(), ownerID: ownerID, purpose: purpose, parentID: parentID, kind: kind, format: format,
                          size: size, width: width, height: height, createdAt: createdAt,
                          sealing: sealing.flatMap(FileSealing.init(rawValue:)) ?? .whole, keyID: keyID)
    }
}
