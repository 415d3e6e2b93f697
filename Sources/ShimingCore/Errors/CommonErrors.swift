/// The answers every area shares: the thing is not there (or not the caller's), the caller
/// may not do this, the caller is not signed in. Services throw these; the HTTP layer maps
/// its own statuses to the same values, so a 404 reads the same wherever it comes from.
public enum CommonErrors {
    /// Unknown, or not the caller's to see (404).
    public static let notFound = UserFacingError(
        code: "not_found", kind: .notFound, message: LocalizedText("找不到您要的内容。", "Not found."))

    /// Signed in but not allowed (403).
    public static let forbidden = UserFacingError(
        code: "forbidden", kind: .forbidden, message: LocalizedText("您没有权限执行此操作。", "You are not allowed to do this."))

    /// Not signed in (401).
    public static let unauthenticated = UserFacingError(
        code: "unauthenticated", kind: .unauthenticated, message: LocalizedText("请先登录。", "Please sign in first."))
}
