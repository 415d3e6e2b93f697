import Fluent

/// The application limit counts an account's first submissions under a program within a
/// window (`CaseStore.firstSubmissions`). Its index held every history row of every case, by
/// account, program, action and time: three or four entries per submission (submit, the checks,
/// the decision, the verification or the code to confirm), each on a page of its own, as
/// accounts are random. Only
/// first submissions are ever looked up, so the index now holds only those (a partial index,
/// which both engines have): one entry per application, none for the other history rows. It
/// was a tenth of the pages SQLite wrote under the submission load (docs/benchmarks.md, session 28).
struct IndexFirstSubmissions: PortableStatementsMigration {
    let forward = [
        "CREATE INDEX case_transitions_first_submissions ON case_transitions (account_id, program, at) WHERE action = 'submit' AND from_state = 'draft'",
        "DROP INDEX case_transitions_frequency",
    ]
    let backward = [
        "CREATE INDEX case_transitions_frequency ON case_transitions (account_id, program, action, at)",
        "DROP INDEX case_transitions_first_submissions",
    ]
}
