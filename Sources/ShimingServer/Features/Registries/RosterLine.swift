import Foundation
import ShimingCore

/// The sealed part of a roster line.
struct RosterLine: Codable, Sendable {
    var name: String
    var number: String
    var school: String
    var grade: String
    var `class`: String
    var enrolmentYear: Int
    var extra: [String: String]?

    /// The sealed fields, packed: name, number, grade, class and enrolment year, then the extra
    /// columns' names and values, each a length (LEB128) and its UTF-8. The school is its
    /// segment's label. A roll has a million lines: this is cheaper to build and to store than JSON.
    var packed: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        func put(_ text: String) {
            var length = text.utf8.count
            while length >= 0x80 {
                out.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            out.append(UInt8(length))
            out += text.utf8
        }
        for field in [name, number, grade, `class`, String(enrolmentYear)] { put(field) }
        for (key, value) in (extra ?? [:]).sorted(by: { $0.key < $1.key }) {
            put(key)
            put(value)
        }
        return out
    }

    /// What a sealed line is bound to: its import, its school as the segment spells it and its
    /// number's index. A line moved to another roll, school or number does not open.
    static func context(importID: UUID, school: String, index: [UInt8]) -> [UInt8] {
        var out = Array("roster".utf8)
        withUnsafeBytes(of: importID.uuid) { out += $0 }
        out += school.utf8
        out.append(0x1F)
        out += index
        return out
    }

    /// The encryption context of a line stored before the compact form (`roster_entries`).
    static func legacyContext(_ id: UUID) -> String {
        withUnsafeBytes(of: id.uuid) { "roster." + Hex.encode($0) }
    }

    var registryRecord: RegistryRecord {
        RegistryRecord(name: name, documentNumber: number, school: school, grade: grade, class: `class`, enrolmentYear: enrolmentYear)
    }
}

extension RosterLine {
    /// A line from its packed fields and its segment's school (nil: not a packed line).
    init?(packed bytes: [UInt8], school: String) {
        var fields: [String] = []
        var at = 0
        while at < bytes.count {
            var (length, shift) = (0, 0)
            while true {
                guard at < bytes.count, shift < 28 else { return nil }
                let byte = bytes[at]
                at += 1
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            guard length <= bytes.count - at else { return nil }
            fields.append(String(decoding: bytes[at..<(at + length)], as: UTF8.self))
            at += length
        }
        guard fields.count >= 5, fields.count % 2 == 1, let year = Int(fields[4]) else { return nil }
        self.init(name: fields[0], number: fields[1], school: school, grade: fields[2], class: fields[3], enrolmentYear: year)
        if fields.count > 5 {
            extra = Dictionary(stride(from: 5, to: fields.count, by: 2).map { (fields[$0], fields[$0 + 1]) }, uniquingKeysWith: { a, _ in a })
        }
    }
}
