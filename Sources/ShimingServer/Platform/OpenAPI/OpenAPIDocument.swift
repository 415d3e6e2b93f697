import ShimingCore
import Vapor

/// Builds the OpenAPI 3.1 document served at `/openapi.json` from the documented routes.
enum OpenAPIDocument {
    /// The schema every error response uses (API.md).
    static let errorSchema: JSONSchema = .object([
        "error": .object([
            "code": .string(description: "stable machine code"),
            "message": .string(description: "human text in the request's language"),
            "fields": .object([:], additional: .string()),
        ], required: ["code", "message"]),
    ], required: ["error"])

    static func build(routes: [Route], version: String) -> Document {
        var paths: [String: [String: Operation]] = [:]
        var schemas: [String: JSONSchema] = ["Error": errorSchema]
        for route in routes {
            guard let documented = route.operation else { continue }
            let path = openAPIPath(route.path)
            var parameters: [Parameter] = route.path.compactMap {
                if case .parameter(let name) = $0 {
                    return Parameter(name: name, in: "path", required: true, schema: .string())
                }
                return nil
            }
            parameters += documented.query.keys.sorted().map {
                Parameter(name: $0, in: "query", required: false, schema: documented.query[$0]!)
            }
            var responses: [String: ResponseObject] = [:]
            for (status, response) in documented.responses {
                responses[String(status)] = ResponseObject(
                    description: response.description,
                    content: response.schema.map { [response.contentType: MediaType(schema: $0)] }
                )
            }
            responses["default"] = ResponseObject(
                description: "Error (see API.md); the message follows Accept-Language",
                content: ["application/json": MediaType(schema: .ref("Error"))]
            )
            let operation = Operation(
                operationId: documented.operationID,
                summary: documented.summary,
                tags: [documented.tag],
                parameters: parameters.isEmpty ? nil : parameters,
                requestBody: documented.requestBody.map {
                    RequestBody(required: true, content: [documented.requestContentType: MediaType(schema: $0.acceptingNullForOptional)])
                },
                responses: responses,
                security: documented.access == .platform ? [["platformKey": []]]
                    : documented.requiresAuthentication ? [["bearer": []], ["session": []]] : nil,
                xShimingRoles: {
                    if case .staff(let roles) = documented.access { return roles.sorted().map(\.rawValue) }
                    return nil
                }()
            )
            paths[path, default: [:]][route.method.rawValue.lowercased()] = operation
            schemas.merge(documented.components) { current, _ in current }
        }
        addLinks(&paths)
        return Document(
            openapi: "3.1.0",
            info: Info(
                title: "Shiming (实名) API",
                version: version,
                description: "Real-name identity verification. Errors: {\"error\":{\"code\",\"message\",\"fields\"}}."
            ),
            paths: paths,
            components: Components(
                schemas: schemas,
                securitySchemes: [
                    "bearer": SecurityScheme(type: "http", scheme: "bearer", in: nil, name: nil),
                    "session": SecurityScheme(type: "apiKey", scheme: nil, in: "cookie", name: "shiming_session"),
                    "platformKey": SecurityScheme(type: "http", scheme: "bearer", in: nil, name: nil),
                ]
            )
        )
    }

    /// Links from what a create operation answers to the operations that need its id, derived
    /// from the paths: a `POST P` answering 201 leads to every operation under `P/{x}`, with `x`
    /// taken from the new object's `id` and the parameters of `P` itself passed on. Clients and
    /// stateful test tools (schemathesis) follow them from a created object to its uses.
    static func addLinks(_ paths: inout [String: [String: Operation]]) {
        for (createPath, operations) in paths {
            guard var create = operations["post"], create.responses["201"] != nil else { continue }
            let ownParameters = parameterNames(createPath)
            var links: [String: Link] = [:]
            for (path, targets) in paths where path.hasPrefix(createPath + "/{") {
                let rest = path.dropFirst(createPath.count + 2)
                guard let close = rest.firstIndex(of: "}") else { continue }
                let created = String(rest[..<close])
                for (_, target) in targets {
                    var parameters = [created: "$response.body#/id"]
                    for name in parameterNames(path) where name != created {
                        guard ownParameters.contains(name) else { parameters = [:]; break }
                        parameters[name] = "$request.path.\(name)"
                    }
                    guard !parameters.isEmpty else { continue }
                    links[target.operationId] = Link(operationId: target.operationId, parameters: parameters)
                }
            }
            guard !links.isEmpty else { continue }
            create.responses["201"]?.links = links
            paths[createPath]?["post"] = create
        }
    }

    /// `/api/v1/cases/{id}/documents/{file}` → `["id", "file"]`.
    static func parameterNames(_ path: String) -> [String] {
        path.split(separator: "/").compactMap { piece in
            piece.hasPrefix("{") && piece.hasSuffix("}") ? String(piece.dropFirst().dropLast()) : nil
        }
    }

    /// The document as pretty, key-sorted JSON.
    static func json(routes: [Route], version: String) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(build(routes: routes, version: version))
    }

    /// `/api/v1/cases/:id` → `/api/v1/cases/{id}`.
    static func openAPIPath(_ components: [PathComponent]) -> String {
        "/" + components.map { component -> String in
            switch component {
            case .constant(let text): text
            case .parameter(let name): "{\(name)}"
            case .anything: "*"
            case .catchall: "**"
            }
        }.joined(separator: "/")
    }

    struct Document: Encodable {
        var openapi: String
        var info: Info
        var paths: [String: [String: Operation]]
        var components: Components
    }

    struct Info: Encodable {
        var title: String
        var version: String
        var description: String
    }

    struct Operation: Encodable {
        var operationId: String
        var summary: String
        var tags: [String]
        var parameters: [Parameter]?
        var requestBody: RequestBody?
        var responses: [String: ResponseObject]
        var security: [[String: [String]]]?
        /// Staff roles allowed to call the operation (absent: anyone signed in, or everyone).
        var xShimingRoles: [String]?

        enum CodingKeys: String, CodingKey {
            case operationId, summary, tags, parameters, requestBody, responses, security
            case xShimingRoles = "x-shiming-roles"
        }
    }

    struct Parameter: Encodable {
        var name: String
        var `in`: String
        var required: Bool
        var schema: JSONSchema

        init(name: String, in location: String, required: Bool, schema: JSONSchema) {
            self.name = name
            self.in = location
            self.required = required
            self.schema = schema
        }
    }

    struct RequestBody: Encodable {
        var required: Bool
        var content: [String: MediaType]
    }

    struct MediaType: Encodable {
        var schema: JSONSchema

        init(schema: JSONSchema) { self.schema = schema }
    }

    struct ResponseObject: Encodable {
        var description: String
        var content: [String: MediaType]?
        var links: [String: Link]?
    }

    /// An OpenAPI link: which operation the response leads to, and where its parameters come from.
    struct Link: Encodable {
        var operationId: String
        var parameters: [String: String]
    }

    struct Components: Encodable {
        var schemas: [String: JSONSchema]
        var securitySchemes: [String: SecurityScheme]

        init(schemas: [String: JSONSchema], securitySchemes: [String: SecurityScheme]) {
            self.schemas = schemas
            self.securitySchemes = securitySchemes
        }
    }

    struct SecurityScheme: Encodable {
        var type: String
        var scheme: String?
        var `in`: String?
        var name: String?
    }
}
