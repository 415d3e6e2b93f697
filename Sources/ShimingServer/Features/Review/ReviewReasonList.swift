import Foundation
import ShimingCore

/// The reasons a person may give for rejecting or returning a case, each with what the
/// applicant should do. The defaults below, or `<data dir>/review-reasons.yaml`:
///
/// ```yaml
/// reasons:
///   - {code: name_mismatch}                      # a default, with its default text
///   - code: photo_expired
///     text: {zh-CN: 证件已过期，请上传有效证件。, en: The document has expired; upload a valid one.}
/// ```
public struct ReviewReasonList: Sendable {
    public struct Reason: Sendable, Equatable {
        public var code: String
        public var text: LocalizedText
    }

    public let reasons: [Reason]

    public var codes: [String] { reasons.map(\.code) }

    public func text(_ code: String) -> LocalizedText? { reasons.first { $0.code == code }?.text }

    public static let defaults = ReviewReasonList(reasons: [
        Reason(code: "name_mismatch", text: LocalizedText("姓名与证件不一致，请按证件上的姓名填写。", "The name differs from the document; enter it exactly as on the document.")),
        Reason(code: "number_mismatch", text: LocalizedText("证件号码与证件照片不一致，请核对后重新填写。", "The number differs from the document photo; check and enter it again.")),
        Reason(code: "document_unreadable", text: LocalizedText("证件照片看不清，请在光线充足处拍摄完整、清晰的照片后重新上传。",
                                                                "The document photo cannot be read; take a sharp photo of the whole document in good light and upload it again.")),
        Reason(code: "document_mismatch", text: LocalizedText("上传的材料与填写的信息不符，请上传本人的证件。", "The uploaded document does not belong to the details given; upload your own document.")),
        Reason(code: "information_incomplete", text: LocalizedText("信息不完整，请补全后重新提交。", "Information is missing; complete it and submit again.")),
        Reason(code: "duplicate_identity", text: LocalizedText("该证件已在其他账号上认证。如有疑问请联系客服。", "This identity is already verified on another account; contact support if this is wrong.")),
        Reason(code: "suspected_fraud", text: LocalizedText("材料存在疑点，未能通过。如有异议可以申诉。", "The material raised doubts and was not accepted; you may appeal.")),
    ])

    /// The defaults, or the list in `file` when it exists. An invalid file stops the start with
    /// the file, line and field.
    public static func load(file: String) throws -> ReviewReasonList {
        guard FileManager.default.fileExists(atPath: file) else { return defaults }
        guard let yaml = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ProgramFileError(file: file, line: nil, field: "(file)", problem: "cannot be read as UTF-8 text")
        }
        return try parse(yaml: yaml, file: file)
    }

    static func parse(yaml: String, file: String) throws -> ReviewReasonList {
        let root = try ProgramLoader.compose(yaml: yaml, file: file)
        let reader = ProgramLoader.Reader(file: file)
        let top = try reader.mapping(root, "(top level)", allowed: ["reasons"], required: ["reasons"])
        var seen = Set<String>()
        let reasons = try reader.list(top["reasons"]!, "reasons") { node, path in
            let fields = try reader.mapping(node, path, allowed: ["code", "text"], required: ["code"])
            let code = try reader.string(fields["code"]!, "\(path).code")
            guard code.count <= 40, code.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
                throw reader.fail(fields["code"], "\(path).code", "must be lower-case letters, digits and '_' (at most 40)")
            }
            guard seen.insert(code).inserted else { throw reader.fail(fields["code"], "\(path).code", "'\(code)' is listed twice") }
            if let node = fields["text"] { return Reason(code: code, text: try reader.text(node, "\(path).text")) }
            guard let text = defaults.text(code) else {
                throw reader.fail(node, "\(path).text", "is required for a code that is not one of the defaults")
            }
            return Reason(code: code, text: text)
        }
        guard !reasons.isEmpty else { throw reader.fail(top["reasons"], "reasons", "must list at least one reason") }
        return ReviewReasonList(reasons: reasons)
    }
}
