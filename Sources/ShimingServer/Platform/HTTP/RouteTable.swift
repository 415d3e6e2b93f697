import Vapor

/// The application's routes by method and path, matched as Vapor's `TrieRouter` matches them,
/// with a route's parameters kept as the parts of the path they matched.
///
/// Vapor's router percent-decodes every parameter it matches (`Parameters.set`, through
/// Foundation's `removingPercentEncoding`, which on Linux copies the text into a `CFString`
/// and back): 3–4 µs of a request loop's time for a case id or a platform's subject, on every
/// request to such a route, whether the text holds a `%` or not. Here a parameter is decoded
/// when it is read (`Request.parameter`), and only if it holds one.
///
/// The matching is `TrieRouter`'s: the path's empty parts are dropped; at each part a constant
/// is preferred to a parameter (or `*`), without going back when the constant's branch ends
/// nowhere; `**` takes the rest when nothing else matched.
struct RouteTable<Output: Sendable>: Sendable {
    private struct Node: Sendable {
        var constants: [Substring: Int] = [:]
        /// A parameter's (or `*`'s, named nil) node.
        var wildcard: (name: String?, node: Int)?
        var catchall: Int?
        var output: Output?
    }

    private var nodes = [Node()]

    /// Registers `output` for a route's method and path (Vapor's `PathComponent`s).
    mutating func register(_ output: Output, method: String, path: [PathComponent]) {
        var current = child(of: 0, constant: Substring(method))
        for component in path {
            switch component {
            case .constant(let text):
                // Vapor drops a route's empty components too (`DefaultResponder`).
                if text.isEmpty { continue }
                current = child(of: current, constant: Substring(text))
            case .parameter(let name):
                current = wildcard(of: current, name: name)
            case .anything:
                current = wildcard(of: current, name: nil)
            case .catchall:
                if let next = nodes[current].catchall {
                    current = next
                } else {
                    nodes.append(Node())
                    nodes[current].catchall = nodes.count - 1
                    current = nodes.count - 1
                }
            }
        }
        nodes[current].output = output
    }

    private mutating func child(of node: Int, constant: Substring) -> Int {
        if let next = nodes[node].constants[constant] { return next }
        nodes.append(Node())
        nodes[node].constants[constant] = nodes.count - 1
        return nodes.count - 1
    }

    private mutating func wildcard(of node: Int, name: String?) -> Int {
        if let (existing, next) = nodes[node].wildcard {
            // `TrieRouter` refuses two names at one place; `*` takes the parameter's node.
            precondition(name == nil || existing == nil || existing == name, "Two parameter names at one place of a path: \(existing ?? "*"), \(name ?? "*")")
            if existing == nil, let name { nodes[node].wildcard = (name, next) }
            return next
        }
        nodes.append(Node())
        nodes[node].wildcard = (name, nodes.count - 1)
        return nodes.count - 1
    }

    /// The output registered for `method` and `path` (a request's percent-encoded path), with
    /// the parameters it matched; nil when none is.
    func route(method: String, path: String) -> (output: Output, parameters: RouteParameters)? {
        guard let start = nodes[0].constants[Substring(method)] else { return nil }
        var current = start
        var parameters = RouteParameters(path: path)
        var fallback: (node: Int, from: String.Index)?
        var index = path.startIndex
        let end = path.endIndex
        while index < end {
            // The next part of the path between slashes; empty ones are skipped.
            if path.utf8[index] == UInt8(ascii: "/") {
                index = path.utf8.index(after: index)
                continue
            }
            var partEnd = index
            while partEnd < end, path.utf8[partEnd] != UInt8(ascii: "/") { partEnd = path.utf8.index(after: partEnd) }
            let part = path[index..<partEnd]
            if let catchall = nodes[current].catchall { fallback = (catchall, index) }
            if let next = nodes[current].constants[part] {
                current = next
            } else if let (name, next) = nodes[current].wildcard {
                if let name { parameters.append(name, part) }
                current = next
            } else if let (node, from) = fallback {
                return nodes[node].output.map { ($0, parameters.matchingRest(from: from)) }
            } else {
                return nil
            }
            index = partEnd
        }
        if let output = nodes[current].output { return (output, parameters) }
        if let (node, from) = fallback { return nodes[node].output.map { ($0, parameters.matchingRest(from: from)) } }
        return nil
    }
}

/// The parameters a route matched, as the parts of the request's path they matched (still
/// percent-encoded), and what `**` matched.
struct RouteParameters: Sendable {
    fileprivate let path: String
    private var names: [String] = []
    private var values: [Substring] = []
    /// Where the part `**` matched starts in the path (nil: the route has none, or it matched nothing).
    private var rest: String.Index?

    fileprivate init(path: String) {
        self.path = path
    }

    fileprivate mutating func append(_ name: String, _ value: Substring) {
        names.append(name)
        values.append(value)
    }

    fileprivate func matchingRest(from index: String.Index) -> RouteParameters {
        var parameters = self
        parameters.rest = index
        return parameters
    }

    /// Whether the route matched a parameter or `**` (else nothing need be kept).
    var matchedAny: Bool { !names.isEmpty || rest != nil }

    /// The parameter's value, percent-decoded (as Vapor's `Parameters.get`).
    func value(_ name: String) -> String? {
        guard let index = names.lastIndex(of: name) else { return nil }
        return Self.percentDecoded(values[index])
    }

    /// The parts of the path `**` matched, each percent-decoded (as Vapor's `Parameters.getCatchall`).
    var catchall: [String] {
        guard let rest else { return [] }
        return path[rest...].split(separator: "/").map(Self.percentDecoded)
    }

    /// `text` with its `%XX` escapes decoded, as Foundation's `removingPercentEncoding` (which
    /// Vapor's router applies) decodes them. A malformed escape or bytes that are not UTF-8 leave
    /// the text as it was sent, as there (where Foundation fails; a lone byte such as `%A9` it
    /// turns into U+FFFD instead).
    static func percentDecoded(_ text: Substring) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Hex.digit), let low = iterator.next().flatMap(Hex.digit) else { return String(text) }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self) ?? String(text)
    }
}

/// The application's responder: Vapor's `DefaultResponder` (each route behind the app's
/// middleware, an unmatched request behind it too and then 404), routing through
/// `RouteTable`. A `HEAD` request without a route of its own takes the `GET` route, as there.
/// Vapor's own metrics report is off in this app (`reportMetrics`), so none is made here.
struct ShimingResponder: Responder {
    private struct Routed: Sendable {
        let route: Route
        let responder: any Responder
    }

    private let table: RouteTable<Routed>
    private let notFound: any Responder

    init(routes: Routes, middleware: [any Middleware]) {
        precondition(!routes.caseInsensitive, "ShimingResponder matches paths as they are sent")
        var table = RouteTable<Routed>()
        for route in routes.all {
            table.register(Routed(route: route, responder: middleware.makeResponder(chainingTo: route.responder)),
                           method: route.method.rawValue, path: route.path)
        }
        self.table = table
        notFound = middleware.makeResponder(chainingTo: NotFound())
    }

    func respond(to request: Request) -> EventLoopFuture<Response> {
        let path = request.url.path
        let found = request.method == .HEAD
            ? table.route(method: HTTPMethod.HEAD.rawValue, path: path) ?? table.route(method: HTTPMethod.GET.rawValue, path: path)
            : table.route(method: request.method.rawValue, path: path)
        guard let (routed, parameters) = found else { return notFound.respond(to: request) }
        request.route = routed.route
        if parameters.matchedAny { request.routeParameters = parameters }
        return routed.responder.respond(to: request)
    }

    private struct NotFound: Responder {
        func respond(to request: Request) -> EventLoopFuture<Response> {
            request.eventLoop.makeFailedFuture(Abort(.notFound))
        }
    }
}

extension Request {
    private struct RouteParametersKey: StorageKey {
        typealias Value = RouteParameters
    }

    /// What the route matched (`ShimingResponder`).
    fileprivate(set) var routeParameters: RouteParameters? {
        get { storage[RouteParametersKey.self] }
        set { storage[RouteParametersKey.self] = newValue }
    }

    /// The route's parameter `name`, percent-decoded; nil when the route has none of that name.
    /// Route parameters are read here, not from `parameters` (which `ShimingResponder` leaves empty).
    func parameter(_ name: String) -> String? {
        routeParameters?.value(name)
    }
}
