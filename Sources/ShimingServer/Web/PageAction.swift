import ShimingCore
import Vapor

/// The shape of every form a page posts: the form has been decoded (and its CSRF token checked
/// by the session middleware or `PageCSRF`); the action runs and answers where to go next; if
/// the rules refuse it, the page is shown again with the refusal — its message, the fields it
/// names — in the status the API would have answered. Errors that are not refusals (a bug, the
/// database gone) are not caught here: the error middleware turns them into the error page.
enum PageAction {
    static func run(_ act: () async throws -> Response, refused: (UserFacingError) async throws -> Response) async throws -> Response {
        do {
            return try await act()
        } catch let error as UserFacingError {
            return try await refused(error)
        }
    }
}
