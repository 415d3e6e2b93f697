/// Where an application (case) stands. The raw value is the API's `state`.
public enum CaseState: String, Sendable, Codable, CaseIterable {
    case draft
    case submitted
    case checking
    case approved
    case needsReview = "needs_review"
    case inReview = "in_review"
    case returned
    case rejected
    case awaitingConfirmation = "awaiting_confirmation"
    case verified
    case expired
    case frozen
    case appealed
    /// The applicant withdrew their consent to the processing of sensitive data: nothing more is
    /// done with the application (PIPL art. 29 with art. 15).
    case withdrawn

    /// States in which the applicant may still change the data (API.md, `PATCH /cases/{id}`).
    public var isEditable: Bool { [.draft, .submitted, .needsReview, .returned].contains(self) }

    /// States in which the case holds its identity number against other accounts: a second
    /// account applying with the same number is a duplicate.
    public var holdsIdentity: Bool {
        [.submitted, .checking, .approved, .needsReview, .inReview, .awaitingConfirmation, .verified, .frozen, .appealed].contains(self)
    }

    /// The states a freeze takes a case from (the transient ones pass within one request).
    public static let freezable: Set<CaseState> = [.needsReview, .inReview, .awaitingConfirmation, .verified]

    /// Where a case may return when its freeze ends: a case frozen in review goes back to the queue.
    public static let restorable: Set<CaseState> = [.needsReview, .awaitingConfirmation, .verified]

    /// States a person still has to act on (an applicant, a reviewer): not final.
    public var isOpen: Bool { ![.rejected, .verified, .expired, .withdrawn].contains(self) }

    /// The states a withdrawn consent stops: everything still being worked on except a freeze
    /// and its appeal (those stay with staff; a verification already given is not undone).
    public static let withdrawable: Set<CaseState> = [.draft, .submitted, .needsReview, .inReview, .returned, .awaitingConfirmation]

    public var label: LocalizedText {
        switch self {
        case .draft: LocalizedText("草稿", "Draft")
        case .submitted: LocalizedText("已提交", "Submitted")
        case .checking: LocalizedText("自动核验中", "Being checked")
        case .approved: LocalizedText("已通过", "Approved")
        case .needsReview: LocalizedText("等待人工审核", "Waiting for review")
        case .inReview: LocalizedText("人工审核中", "In review")
        case .returned: LocalizedText("退回修改", "Returned for correction")
        case .rejected: LocalizedText("未通过", "Rejected")
        case .awaitingConfirmation: LocalizedText("等待输入确认码", "Waiting for your confirmation code")
        case .verified: LocalizedText("已认证", "Verified")
        case .expired: LocalizedText("已过期，需要重新认证", "Expired — verify again")
        case .frozen: LocalizedText("已冻结", "Frozen")
        case .appealed: LocalizedText("申诉中", "Appealed")
        case .withdrawn: LocalizedText("已撤回", "Withdrawn")
        }
    }
}

/// Something that moves a case. Each is allowed from certain states only.
public enum CaseAction: Sendable, Equatable {
    /// The applicant submits (a draft, a returned case, or a pending case they edited).
    case submit
    /// The automatic checks start.
    case startChecks
    /// The automatic checks finished with this outcome.
    case checked(CheckOutcome)
    /// A person takes up the case.
    case startReview
    /// A person decided.
    case reviewed(ReviewOutcome)
    /// An approved case waits for the second confirmation code.
    case awaitConfirmation
    /// An approved case becomes a verification (no confirmation), or the code was entered.
    case verify
    /// The re-verification period ended.
    case expire
    /// Staff freeze the case (with the account).
    case freeze
    /// The applicant appeals a freeze or a rejection.
    case appeal
    /// A freeze ends (lifted by staff, or an appeal upheld): the case returns to where it was.
    case restore(CaseState)
    /// The applicant withdrew their sensitive-data consent.
    case withdraw

    public enum CheckOutcome: String, Sendable, Equatable, Codable {
        case approved
        case needsReview = "needs_review"
        case returned
    }

    public enum ReviewOutcome: String, Sendable, Equatable, Codable {
        case approve
        case reject
        case `return`
    }

    /// The machine name used in history and audit events.
    public var name: String {
        switch self {
        case .submit: "submit"
        case .startChecks: "start_checks"
        case .checked(let outcome): "checked_\(outcome.rawValue)"
        case .startReview: "start_review"
        case .reviewed(let outcome): "reviewed_\(outcome.rawValue)"
        case .awaitConfirmation: "await_confirmation"
        case .verify: "verify"
        case .expire: "expire"
        case .freeze: "freeze"
        case .appeal: "appeal"
        case .restore: "restore"
        case .withdraw: "withdraw"
        }
    }
}

/// A transition that the state machine does not allow.
public struct CaseTransitionError: Error, Sendable, Equatable {
    public let from: CaseState
    public let action: String

    public init(from: CaseState, action: String) {
        self.from = from
        self.action = action
    }

    public var code: String { "invalid_state" }

    public var message: LocalizedText {
        LocalizedText("申请当前状态为「\(from.label.zh)」，不能进行这一步。",
                      "The application is \(from.label.en.lowercased()); this step is not possible now.")
    }
}

/// The one place that decides how a case's state may change (ARCHITECTURE.md: nothing else may
/// change a case's state).
/// What entering a state obliges the server to do beside storing it and its history row.
public enum CaseEffect: Sendable, Equatable {
    /// Open and route a review task (`review` for a case entering review, `appeal` for an appeal).
    case openReviewTask(kind: String)
    /// Cancel the case's open review tasks (it left review: resubmitted, frozen, an appeal ended).
    case cancelReviewTasks
    /// Send the second confirmation code (P1).
    case sendConfirmation
}

/// One step of a case: the state it enters and what that obliges.
public struct CaseTransition: Sendable, Equatable {
    public var state: CaseState
    public var effects: [CaseEffect]
}

public enum CaseMachine {
    /// The step `action` takes from `state` — the state entered and its effects — or the refusal.
    public static func transition(_ state: CaseState, on action: CaseAction) throws(CaseTransitionError) -> CaseTransition {
        let to = try next(state, on: action)
        var effects: [CaseEffect] = []
        switch action {
        case .submit, .freeze, .withdraw: effects = [.cancelReviewTasks]
        case .appeal: effects = [.openReviewTask(kind: "appeal")]
        case .restore:
            if state == .appealed { effects.append(.cancelReviewTasks) }
            if to == .needsReview { effects.append(.openReviewTask(kind: "review")) }
            if to == .awaitingConfirmation { effects.append(.sendConfirmation) }
        case .checked(.needsReview): effects = [.openReviewTask(kind: "review")]
        case .awaitConfirmation: effects = [.sendConfirmation]
        default: break
        }
        return CaseTransition(state: to, effects: effects)
    }

    /// The state after `action`, or the refusal.
    public static func next(_ state: CaseState, on action: CaseAction) throws(CaseTransitionError) -> CaseState {
        switch (state, action) {
        case (.draft, .submit), (.returned, .submit), (.needsReview, .submit), (.submitted, .submit):
            return .submitted
        case (.submitted, .startChecks):
            return .checking
        case (.checking, .checked(let outcome)):
            switch outcome {
            case .approved: return .approved
            case .needsReview: return .needsReview
            case .returned: return .returned
            }
        case (.needsReview, .startReview), (.appealed, .startReview):
            return .inReview
        case (.inReview, .reviewed(let outcome)):
            switch outcome {
            case .approve: return .approved
            case .reject: return .rejected
            case .return: return .returned
            }
        case (.approved, .awaitConfirmation):
            return .awaitingConfirmation
        case (.approved, .verify), (.awaitingConfirmation, .verify):
            return .verified
        case (.verified, .expire):
            return .expired
        case (let from, .freeze) where from != .draft && from != .frozen && from != .withdrawn:
            return .frozen
        case (.frozen, .appeal), (.rejected, .appeal):
            return .appealed
        case (.frozen, .restore(let to)), (.appealed, .restore(let to)), (.inReview, .restore(let to)):
            guard CaseState.restorable.contains(to) else { throw CaseTransitionError(from: state, action: action.name) }
            return to
        case (let from, .withdraw) where CaseState.withdrawable.contains(from):
            return .withdrawn
        default:
            throw CaseTransitionError(from: state, action: action.name)
        }
    }

    /// Applies a sequence of actions, returning every state passed through.
    public static func run(_ state: CaseState, _ actions: [CaseAction]) throws(CaseTransitionError) -> [CaseState] {
        var states: [CaseState] = []
        var current = state
        for action in actions {
            current = try next(current, on: action)
            states.append(current)
        }
        return states
    }
}
