import Vapor

/// The documentation of one route, kept on the route itself so that the OpenAPI document is
/// generated from what is actually registered: a route cannot exist undocumented without a
/// test noticing, and the document cannot describe a route that does not exist.
public struct APIOperation: Sendable {
    /// One documented response.
    public struct Response: Sendable {
        public var description: String
        public var schema: JSONSchema?
        public var contentType: String

        public init(_ description: String, schema: JSONSchema? = nil, contentType: String = "application/json") {
            self.description = description
            self.schema = schema
            self.contentType = contentType
        }
    }

    /// Stable identifier, e.g. `getHealth`.
    public var operationID: String
    /// Short English summary.
    public var summary: String
    /// Grouping in the document (`system`, `accounts`, …).
    public var tag: String
    /// Request body, if any.
    public var requestBody: JSONSchema?
    /// The request body's media type: JSON, or `multipart/form-data` for uploads.
    public var requestContentType: String
    /// Query parameters and their schemas.
    public var query: [String: JSONSchema]
    /// Responses by status code.
    public var responses: [Int: Response]
    /// Named schemas this operation refers to with `.ref`.
    public var components: [String: JSONSchema]
    /// Who may call the route; enforced by `AccessGuard` when the route is registered.
    public var access: Access

    /// Whether the route needs a signed-in caller (session cookie or bearer token).
    public var requiresAuthentication: Bool { access != .everyone }

    /// Creates an operation description.
    public init(
        _ operationID: String,
        summary: String,
        tag: String,
        requestBody: JSONSchema? = nil,
        requestContentType: String = "application/json",
        query: [String: JSONSchema] = [:],
        responses: [Int: Response],
        components: [String: JSONSchema] = [:],
        access: Access = .everyone
    ) {
        self.operationID = operationID
        self.summary = summary
        self.tag = tag
        self.requestBody = requestBody
        self.requestContentType = requestContentType
        self.query = query
        self.responses = responses
        self.components = components
        self.access = access
    }
}

extension Route {
    static let operationKey = "shiming.openapi.operation"

    /// The route's API documentation, if it is a documented route.
    var operation: APIOperation? {
        userInfo[Route.operationKey] as? APIOperation
    }
}

extension RoutesBuilder {
    /// Registers a documented JSON route, guarded by the access its documentation declares.
    @discardableResult
    public func on<Response: AsyncResponseEncodable>(
        _ method: HTTPMethod,
        _ path: PathComponent...,
        documentation: APIOperation,
        body: HTTPBodyStreamStrategy = .collect,
        use handler: @Sendable @escaping (Request) async throws -> Response
    ) -> Route {
        let builder: any RoutesBuilder = documentation.access == .everyone ? self : grouped(AccessGuard(access: documentation.access))
        let query = documentation.query
        let bodySchema = documentation.requestContentType == "application/json" ? documentation.requestBody : nil
        let components = documentation.components
        let checked: @Sendable (Request) async throws -> Response = { req in
            try StrictQuery.check(req, against: query)
            if let bodySchema { try StrictBody.check(req, against: bodySchema, components: components) }
            return try await handler(req)
        }
        let route = builder.on(method, path, body: body, use: checked)
        route.userInfo[Route.operationKey] = documentation
        return route
    }
}
