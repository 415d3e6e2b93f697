import Foundation
import IdentityRules

/// Comparing what an applicant typed with an authoritative record. Names are compared after the
/// same clean-up the name rules use (full-width → half-width, middle-dot variants, spaces), and
/// without the dot and spaces at all, so `阿依古丽·买买提` equals `阿依古丽买买提`; Latin names
/// ignore case. School fields ignore width, case and spacing.
public enum NameMatching {
    public static func nameKey(_ name: String) -> String {
        PersonalName.compact(name).unicodeScalars.filter { $0 != "·" && $0 != " " && $0 != "-" && $0 != "." }
            .map { String($0) }.joined().uppercased()
    }

    public static func sameName(_ a: String, _ b: String) -> Bool { nameKey(a) == nameKey(b) }

    /// A school, grade or class label in comparable form: `三年级 2 班`, `三年级2班` and `三年级２班` agree.
    public static func labelKey(_ text: String) -> String {
        var view = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            let half = Normalization.halfWidth(scalar)
            if half.properties.isWhitespace { continue }
            view.append(half)
        }
        return String(view).uppercased()
    }

    public static func sameLabel(_ a: String, _ b: String) -> Bool { labelKey(a) == labelKey(b) }
}

/// A row of an authoritative registry (a roster line, or what a service returned).
public struct RegistryRecord: Sendable, Equatable {
    public var name: String
    public var documentNumber: String
    public var school: String?
    public var grade: String?
    public var `class`: String?
    public var enrolmentYear: Int?

    public init(name: String, documentNumber: String, school: String? = nil, grade: String? = nil, class: String? = nil, enrolmentYear: Int? = nil) {
        self.name = name
        self.documentNumber = documentNumber
        self.school = school
        self.grade = grade
        self.class = `class`
        self.enrolmentYear = enrolmentYear
    }

    /// Compares the application with this record on the given fields. `number` is the
    /// application's normalised document number.
    public func compare(_ application: CaseApplication, number: String, on fields: [Program.MatchField]) -> RegistryAnswer {
        var matched: [Program.MatchField] = []
        var differed: [Program.MatchField] = []
        for field in fields {
            let same: Bool = switch field {
            case .name: NameMatching.sameName(application.identity.name ?? "", name)
            case .documentNumber: number.uppercased() == documentNumber.uppercased()
            case .school: NameMatching.sameLabel(application.school?.school ?? "", school ?? "")
            case .grade: NameMatching.sameLabel(application.school?.grade ?? "", grade ?? "")
            case .class: NameMatching.sameLabel(application.school?.class ?? "", self.class ?? "")
            case .enrolmentYear: application.school?.enrolmentYear != nil && application.school?.enrolmentYear == enrolmentYear
            }
            if same { matched.append(field) } else { differed.append(field) }
        }
        return RegistryAnswer(verdict: differed.isEmpty ? .match : .mismatch, matched: matched, differed: differed)
    }
}
