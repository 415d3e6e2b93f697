/// The result of one automatic check on one field or document: a machine code, whether it
/// passed, and — when it did not — whether the applicant can fix it (the case is returned) or a
/// person must look (the case goes to review). Reasons are rendered from the code, so stored
/// results hold no personal data.
public struct CheckResult: Sendable, Equatable, Codable {
    public enum Disposition: String, Sendable, Codable {
        /// The applicant can correct it: the case is returned with the reason.
        case fix
        /// Doubtful: a person decides.
        case review
    }

    /// The check that produced it: a `Program.Check` raw value, or `completeness`/`review`.
    public var check: String
    /// `ok` when passed, else the problem (`invalid_checksum`, `document_illegible`, …).
    public var code: String
    public var passed: Bool
    /// The field or document the result is about (`identity.documentNumber`, `documents.id_front`).
    public var field: String?
    public var disposition: Disposition?
    /// Figures the reason needs (the minimum pixel size, the accepted document types).
    public var detail: String?
    /// For registry comparisons: which fields matched and which differed.
    public var matched: [String]?
    public var differed: [String]?

    public init(check: String, code: String, passed: Bool, field: String? = nil, disposition: Disposition? = nil,
                detail: String? = nil, matched: [String]? = nil, differed: [String]? = nil) {
        self.check = check
        self.code = code
        self.passed = passed
        self.field = field
        self.disposition = disposition
        self.detail = detail
        self.matched = matched
        self.differed = differed
    }

    public static func ok(_ check: String, field: String? = nil, matched: [String]? = nil) -> CheckResult {
        CheckResult(check: check, code: "ok", passed: true, field: field, matched: matched)
    }

    public static func fix(_ check: String, _ code: String, field: String?, detail: String? = nil) -> CheckResult {
        CheckResult(check: check, code: code, passed: false, field: field, disposition: .fix, detail: detail)
    }

    /// A check that could not run because what it looks at is missing or unusable: neither
    /// passed nor failed, and it decides nothing (the missing part has its own result).
    public static func notRun(_ check: String, field: String?) -> CheckResult {
        CheckResult(check: check, code: notRunCode, passed: false, field: field)
    }

    public static let notRunCode = "not_run"

    /// Whether the check ran at all.
    public var ran: Bool { code != Self.notRunCode }

    public static func review(_ check: String, _ code: String, field: String? = nil, matched: [String]? = nil, differed: [String]? = nil) -> CheckResult {
        CheckResult(check: check, code: code, passed: false, field: field, disposition: .review, matched: matched, differed: differed)
    }

    /// What the applicant (or the reviewer) reads.
    public var reason: LocalizedText { CheckReasons.text(for: self) }
}

/// The reason texts, in one place so every code has both languages.
public enum CheckReasons {
    public static func fieldLabel(_ field: String) -> LocalizedText {
        switch field {
        case "identity.name": LocalizedText("姓名", "Name")
        case "identity.documentType": LocalizedText("证件类型", "Document type")
        case "identity.documentNumber": LocalizedText("证件号码", "Document number")
        case "identity.gender": LocalizedText("性别", "Gender")
        case "identity.address": LocalizedText("地址", "Address")
        case "contact.phone": LocalizedText("联系手机号", "Contact phone")
        case "contact.email": LocalizedText("联系邮箱", "Contact e-mail")
        case "school.school": LocalizedText("学校", "School")
        case "school.grade": LocalizedText("年级", "Grade")
        case "school.class": LocalizedText("班级", "Class")
        case "school.enrolmentYear": LocalizedText("入学年份", "Enrolment year")
        case "guardian.name": LocalizedText("监护人姓名", "Guardian's name")
        case "guardian.phone": LocalizedText("监护人手机号", "Guardian's phone")
        case "guardian.relation": LocalizedText("与监护人关系", "Relation to the guardian")
        case "guardian.documentNumber": LocalizedText("监护人证件号码", "Guardian's document number")
        case "organisation.name": LocalizedText("机构名称", "Organisation name")
        case "organisation.creditCode": LocalizedText("统一社会信用代码", "Unified social credit code")
        case "organisation.representative": LocalizedText("机构负责人", "Person in charge")
        default:
            if field.hasPrefix("documents."), let kind = Program.DocumentKind(rawValue: String(field.dropFirst("documents.".count))) {
                kind.label
            } else {
                LocalizedText(field, field)
            }
        }
    }

    public static func text(for result: CheckResult) -> LocalizedText {
        let f = fieldLabel(result.field ?? "")
        let detail = result.detail ?? ""
        if result.passed { return passed(result.check, detail: result.detail) }
        switch result.code {
        case CheckResult.notRunCode:
            return LocalizedText("\(checkName(result.check).zh)：未检查，需先填好「\(f.zh)」。",
                                 "\(checkName(result.check).en): not checked yet — \(f.en.lowercased()) is needed first.")
        case "required": return LocalizedText("\(f.zh)未填写，请补充。", "\(f.en) is missing; please fill it in.")
        case "invalid_length": return LocalizedText("\(f.zh)的长度不对，请核对后重新填写。", "\(f.en) has the wrong length; please check it.")
        case "invalid_format": return LocalizedText("\(f.zh)的格式不对，请核对后重新填写。", "\(f.en) is not in the right format; please check it.")
        case "invalid_checksum":
            return LocalizedText("\(f.zh)的校验位不对，可能有数字输错，请对照证件逐位核对。",
                                 "\(f.en) fails its check character — a digit is probably mistyped; compare it with the document.")
        case "invalid_birth_date":
            return LocalizedText("\(f.zh)中的出生日期不存在，请核对。", "The birth date in the \(f.en.lowercased()) does not exist; please check it.")
        case "unknown_region", "retired_region":
            return LocalizedText("\(f.zh)中的地区码不存在，请核对前六位。", "The region code (first six digits) of the \(f.en.lowercased()) does not exist; please check it.")
        case "invalid_component": return LocalizedText("\(f.zh)中有无效的部分，请核对。", "Part of the \(f.en.lowercased()) is not valid; please check it.")
        case "invalid_value": return LocalizedText("\(f.zh)的取值无效。", "\(f.en) has a value that is not allowed.")
        case "document_type_not_accepted":
            return LocalizedText("本项目不接受这种证件，可用的证件：\(detail)。", "This program does not accept this document; accepted: \(detail).")
        case "document_type_mismatch":
            return LocalizedText("证件号码与所选的证件类型不符，请重新选择证件类型。", "The number does not belong to the chosen document type; choose the right type.")
        case "gender_mismatch":
            return LocalizedText("填写的性别与证件号码不一致，请核对。", "The gender does not agree with the document number; please check both.")
        case "representative_mismatch":
            return LocalizedText("机构负责人应与填写证件的人一致。", "The person in charge must be the one whose document is given.")
        case "guardian_required":
            return LocalizedText("申请人未满 \(detail) 周岁，需要填写监护人信息（姓名、手机号、关系）。",
                                 "The applicant is under \(detail): fill in the guardian's name, phone and relation.")
        case "guardian_consent_missing":
            return LocalizedText("申请人未满 \(detail) 周岁，需要监护人在手机上确认同意（输入发到监护人手机的验证码）。",
                                 "The applicant is under \(detail): the guardian must consent by entering the code sent to the guardian's phone.")
        case "guardian_not_adult":
            return LocalizedText("监护人应年满 18 周岁，请核对监护人证件号码。", "The guardian must be at least 18; check the guardian's document number.")
        case "document_missing": return LocalizedText("缺少「\(f.zh)」，请上传。", "The \(f.en.lowercased()) is missing; please upload it.")
        case "document_format_not_accepted":
            return LocalizedText("「\(f.zh)」的文件类型不被接受，请上传 \(detail) 文件。", "The \(f.en.lowercased()) must be a \(detail) file.")
        case "document_too_large":
            return LocalizedText("「\(f.zh)」文件太大，不能超过 \(detail)。", "The \(f.en.lowercased()) is too large; at most \(detail).")
        case "document_illegible":
            return LocalizedText("「\(f.zh)」图片太小，看不清，请重新拍摄完整、清晰的照片（短边至少 \(detail) 像素）后上传。",
                                 "The \(f.en.lowercased()) picture is too small to read; take a clear photo of the whole document (at least \(detail) pixels on the short side) and upload it again.")
        case "duplicate_identity":
            return LocalizedText("该证件号码已在另一个账号上认证或正在认证，将由工作人员核实。",
                                 "This document number is verified or being verified on another account; staff will look into it.")
        case "registry_mismatch":
            let zh = (result.differed ?? []).map { matchLabel($0).zh }.joined(separator: "、")
            let en = (result.differed ?? []).map { matchLabel($0).en.lowercased() }.joined(separator: ", ")
            return LocalizedText("与权威数据不一致：\(zh)。工作人员将人工核对，如是填写错误，可修改后重新提交。",
                                 "Differs from the authoritative record: \(en). Staff will compare by hand; if you mistyped, correct it and submit again.")
        case "registry_not_found" where detail == "roster":
            return LocalizedText("学籍库中未找到，已转班主任审核，您不需要修改。", "Not found in the school roll; the class teacher will review it — nothing for you to change.")
        case "registry_not_found":
            return LocalizedText("在权威数据中没有找到这个证件号码，将由工作人员人工核对。",
                                 "The document number was not found in the authoritative record; staff will check by hand.")
        case "registry_limited":
            return LocalizedText("这个证件号码今天已多次核对，将由工作人员人工审核，无需重复提交。",
                                 "This document number has been checked several times today; staff will review your application — no need to submit again.")
        case "registry_unavailable":
            return LocalizedText("核验服务暂时不可用，将由工作人员人工审核，无需重复提交。",
                                 "The checking service is unavailable just now; staff will review your application — no need to submit again.")
        case "review_always":
            return LocalizedText("自动检查已通过，等待审核人员复核。", "The automatic checks passed; a reviewer will confirm.")
        default:
            return LocalizedText("未通过检查：\(result.code)。", "Check failed: \(result.code).")
        }
    }

    /// What a check looks at, for "not checked" lines.
    public static func checkName(_ check: String) -> LocalizedText {
        switch check {
        case "document_rules": LocalizedText("证件号码规则", "Document number rules")
        case "name_format": LocalizedText("姓名格式", "Name format")
        case "age": LocalizedText("年龄", "Age")
        case "consistency": LocalizedText("信息一致性", "Consistency")
        case "documents": LocalizedText("证件材料", "Documents")
        default: LocalizedText(check, check)
        }
    }

    static func passed(_ check: String, detail: String?) -> LocalizedText {
        // "used/limit/days": the new applications the window holds, this one included;
        // "r…": a resubmission, which is not counted.
        if check == "frequency", let parts = detail?.split(separator: "/"), parts.count == 3, parts[0].hasPrefix("r") {
            let used = parts[0].dropFirst()
            return LocalizedText("修改后重新提交，不计入申请次数（\(parts[2]) 天内已有 \(used) 次新申请，最多 \(parts[1]) 次）。",
                                 "A corrected resubmission, not counted (\(used) of \(parts[1]) new applications used in \(parts[2]) days).")
        }
        if check == "frequency", let parts = detail?.split(separator: "/"), parts.count == 3 {
            return LocalizedText("申请次数在限制之内：\(parts[2]) 天内第 \(parts[0]) 次新申请，最多 \(parts[1]) 次（退回后修改再提交不计次数）。",
                                 "Within the application limit: new application \(parts[0]) of \(parts[1]) in \(parts[2]) days (resubmitting a returned application does not count).")
        }
        return switch check {
        case "completeness": LocalizedText("必填信息齐全。", "All required information is given.")
        case "document_rules": LocalizedText("证件号码符合编码规则（长度、校验位、出生日期、地区码）。", "The document number follows its rules (length, check character, birth date, region).")
        case "name_format": LocalizedText("姓名格式正确。", "The name is well-formed.")
        case "age": LocalizedText("年龄符合要求。", "Age requirements are met.")
        case "consistency": LocalizedText("填写的信息与证件号码一致。", "The details agree with the document number.")
        case "duplicate": LocalizedText("该证件号码没有在其他账号上使用。", "The document number is not used on another account.")
        case "documents": LocalizedText("所需材料齐全、清晰。", "The required documents are present and legible.")
        case "frequency": LocalizedText("申请次数在限制之内。", "Within the application limit.")
        case "registry": LocalizedText("与权威数据一致。", "Matches the authoritative record.")
        default: LocalizedText("通过。", "Passed.")
        }
    }

    public static func matchLabel(_ field: String) -> LocalizedText {
        switch Program.MatchField(rawValue: field) {
        case .name: LocalizedText("姓名", "Name")
        case .documentNumber: LocalizedText("证件号码", "Document number")
        case .school: LocalizedText("学校", "School")
        case .grade: LocalizedText("年级", "Grade")
        case .class: LocalizedText("班级", "Class")
        case .enrolmentYear: LocalizedText("入学年份", "Enrolment year")
        case nil: LocalizedText(field, field)
        }
    }
}

extension Program.DocumentKind {
    public var label: LocalizedText {
        switch self {
        case .idFront: LocalizedText("身份证人像面", "ID card, photo side")
        case .idBack: LocalizedText("身份证国徽面", "ID card, emblem side")
        case .householdRegister: LocalizedText("户口簿", "Household register")
        case .workProof: LocalizedText("工作证明", "Work proof")
        case .socialSecurity: LocalizedText("社保记录", "Social-security record")
        case .businessLicence: LocalizedText("营业执照", "Business licence")
        case .other: LocalizedText("其他材料", "Other document")
        }
    }
}

extension Program.IdentityDocument {
    public var label: LocalizedText {
        switch self {
        case .resident: LocalizedText("居民身份证", "Resident ID card")
        case .hkMacaoResidence: LocalizedText("港澳居民居住证", "HK/Macao residence permit")
        case .taiwanResidence: LocalizedText("台湾居民居住证", "Taiwan residence permit")
        case .foreignPermanentResident: LocalizedText("外国人永久居留身份证", "Foreign permanent resident ID")
        case .passport: LocalizedText("护照", "Passport")
        case .hkMacaoPermit: LocalizedText("港澳居民来往内地通行证", "HK/Macao travel permit")
        case .taiwanPermit: LocalizedText("台湾居民来往大陆通行证", "Taiwan compatriot permit")
        }
    }
}
