import Foundation

/// Appends whole lines to a file that other processes may append to at the same time (several
/// instances sharing one data dir): the file is opened with `O_APPEND`, so each write lands at
/// the end as one piece, where seeking to the end and then writing could let two processes write
/// at the same offset. Created readable by its owner only.
enum AppendOnlyFile {
    static func append(_ data: Data, to path: String, sync: Bool) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(descriptor) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == data.count, !sync || fsync(descriptor) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
