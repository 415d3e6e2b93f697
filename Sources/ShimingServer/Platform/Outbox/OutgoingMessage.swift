import Foundation

/// One message that Shiming sends to a person or a platform: an SMS, an e-mail or a webhook.
public struct OutgoingMessage: Sendable, Codable, Equatable {
    /// How the message travels.
    public enum Channel: String, Sendable, Codable, CaseIterable {
        case sms
        case email
        case webhook
    }

    /// How the message travels.
    public var channel: Channel
    /// Phone number, e-mail address or URL.
    public var to: String
    /// The template it was made from, e.g. `registration_code`.
    public var template: String
    /// E-mail subject, if any.
    public var subject: String?
    /// The plain text (SMS text, e-mail text part, or webhook body).
    public var text: String
    /// An HTML alternative for e-mail.
    public var html: String?
    /// The one-time code the message carries, if any (the development sink shows it to tests).
    public var code: String?
    /// For a webhook: the platform it is for (its secret signs it at delivery).
    public var platform: UUID?
    /// For a webhook: the id the receiver deduplicates by, the same on every attempt.
    public var deliveryID: UUID?
    /// The account the message is about, for a message to a person (their data export lists it).
    public var account: UUID?

    /// Creates a message.
    public init(
        channel: Channel, to: String, template: String, subject: String? = nil,
        text: String, html: String? = nil, code: String? = nil, platform: UUID? = nil, deliveryID: UUID? = nil
    ) {
        self.channel = channel
        self.to = to
        self.template = template
        self.subject = subject
        self.text = text
        self.html = html
        self.code = code
        self.platform = platform
        self.deliveryID = deliveryID
    }
}

extension OutgoingMessage {
    /// A notice to an account through its first confirmed contact: the own phone, the e-mail,
    /// then (for a minor registered that way) the guardian's phone; `nil` when none is confirmed.
    static func notice(to account: Account, template: String, subject: String, text: String, code: String? = nil) -> OutgoingMessage? {
        var message: OutgoingMessage
        if let phone = account.phone, account.phoneConfirmed {
            message = OutgoingMessage(channel: .sms, to: phone, template: template, text: text, code: code)
        } else if let email = account.email, account.emailConfirmed {
            message = OutgoingMessage(channel: .email, to: email, template: template, subject: subject, text: text, code: code)
        } else if let phone = account.guardianPhone, account.guardianPhoneConfirmed {
            message = OutgoingMessage(channel: .sms, to: phone, template: template, text: text, code: code)
        } else {
            return nil
        }
        message.account = account.id
        return message
    }
}
