import Foundation
import Vapor

/// A case document as a multipart form sends it (the API and the case pages alike): its kind,
/// the file, and `replace=true` to remove earlier documents of that kind.
struct DocumentUpload: Content {
    var kind: String?
    var file: File?
    var replace: String?
}

/// A single file in a multipart form (a change request's proof).
struct FileUpload: Content {
    var file: File?
}
