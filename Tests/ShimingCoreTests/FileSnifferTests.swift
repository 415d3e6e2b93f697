import Foundation
import Testing
@testable import ShimingCore

@Suite("Recognising uploads by content")
struct FileSnifferTests {
    func png(width: UInt32, height: UInt32) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13] + Array("IHDR".utf8) + be(width) + be(height) + [8, 0, 0, 0, 0]
    }

    func jpeg(width: Int, height: Int, exifBytes: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xD8]
        if exifBytes > 0 {
            let length = exifBytes + 2
            bytes += [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + Array(repeating: 0x45, count: exifBytes)
        }
        bytes += [0xFF, 0xDB, 0x00, 0x04, 0x00, 0x00]  // a (truncated) quantisation table segment
        bytes += [0xFF, 0xC2, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF), 3]
        return bytes + Array(repeating: 0, count: 9) + [0xFF, 0xD9]
    }

    @Test("PNG, JPEG (baseline and progressive, after a large EXIF block) and PDF, with image sizes")
    func recognises() throws {
        #expect(try FileSniffer.sniff(png(width: 1200, height: 800)) == SniffedFile(format: .png, width: 1200, height: 800))
        #expect(try FileSniffer.sniff(jpeg(width: 4032, height: 3024, exifBytes: 60_000)) == SniffedFile(format: .jpeg, width: 4032, height: 3024))
        #expect(try FileSniffer.sniff(Array("%PDF-1.7\n%âãÏÓ\n".utf8)) == SniffedFile(format: .pdf))
        #expect(try FileSniffer.sniff(Array("\u{FEFF}junk before %PDF-1.4".utf8))?.format == .pdf)
    }

    @Test("a text file named .jpg, an executable and a GIF are not accepted")
    func refusesOthers() throws {
        #expect(try FileSniffer.sniff(Array("hello, this is not a picture".utf8)) == nil)
        #expect(try FileSniffer.sniff([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0]) == nil)
        #expect(try FileSniffer.sniff(Array("GIF89a".utf8) + [1, 0, 1, 0]) == nil)
        #expect(throws: FileProblem.unsupportedType) { try FileSniffer.check(Array("MZ..".utf8), maxBytes: 100) }
    }

    @Test("cut-off or damaged image headers are reported as damaged, not as some size")
    func damaged() {
        #expect(throws: FileProblem.damaged) { try FileSniffer.sniff(Array(png(width: 10, height: 10).prefix(20))) }
        #expect(throws: FileProblem.damaged) { try FileSniffer.sniff(png(width: 0, height: 10)) }
        #expect(throws: FileProblem.damaged) { try FileSniffer.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 1, 2]) }
        #expect(throws: FileProblem.damaged) { try FileSniffer.sniff([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]) }
    }

    @Test("limits: empty, over the size limit, too small to read")
    func limits() throws {
        #expect(throws: FileProblem.empty) { try FileSniffer.check([UInt8](), maxBytes: 100) }
        #expect(throws: FileProblem.tooLarge) { try FileSniffer.check(png(width: 800, height: 800) + [UInt8](repeating: 0, count: 100), maxBytes: 100) }
        #expect(throws: FileProblem.tooSmall) { try FileSniffer.check(png(width: 1000, height: 120), maxBytes: 1000) }
        #expect(try FileSniffer.check(png(width: 640, height: 480), maxBytes: 1000).width == 640)
        #expect(try FileSniffer.check(Array("%PDF-1.4".utf8), maxBytes: 1000).format == .pdf)
    }
}
