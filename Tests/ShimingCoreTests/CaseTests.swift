import IdentityRules
import Testing
@testable import ShimingCore

/// Makes a valid 18-digit resident ID number for a region, birth date and sequence.
func residentID(region: String = "110105", birth: String, sequence: String = "123") -> String {
    let body = region + birth + sequence
    return body + String(ISO7064.mod11_2CheckCharacter(for: body)!)
}

let today = CivilDate(year: 2026, month: 11, day: 21)!

func program(_ configure: (inout Program) -> Void = { _ in }) -> Program {
    var program = Program(key: "test", title: LocalizedText("测试", "Test"), description: LocalizedText("", ""),
                          identity: .init(documentTypes: [.resident], gender: .optional),
                          documents: [.init(kind: .idFront, required: true, minimumShortSide: 600)],
                          checks: Program.Check.allCases.filter { $0 != .registry })
    configure(&program)
    return program
}

func photo(_ kind: Program.DocumentKind = .idFront, width: Int = 1200, height: Int = 800) -> UploadedDocument {
    UploadedDocument(kind: kind, file: SniffedFile(format: .png, width: width, height: height), size: 200_000)
}

@Suite struct CaseMachineTests {
    @Test func theHappyPathsFollowTheArchitecture() throws {
        #expect(try CaseMachine.run(.draft, [.submit, .startChecks, .checked(.approved), .awaitConfirmation, .verify, .expire])
            == [.submitted, .checking, .approved, .awaitingConfirmation, .verified, .expired])
        #expect(try CaseMachine.run(.draft, [.submit, .startChecks, .checked(.needsReview), .startReview, .reviewed(.return), .submit])
            == [.submitted, .checking, .needsReview, .inReview, .returned, .submitted])
        #expect(try CaseMachine.run(.verified, [.freeze, .appeal, .startReview, .reviewed(.approve), .verify])
            == [.frozen, .appealed, .inReview, .approved, .verified])
        // A freeze lifted, or an appeal against it upheld: back to where the case was.
        #expect(try CaseMachine.run(.verified, [.freeze, .restore(.verified)]) == [.frozen, .verified])
        #expect(try CaseMachine.run(.needsReview, [.freeze, .appeal, .startReview, .restore(.needsReview)])
            == [.frozen, .appealed, .inReview, .needsReview])
    }

    @Test func everyOtherMoveIsRefused() {
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.draft, on: .verify) }
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.verified, on: .submit) }
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.rejected, on: .submit) }
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.checking, on: .reviewed(.approve)) }
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.draft, on: .freeze) }
        // Exhaustively: only the listed pairs move.
        var allowed = 0
        let actions: [CaseAction] = [.submit, .startChecks, .checked(.approved), .checked(.needsReview), .checked(.returned), .startReview,
                                     .reviewed(.approve), .reviewed(.reject), .reviewed(.return), .awaitConfirmation, .verify, .expire, .freeze, .appeal,
                                     .restore(.needsReview), .restore(.awaitingConfirmation), .restore(.verified), .restore(.rejected), .withdraw]
        for state in CaseState.allCases {
            for action in actions where (try? CaseMachine.next(state, on: action)) != nil { allowed += 1 }
        }
        // submit ×4, startChecks, checked ×3, startReview ×2, reviewed ×3, awaitConfirmation, verify ×2, expire, freeze ×11, appeal ×2,
        // restore ×9 (from frozen, appealed or in review to the three restorable states; never to rejected), withdraw ×6
        // (a withdrawn case is final: not frozen, not restored)
        #expect(allowed == 4 + 1 + 3 + 2 + 3 + 1 + 2 + 1 + 11 + 2 + 9 + 6)
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.frozen, on: .withdraw) }
        #expect(throws: CaseTransitionError.self) { try CaseMachine.next(.verified, on: .withdraw) }
    }

    @Test func aTransitionCarriesWhatEnteringItsStateObliges() throws {
        // Entering review opens a task; waiting for the code sends one; leaving review ends the task.
        #expect(try CaseMachine.transition(.checking, on: .checked(.needsReview)) == CaseTransition(state: .needsReview, effects: [.openReviewTask(kind: "review")]))
        #expect(try CaseMachine.transition(.checking, on: .checked(.approved)).effects.isEmpty)
        #expect(try CaseMachine.transition(.approved, on: .awaitConfirmation).effects == [.sendConfirmation])
        #expect(try CaseMachine.transition(.needsReview, on: .submit).effects == [.cancelReviewTasks])
        #expect(try CaseMachine.transition(.inReview, on: .freeze) == CaseTransition(state: .frozen, effects: [.cancelReviewTasks]))
        #expect(try CaseMachine.transition(.rejected, on: .appeal).effects == [.openReviewTask(kind: "appeal")])
        // A freeze that ends puts the case back where it was, with what that state needs.
        #expect(try CaseMachine.transition(.frozen, on: .restore(.needsReview)).effects == [.openReviewTask(kind: "review")])
        #expect(try CaseMachine.transition(.appealed, on: .restore(.needsReview)).effects == [.cancelReviewTasks, .openReviewTask(kind: "review")])
        #expect(try CaseMachine.transition(.frozen, on: .restore(.awaitingConfirmation)).effects == [.sendConfirmation])
        #expect(try CaseMachine.transition(.frozen, on: .restore(.verified)).effects.isEmpty)
        #expect(throws: CaseTransitionError.self) { try CaseMachine.transition(.draft, on: .verify) }
    }
}

@Suite struct CaseEvaluatorTests {
    let adult = residentID(birth: "19900307", sequence: "122")  // even sequence: female
    let child = residentID(birth: "20150301", sequence: "131")  // male, 11 years old on 2026-11-21

    func application(name: String = "王小红", number: String? = nil, gender: String? = nil) -> CaseApplication {
        CaseApplication(identity: .init(name: name, documentType: "resident", documentNumber: number ?? adult, gender: gender))
    }

    @Test func aCompleteValidApplicationPassesAndIsApproved() {
        let evaluator = CaseEvaluator(program: program { $0.review.mode = .onDoubt }, today: today)
        let local = evaluator.localChecks(application(gender: "female"), documents: [photo()], guardianConsent: false)
        #expect(local.allSatisfy { $0.passed })
        let (checks, decision) = evaluator.decide(local: local, duplicate: false, registry: nil)
        #expect(decision == AutomaticDecision(outcome: .approved, rule: "checks.all_passed", reasons: []))
        #expect(Set(checks.map(\.check)) == ["completeness", "document_rules", "name_format", "age", "consistency", "documents", "duplicate", "frequency"])
    }

    @Test func fixableProblemsAreAllListedAtOnceAndReturnTheCase() {
        let evaluator = CaseEvaluator(program: program(), today: today)
        var broken = adult
        broken.replaceSubrange(broken.index(broken.startIndex, offsetBy: 16)...broken.index(broken.startIndex, offsetBy: 16), with: "9")
        if broken == adult { broken = String(adult.dropLast()) + "0" }
        let local = evaluator.localChecks(application(name: "王", number: broken, gender: "male"), documents: [photo(width: 400, height: 300)], guardianConsent: false)
        let failed = local.filter { !$0.passed }
        #expect(Set(failed.map(\.code)).isSuperset(of: ["invalid_length", "document_illegible"]))
        #expect(failed.contains { $0.field == "identity.documentNumber" })
        let (_, decision) = evaluator.decide(local: local, duplicate: true, registry: nil)
        #expect(decision.outcome == .returned)
        #expect(decision.rule == "checks.fix")
        #expect(decision.reasons.contains("document_illegible"))
        let illegible = failed.first { $0.code == "document_illegible" }!
        #expect(illegible.reason.zh.contains("600"))
        #expect(illegible.reason.en.contains("ID card, photo side".lowercased()))
    }

    @Test func genderThatContradictsTheNumberIsReturned() {
        let evaluator = CaseEvaluator(program: program(), today: today)
        let results = evaluator.localChecks(application(gender: "male"), documents: [photo()], guardianConsent: false)
        #expect(results.contains { $0.code == "gender_mismatch" && $0.field == "identity.gender" })
    }

    @Test func missingRequiredFieldsAndDocumentsAreNamed() {
        let evaluator = CaseEvaluator(program: program { $0.sections = [.school, .address] }, today: today)
        let results = evaluator.localChecks(CaseApplication(identity: .init(name: "王小红")), documents: [], guardianConsent: false)
        let missing = Set(results.filter { $0.code == "required" }.compactMap(\.field))
        #expect(missing == ["identity.documentType", "identity.documentNumber", "school.school", "school.grade", "school.class",
                            "school.enrolmentYear", "identity.address"])
        #expect(results.contains { $0.code == "document_missing" && $0.field == "documents.id_front" })
        // The rules do not also complain about the number that is missing: they say they did not run.
        #expect(!results.contains { $0.check == "document_rules" && $0.disposition != nil })
        #expect(results.first { $0.check == "document_rules" }?.code == CheckResult.notRunCode)
        #expect(evaluator.missing(CaseApplication(identity: .init(name: "王小红")), documents: []).contains("documents.id_front"))
    }

    @Test func underFourteenNeedsTheGuardianAndTheirConsent() {
        let evaluator = CaseEvaluator(program: program(), today: today)
        let alone = evaluator.localChecks(application(number: child), documents: [photo()], guardianConsent: false)
        #expect(alone.contains { $0.code == "guardian_required" && $0.detail == "14" })
        var withGuardian = application(number: child)
        withGuardian.guardian = .init(name: "王大明", phone: "13800138000", relation: "father")
        #expect(evaluator.localChecks(withGuardian, documents: [photo()], guardianConsent: false).contains { $0.code == "guardian_consent_missing" })
        #expect(evaluator.localChecks(withGuardian, documents: [photo()], guardianConsent: true).allSatisfy { $0.passed })
        withGuardian.guardian?.documentNumber = residentID(birth: "20100101")
        #expect(evaluator.localChecks(withGuardian, documents: [photo()], guardianConsent: true).contains { $0.code == "guardian_not_adult" })
    }

    @Test func numbersAreCheckedAsTheChosenTypeAndLegacyNumbersNormalised() {
        let evaluator = CaseEvaluator(program: program { $0.identity.documentTypes = [.resident, .hkMacaoResidence] }, today: today)
        let permit = residentID(region: "810000", birth: "19950101")
        #expect(evaluator.checkNumber(permit, type: .resident) == .invalid(code: "document_type_mismatch"))
        guard case .valid(let normalized, _) = evaluator.checkNumber(permit, type: .hkMacaoResidence) else { Issue.record("permit refused"); return }
        #expect(normalized == permit)
        guard case .valid(let upgraded, _) = evaluator.checkNumber("110105491231002", type: .resident) else { Issue.record("legacy refused"); return }
        #expect(upgraded.count == 18 && upgraded.hasPrefix("11010519491231002"))
        var passport = application()
        passport.identity.documentType = "passport"
        #expect(evaluator.localChecks(passport, documents: [photo()], guardianConsent: false)
            .contains { $0.code == "document_type_not_accepted" && $0.reason.zh.contains("港澳居民居住证") })
    }

    @Test func duplicatesAndRegistryDoubtsGoToAPerson() {
        let evaluator = CaseEvaluator(program: program { $0.review.mode = .onDoubt; $0.registry = .init(source: .roster, match: [.name, .school]); $0.sections = [.school]; $0.checks = Program.Check.allCases }, today: today)
        let local = [CheckResult.ok("completeness")]
        #expect(evaluator.decide(local: local, duplicate: true, registry: .init(verdict: .match)).decision
            == AutomaticDecision(outcome: .needsReview, rule: "checks.review", reasons: ["duplicate_identity"]))
        let (checks, decision) = evaluator.decide(local: local, duplicate: false, registry: .init(verdict: .mismatch, matched: [.name], differed: [.school]))
        #expect(decision.reasons == ["registry_mismatch"])
        let registry = checks.first { $0.check == "registry" }!
        #expect(registry.differed == ["school"] && registry.matched == ["name"])
        #expect(registry.reason.zh.contains("学校"))
        #expect(evaluator.decide(local: local, duplicate: false, registry: .init(verdict: .unavailable)).decision.reasons == ["registry_unavailable"])
        #expect(evaluator.decide(local: local, duplicate: false, registry: .init(verdict: .match, matched: [.name, .school])).decision.outcome == .approved)
        let always = CaseEvaluator(program: program { $0.review.mode = .always }, today: today)
        #expect(always.decide(local: local, duplicate: false, registry: nil).decision.rule == "program.review_always")
    }

    @Test func organisationRepresentativeMustBeThePersonGiven() {
        let evaluator = CaseEvaluator(program: program { $0.subject = .organisation; $0.sections = [.organisation] }, today: today)
        var app = application()
        app.organisation = .init(name: "阳光养老服务中心", creditCode: "91110000600037341L", representative: "李四")
        #expect(evaluator.localChecks(app, documents: [photo()], guardianConsent: false).contains { $0.code == "representative_mismatch" })
        app.organisation?.creditCode = "91110000600037341X"
        #expect(evaluator.localChecks(app, documents: [photo()], guardianConsent: false).contains { $0.field == "organisation.creditCode" })
    }
}

@Suite struct MatchingTests {
    @Test func namesMatchAcrossWidthDotsAndSpaces() {
        #expect(NameMatching.sameName("阿依古丽·买买提", "阿依古丽买买提"))
        #expect(NameMatching.sameName("阿依古丽•买买提", "阿依古丽．买买提"))
        #expect(NameMatching.sameName("Ｊｏｈｎ  Smith", "john smith"))
        #expect(!NameMatching.sameName("王小红", "王晓红"))
        #expect(NameMatching.sameLabel("三年级 2 班", "三年级２班"))
    }

    @Test func registryComparisonNamesMatchedAndDifferingFields() {
        let record = RegistryRecord(name: "王小红", documentNumber: "11010519900307122X", school: "第一中学", grade: "初二", class: "3班", enrolmentYear: 2025)
        var app = CaseApplication(identity: .init(name: "王 小红"), school: .init(school: "第一中学", grade: "初二", class: "3 班", enrolmentYear: 2025))
        #expect(record.compare(app, number: "11010519900307122x", on: [.name, .documentNumber, .school, .grade, .class]).verdict == .match)
        app.school?.class = "4班"
        let answer = record.compare(app, number: "11010519900307122X", on: [.name, .class, .enrolmentYear])
        #expect(answer == RegistryAnswer(verdict: .mismatch, matched: [.name, .enrolmentYear], differed: [.class]))
    }
}

@Suite struct IdentityCodeTests {
    struct Counter: RandomSource {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(($0 * 37 + 11) % 256) } }
    }

    /// A seeded source, so a failure names the code that caused it and repeats.
    struct Seeded: RandomSource {
        let seed: UInt64
        func bytes(_ count: Int) -> [UInt8] {
            var state = seed
            return (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 33)
            }
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 42, 2026, 90210])
    func codesCarryACheckCharacterThatCatchesTyposAndSwaps(seed: UInt64) {
        check(IdentityCode.generate(using: Seeded(seed: seed)))
    }

    /// The one swap Luhn mod 32 cannot see, `0Z` ↔ `Z0`, is the only one let through.
    @Test func theZeroZedSwapIsTheOneBlindSpot() {
        let body = Array("VKJVJZ0TXRY".unicodeScalars)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: body)
        view.append(IdentityCode.checkCharacter(for: body))
        check(String(view))
    }

    private func check(_ code: String) {
        #expect(code.count == 12)
        #expect(IdentityCode.isValid(code))
        #expect(IdentityCode.isValid(IdentityCode.format(code).lowercased()))
        let scalars = Array(code.unicodeScalars)
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".unicodeScalars)
        for position in 0..<12 {
            for replacement in alphabet where replacement != scalars[position] {
                var changed = scalars
                changed[position] = replacement
                #expect(!IdentityCode.isValid(String(String.UnicodeScalarView(changed))), "\(code) at \(position)")
            }
        }
        for position in 0..<11 where scalars[position] != scalars[position + 1] {
            var swapped = scalars
            swapped.swapAt(position, position + 1)
            let blindSpot = Set([scalars[position], scalars[position + 1]]) == Set(["0", "Z"])
            #expect(IdentityCode.isValid(String(String.UnicodeScalarView(swapped))) == blindSpot, "\(code) at \(position)")
        }
    }

    @Test func codesAreNotSequential() {
        let codes = (0..<1000).map { _ in IdentityCode.generate(using: SystemRandom()) }
        #expect(Set(codes).count == 1000)
        #expect(IdentityCode.format(IdentityCode.generate(using: Counter())).split(separator: "-").count == 3)
    }
}
