import Fluent
import NIOCore
import Vapor

/// One database handle per event loop, made once: `app.db` makes a new one on every call (the
/// configuration looked up under a lock, the logger's metadata copied), and every operation of
/// every request asks for one. A handle is a value bound to its loop (on PostgreSQL, the loop's
/// connection pool), so the same one serves every call made on that loop; a call from elsewhere
/// gets a fresh handle as before.
struct LoopDatabases: Sendable {
    private let group: any EventLoopGroup
    private let handles: [ObjectIdentifier: any Database]
    private let make: @Sendable () -> any Database

    init(_ app: Application, id: DatabaseID? = nil) {
        group = app.eventLoopGroup
        var handles: [ObjectIdentifier: any Database] = [:]
        for loop in app.eventLoopGroup.makeIterator() {
            guard let handle = app.databases.database(id, logger: app.logger, on: loop, history: nil,
                                                      pageSizeLimit: app.fluent.pagination.pageSizeLimit) else { continue }
            handles[ObjectIdentifier(loop)] = handle
        }
        self.handles = handles
        make = { [app] in app.db(id) }
    }

    /// The handle of the loop the caller runs on (or the next loop's, from elsewhere).
    var current: any Database {
        handles[ObjectIdentifier(group.any())] ?? make()
    }
}
