extension CSVReader {
    /// Records kept in one flat list of fields, with where each record ends: a chunk of a large
    /// file makes three arrays, not one per record. (With an array per record, a long roster
    /// import held most of those small arrays until it ended, by heaptrack, and its memory grew
    /// with the file.)
    public struct Records: Sendable, Equatable {
        /// The 1-based line on which each record starts.
        public private(set) var lines: [Int] = []
        /// The end of each record's fields in `values`.
        private var ends: [Int] = []
        private var values: [String] = []

        public init() {}

        public var count: Int { lines.count }
        public var isEmpty: Bool { lines.isEmpty }

        /// The fields of the i-th record.
        public func fields(_ index: Int) -> Fields {
            Fields(values: values[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
        }

        public mutating func append(line: Int, fields: some Collection<String>) {
            lines.append(line)
            values.append(contentsOf: fields)
            ends.append(values.count)
        }

        /// Appends the records `range` of `other`.
        public mutating func append(_ range: Range<Int>, of other: Records) {
            guard !range.isEmpty else { return }
            let from = range.lowerBound == 0 ? 0 : other.ends[range.lowerBound - 1]
            let shift = values.count - from
            lines.append(contentsOf: other.lines[range])
            values.append(contentsOf: other.values[from..<other.ends[range.upperBound - 1]])
            ends.append(contentsOf: other.ends[range].lazy.map { $0 + shift })
        }

        /// The records `range` alone.
        public func slice(_ range: Range<Int>) -> Records {
            var part = Records()
            part.append(range, of: self)
            return part
        }

        public mutating func removeAll(keepingCapacity: Bool = false) {
            lines.removeAll(keepingCapacity: keepingCapacity)
            ends.removeAll(keepingCapacity: keepingCapacity)
            values.removeAll(keepingCapacity: keepingCapacity)
        }

        /// The records one by one.
        public var list: [Record] {
            (0..<count).map { Record(line: lines[$0], fields: Array(fields($0))) }
        }
    }

    /// One record's fields, indexed from 0.
    public struct Fields: RandomAccessCollection, Sendable {
        let values: ArraySlice<String>
        public var startIndex: Int { 0 }
        public var endIndex: Int { values.count }
        public subscript(position: Int) -> String { values[values.startIndex + position] }
    }
}
