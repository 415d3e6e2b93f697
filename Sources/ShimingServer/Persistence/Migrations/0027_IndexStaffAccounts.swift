import Fluent

/// Staff are found by kind and status (the class's teachers when a case goes to review, the
/// supervisors, the reviewers on duty): without an index every such lookup read every account,
/// the applicants included, inside the write that opens the review task.
struct IndexStaffAccounts: PortableStatementsMigration {
    let forward = ["CREATE INDEX accounts_kind_status ON accounts (kind, status)"]
    let backward = ["DROP INDEX accounts_kind_status"]
}
