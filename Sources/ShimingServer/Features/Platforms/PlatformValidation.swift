import Foundation
import ShimingCore

/// What a platform's registration must satisfy: a name, registered return addresses, a webhook
/// target Shiming may call, programs on offer and claims Shiming knows.
extension PlatformService {
    struct Checked {
        var name: String
        var purpose: String
        var redirectURIs: [String]
        var webhookURL: String?
        var programs: [String]
        var claims: [PlatformClaim]
    }

    static let defaultPurpose = "确认您的实名身份 / to confirm your real-name identity"

    func validate(name: String, purpose: String?, redirectURIs: [String], webhookURL: String?, programs: [String],
                  claims: [String]) throws -> Checked {
        var problems: [String: String] = [:]
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty || name.count > 100 { problems["name"] = name.isEmpty ? "required" : "too_long" }
        let purpose = (purpose ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if purpose.count > 200 { problems["purpose"] = "too_long" }
        if redirectURIs.isEmpty || redirectURIs.count > 10 {
            problems["redirectUris"] = redirectURIs.isEmpty ? "required" : "too_many"
        } else if let bad = redirectURIs.firstIndex(where: { Self.webAddress($0) == nil || $0.contains("#") }) {
            problems["redirectUris[\(bad)]"] = "invalid_url"
        }
        if let webhookURL, let problem = webhookProblem(webhookURL) { problems["webhookUrl"] = problem }
        if programs.isEmpty { problems["programs"] = "required" }
        if programs.contains(where: { context.programs[$0] == nil }) { problems["programs"] = "unknown_program" }
        let parsed = claims.compactMap(PlatformClaim.init(rawValue:))
        if parsed.count != claims.count { problems["claims"] = "unknown_claim" }
        guard problems.isEmpty else { throw AccountError.invalid(problems) }
        var seen = Set<String>()
        return Checked(name: name, purpose: purpose.isEmpty ? Self.defaultPurpose : purpose, redirectURIs: redirectURIs,
                       webhookURL: webhookURL, programs: programs.filter { seen.insert($0).inserted },
                       claims: Array(Set(parsed + [.verified])).sorted())
    }

    /// An absolute http(s) URL with a host, at most 500 characters.
    static func webAddress(_ text: String) -> URLComponents? {
        guard text.count <= 500, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else { return nil }
        return components
    }

    /// Why a webhook target is refused, or nil. Where Shiming runs on https (production), the
    /// target must be https too and not a loopback or private address, unless the deployment
    /// allows that (`SHIMING_WEBHOOK_ALLOW_PRIVATE=1`).
    func webhookProblem(_ text: String) -> String? {
        guard let components = Self.webAddress(text), !text.contains("#") else { return "invalid_url" }
        let configuration = context.configuration
        guard configuration.publicURL.hasPrefix("https://"), !configuration.webhookAllowPrivate else { return nil }
        if components.scheme?.lowercased() != "https" { return "https_required" }
        if Self.isPrivate(host: components.host ?? "") { return "private_address" }
        return nil
    }

    /// Loopback, private, link-local and unspecified addresses, and names that mean this machine.
    static func isPrivate(host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "localhost" || host.hasSuffix(".localhost") || host.hasSuffix(".local") || host.hasSuffix(".internal") { return true }
        let octets = host.split(separator: ".").compactMap { UInt8($0) }
        if octets.count == 4, host.split(separator: ".").count == 4 {
            switch (octets[0], octets[1]) {
            case (10, _), (127, _), (0, _), (169, 254), (192, 168): return true
            case (172, 16...31), (100, 64...127): return true
            default: return false
            }
        }
        if host.contains(":") {
            return host == "::1" || host == "::" || host.hasPrefix("fc") || host.hasPrefix("fd") || host.hasPrefix("fe80")
                || host.hasPrefix("::ffff:")
        }
        return false
    }
}
