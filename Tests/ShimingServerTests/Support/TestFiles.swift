import Foundation
import Vapor
import VaporTesting
@testable import ShimingServer

/// Real files for upload tests: a valid PNG of any size (grey, stored deflate blocks), a JPEG
/// header, a PDF, and multipart bodies carrying them.
enum TestFiles {
    /// A complete, valid greyscale PNG of `width` × `height` pixels.
    static func png(width: Int, height: Int, shade: UInt8 = 0xC0) -> Data {
        func be32(_ value: Int) -> [UInt8] { [24, 16, 8, 0].map { UInt8((value >> $0) & 0xFF) } }
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return be32(body.count) + typed + be32(Int(crc32(typed)))
        }
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for _ in 0..<height { raw.append(0); raw.append(contentsOf: repeatElement(shade, count: width)) }
        // zlib stream of stored (uncompressed) deflate blocks, at most 65,535 bytes each.
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, raw.count - offset)
            let final: UInt8 = offset + length == raw.count ? 1 : 0
            zlib += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            zlib += raw[offset..<offset + length]
            offset += length
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        zlib += be32(Int(b << 16 | a))
        let header = be32(width) + be32(height) + [8, 0, 0, 0, 0]  // 8-bit greyscale
        return Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", []))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// The start of a JPEG (SOI, APP0, SOF0 with the given size): enough for the sniffer.
    static func jpegHeader(width: Int, height: Int) -> Data {
        Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
            + [0xFF, 0xC0, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 0x03]
            + [1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1] + [0xFF, 0xD9])
    }

    static let pdf = Data("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".utf8)

    /// A multipart/form-data body with one file part (and optional text parts).
    static func multipart(file: Data, name: String = "file", filename: String = "proof.png", fields: [String: String] = [:]) -> (HTTPHeaders, ByteBuffer) {
        let boundary = "shiming-test-boundary-7d3f"
        var body = Data()
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(key)\"\r\n\r\n\(value)\r\n".utf8)
        }
        body += Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
        body += file
        body += Data("\r\n--\(boundary)--\r\n".utf8)
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .contentType, value: "multipart/form-data; boundary=\(boundary)")
        return (headers, ByteBuffer(data: body))
    }
}

extension TestShiming {
    /// Uploads a file as multipart to `path`.
    func upload(_ path: String, file: Data, filename: String = "proof.png", headers extra: HTTPHeaders) async throws -> TestingHTTPResponse {
        var (headers, body) = TestFiles.multipart(file: file, filename: filename)
        for (name, value) in extra { headers.add(name: name, value: value) }
        return try await app.testing().sendRequest(.POST, path, headers: headers, body: body)
    }
}
