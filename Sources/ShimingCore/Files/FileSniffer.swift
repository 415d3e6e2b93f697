/// What an uploaded file really is, decided from its bytes and never from its name or the
/// content type the client claimed: JPEG, PNG or PDF, with the pixel size of images.
public struct SniffedFile: Sendable, Equatable {
    /// The formats Shiming accepts for proofs and identity documents.
    public enum Format: String, Sendable, Equatable, CaseIterable, Codable {
        case jpeg
        case png
        case pdf

        /// The MIME type served back.
        public var contentType: String {
            switch self {
            case .jpeg: "image/jpeg"
            case .png: "image/png"
            case .pdf: "application/pdf"
            }
        }

        /// A file-name extension for downloads.
        public var fileExtension: String {
            switch self {
            case .jpeg: "jpg"
            case .png: "png"
            case .pdf: "pdf"
            }
        }
    }

    public var format: Format
    /// Pixel width of an image (nil for PDF).
    public var width: Int?
    /// Pixel height of an image (nil for PDF).
    public var height: Int?

    public init(format: Format, width: Int? = nil, height: Int? = nil) {
        self.format = format
        self.width = width
        self.height = height
    }
}

/// Why an upload was refused.
public enum FileProblem: String, Error, Sendable, Equatable {
    /// Empty upload.
    case empty = "file_empty"
    /// Larger than the limit.
    case tooLarge = "file_too_large"
    /// Not JPEG, PNG or PDF by content (whatever its name says).
    case unsupportedType = "unsupported_file_type"
    /// An image whose header is damaged or cut off (no readable pixel size).
    case damaged = "file_damaged"
    /// An image too small to be legible.
    case tooSmall = "image_too_small"

    /// What the applicant is told.
    public var message: LocalizedText {
        switch self {
        case .empty: LocalizedText("文件是空的，请重新选择。", "The file is empty; choose it again.")
        case .tooLarge: LocalizedText("文件太大，请压缩后再上传。", "The file is too large; make it smaller and upload it again.")
        case .unsupportedType: LocalizedText("只接受 JPG、PNG 图片或 PDF 文件。", "Only JPG or PNG pictures and PDF files are accepted.")
        case .damaged: LocalizedText("文件已损坏，无法打开，请重新拍摄或导出。", "The file is damaged and cannot be opened; take or export it again.")
        case .tooSmall: LocalizedText("图片太小，看不清，请拍得更清楚一些。", "The picture is too small to read; take a clearer one.")
        }
    }
}

/// Recognises JPEG, PNG and PDF by their signatures and reads image dimensions from the
/// headers (PNG IHDR, JPEG start-of-frame), without decoding pixels.
public enum FileSniffer {
    /// The format and size of `bytes`, or `nil` when it is none of the accepted formats.
    /// An image with a valid signature but no readable size throws `FileProblem.damaged`.
    public static func sniff(_ bytes: some RandomAccessCollection<UInt8>) throws(FileProblem) -> SniffedFile? {
        let data = Array(bytes.prefix(1 << 20))  // headers live at the start; SOF can follow large EXIF blocks
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            guard data.count >= 24, Array(data[12..<16]) == Array("IHDR".utf8) else { throw .damaged }
            let width = bigEndian(data, at: 16, count: 4)
            let height = bigEndian(data, at: 20, count: 4)
            guard width > 0, height > 0 else { throw .damaged }
            return SniffedFile(format: .png, width: width, height: height)
        }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            guard let (width, height) = jpegSize(data) else { throw .damaged }
            return SniffedFile(format: .jpeg, width: width, height: height)
        }
        // PDF: "%PDF-" within the first 1024 bytes (the specification allows leading bytes).
        let marker = Array("%PDF-".utf8)
        if data.count >= marker.count {
            for start in 0...min(1024, data.count - marker.count) where data[start] == 0x25 && Array(data[start..<start + marker.count]) == marker {
                return SniffedFile(format: .pdf)
            }
        }
        return nil
    }

    /// Checks an upload against a size limit and the minimum legible image size.
    public static func check(
        _ bytes: some RandomAccessCollection<UInt8>, maxBytes: Int, minimumShortSide: Int = 300
    ) throws(FileProblem) -> SniffedFile {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= maxBytes else { throw .tooLarge }
        guard let sniffed = try sniff(bytes) else { throw .unsupportedType }
        if let width = sniffed.width, let height = sniffed.height, min(width, height) < minimumShortSide { throw .tooSmall }
        return sniffed
    }

    /// Walks the JPEG marker segments up to the first start-of-frame and reads its size.
    static func jpegSize(_ data: [UInt8]) -> (Int, Int)? {
        var index = 2
        while index + 4 <= data.count {
            guard data[index] == 0xFF else { return nil }
            let marker = data[index + 1]
            if marker == 0xFF { index += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { index += 2; continue }  // no length
            if marker == 0xD9 || marker == 0xDA { return nil }  // end of image or scan data before any frame
            let length = bigEndian(data, at: index + 2, count: 2)
            guard length >= 2 else { return nil }
            let isFrame = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isFrame {
                guard index + 9 <= data.count else { return nil }
                let height = bigEndian(data, at: index + 5, count: 2)
                let width = bigEndian(data, at: index + 7, count: 2)
                guard width > 0, height > 0 else { return nil }
                return (width, height)
            }
            index += 2 + length
        }
        return nil
    }
}

/// An unsigned big-endian integer of `count` bytes at `offset`.
private func bigEndian(_ data: [UInt8], at offset: Int, count: Int) -> Int {
    data[offset..<offset + count].reduce(0) { $0 << 8 | Int($1) }
}
