import Foundation
import IdentityRules
import ShimingCore
import Vapor

struct StoredFileView: Content {
    var id: UUID
    var kind: String?
    var size: Int
    var contentType: String
    var width: Int?
    var height: Int?
    var createdAt: Date

    init(_ file: StoredFile) {
        id = file.id
        kind = file.kind
        size = file.size
        contentType = file.format.contentType
        width = file.width
        height = file.height
        createdAt = file.createdAt
    }
}
