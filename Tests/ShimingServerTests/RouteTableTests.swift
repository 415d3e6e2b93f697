import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Routing without Foundation's percent decoding (RouteTable, ShimingResponder)")
struct RouteTableTests {
    /// Texts a parameter may be sent as: plain, escaped, escaped UTF-8, malformed escapes,
    /// escapes that are not UTF-8, an escaped slash, and the ids the API uses.
    static let samples = ["abc", "0190c9a1-7e0d-7000-8000-00000000abcd", "0190C9A1%2D7E0D-7000-8000-00000000ABCD", "a%20b", "%E4%B8%AD%E6%96%87",
                          "50%", "%zz", "%4", "%FF%FE", "a%2Fb", "sub_Ab9-x_", "%", "mine", "~"]

    @Test("every route of the app, with every sample in its parameters, is found as Vapor's TrieRouter finds it, with the same parameters")
    func sameAsTrieRouter() async throws {
        try await withShiming { shiming in
            let routes = shiming.app.routes.all
            let (trie, table) = Self.routers(routes)
            var paths: [String] = []
            for route in routes {
                for (index, sample) in Self.samples.enumerated() {
                    // Each route's parameters filled in turn with the samples; the route's own
                    // constants also with doubled and trailing slashes.
                    let parts = route.path.enumerated().map { offset, component -> String in
                        switch component {
                        case .constant(let text): text
                        case .parameter, .anything: Self.samples[(index + offset) % Self.samples.count]
                        case .catchall: sample + "/x"
                        }
                    }
                    paths.append("/" + parts.joined(separator: "/"))
                    if index == 0 {
                        paths.append("//" + parts.joined(separator: "//") + "/")
                        paths.append("/" + parts.dropLast().joined(separator: "/"))
                        paths.append("/" + (parts + ["extra"]).joined(separator: "/"))
                    }
                }
            }
            // Paths no route was written for: parts of the routes' paths and samples, mixed (seeded).
            var generator = SeededRandom(state: 16)
            let words = Array(Set(routes.flatMap { $0.path.compactMap { if case .constant(let text) = $0 { text } else { nil } } })) + Self.samples
            for _ in 0..<2_000 {
                let count = Int.random(in: 0...6, using: &generator)
                paths.append("/" + (0..<count).map { _ in words.randomElement(using: &generator)! }.joined(separator: "/"))
            }
            var compared = 0
            for path in paths {
                for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] {
                    var parameters = Parameters()
                    let expected = trie.route(path: [method] + path.split(separator: "/").map(String.init), parameters: &parameters)
                    let found = table.route(method: method, path: path)
                    #expect(found?.output == expected, "\(method) \(path)")
                    guard let expected, let found else { continue }
                    for case .parameter(let name) in routes[expected].path {
                        #expect(found.parameters.value(name) == parameters.get(name), "\(method) \(path) :\(name)")
                    }
                    #expect(found.parameters.catchall == parameters.getCatchall(), "\(method) \(path) **")
                    compared += 1
                }
            }
            #expect(compared > routes.count)
        }
    }

    @Test("a catch-all route and `*` are matched as TrieRouter matches them")
    func catchallAndAnything() {
        let routes: [[PathComponent]] = [["files", .catchall], ["files", "fixed"], ["a", .anything, "b"], ["a", .parameter("p"), "c"],
                                         [.catchall], ["x", "y", .catchall]]
        let trie = TrieRouter(Int.self)
        var table = RouteTable<Int>()
        for (index, path) in routes.enumerated() {
            trie.register(index, at: [.constant("GET")] + path)
            table.register(index, method: "GET", path: path)
        }
        for path in ["/files/a/b%20c", "/files/fixed", "/files/fixed/more", "/files", "/a/1/b", "/a/2/c", "/a/3/d", "/nothing", "/",
                     "/x/y", "/x/y/z", "/x/q", "//files//a//"] {
            var parameters = Parameters()
            let expected = trie.route(path: ["GET"] + path.split(separator: "/").map(String.init), parameters: &parameters)
            let found = table.route(method: "GET", path: path)
            #expect(found?.output == expected, "\(path)")
            if let found {
                #expect(found.parameters.value("p") == parameters.get("p"), "\(path)")
                #expect(found.parameters.catchall == parameters.getCatchall(), "\(path)")
            }
        }
    }

    @Test("percent decoding agrees with Foundation's removingPercentEncoding; a malformed escape or bytes that are not UTF-8 keep the text as sent")
    func percentDecoding() {
        var generator = SeededRandom(state: 7)
        let alphabet = Array("%0123456789abcdefABCDEFzZ-_.~/ 中").map(String.init)
        var texts = Self.samples
        for _ in 0..<3_000 {
            texts.append((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined())
        }
        var compared = 0
        for text in texts {
            let foundation = text.removingPercentEncoding ?? text
            // Foundation on Linux turns a few bytes that are not UTF-8 (a lone `%A9`) into U+FFFD
            // where it refuses the others (`%FF`, `%80`): such texts are kept as sent here.
            if foundation.unicodeScalars.contains("\u{FFFD}"), !text.unicodeScalars.contains("\u{FFFD}") {
                #expect(RouteParameters.percentDecoded(Substring(text)) == text)
                continue
            }
            #expect(RouteParameters.percentDecoded(Substring(text)) == foundation, "\(text)")
            compared += 1
        }
        #expect(compared > 2_500)
    }

    @Test("through the app: an escaped id reaches its route, HEAD takes a GET route, an unknown path is 404 in the API's shape")
    func throughTheApp() async throws {
        try await withShiming { shiming in
            let head = try await shiming.send(.HEAD, "/api/v1/info")
            #expect(head.status == .ok)
            let missing = try await shiming.send(.GET, "/api/v1/no/such/thing")
            #expect(missing.status == .notFound)
            #expect(missing.apiError?.code == "not_found")
            // The language's code escaped is the same code: the route reads it decoded.
            let escaped = try await shiming.send(.GET, "/lang/%65n")
            #expect(escaped.status == .seeOther)
            #expect(escaped.headers.setCookie?[Request.langCookie]?.string == "en")
            let unknown = try await shiming.send(.GET, "/lang/%7A%7A")
            #expect(unknown.status == .notFound)
            let wrongMethod = try await shiming.send(.DELETE, "/api/v1/info")
            #expect(wrongMethod.status == .methodNotAllowed)
        }
    }

    /// Vapor's router and the table, each with every route registered as its responder registers them.
    static func routers(_ routes: [Route]) -> (TrieRouter<Int>, RouteTable<Int>) {
        let trie = TrieRouter(Int.self)
        var table = RouteTable<Int>()
        for (index, route) in routes.enumerated() {
            let path = route.path.filter { if case .constant(let text) = $0 { !text.isEmpty } else { true } }
            trie.register(index, at: [.constant(route.method.rawValue)] + path)
            table.register(index, method: route.method.rawValue, path: route.path)
        }
        return (trie, table)
    }
}
