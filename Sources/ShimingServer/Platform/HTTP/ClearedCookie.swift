import Foundation
import Vapor

extension HTTPCookies.Value {
    /// A cookie the browser is to forget now (empty, expired in 1970, for the whole site).
    static var cleared: HTTPCookies.Value {
        HTTPCookies.Value(string: "", expires: Date(timeIntervalSince1970: 0), path: "/")
    }
}
