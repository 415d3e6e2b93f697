import Testing

/// Expects a direct way of converting a value to agree with the library's way: equal values, or
/// errors that read the same.
func expectSameOutcome<T: Equatable>(_ expected: Result<T, any Error>, _ actual: Result<T, any Error>, _ what: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) {
    switch (expected, actual) {
    case (.success(let left), .success(let right)):
        #expect(left == right, "\(what)", sourceLocation: sourceLocation)
    case (.failure(let left), .failure(let right)):
        #expect(String(describing: left) == String(describing: right), "\(what)", sourceLocation: sourceLocation)
    default:
        Issue.record("\(what): expected \(expected), got \(actual)", sourceLocation: sourceLocation)
    }
}
