import Fluent
import Foundation

/// Consent records (PIPL arts. 14, 29, 31): one row per acceptance of a consent text — which
/// text (kind, version, hash), when, through which client, given by the person or their
/// guardian — marked when withdrawn; and on the account, the hash each kind was last accepted
/// at (`consents`), so that asking again needs no query per request.
struct CreateConsentAcceptances: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ConsentAcceptanceRecord.schema)
            .id()
            .field("account_id", .uuid, .required)
            .field("kind", .string, .required)
            .field("version", .string, .required)
            .field("text_hash", .string, .required)
            .field("given_by", .string, .required)
            .field("channel", .string, .required)
            .field("client_sealed", .string)
            .field("case_id", .uuid)
            .field("accepted_at", .datetime, .required)
            .field("withdrawn_at", .datetime)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX consent_acceptances_account ON consent_acceptances (account_id, accepted_at)"])
        try await database.schema(AccountRecord.schema).field("consents", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AccountRecord.schema).deleteField("consents").update()
        try await database.schema(ConsentAcceptanceRecord.schema).delete()
    }
}
