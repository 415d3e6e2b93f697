import ShimingCore

extension CaseApplication {
    /// A stored application read straight from its `JSONTree`, as `JSONDecoder` reads it
    /// (unknown members ignored, a missing or null optional member nil), or nil for anything
    /// else (a member of another type, a number that is not a whole `Int`, no identity): the
    /// caller then decodes it the general way, whose answer or error stands.
    ///
    /// Every case read opens its application; through the `Decoder` protocol each member was a
    /// container and a dynamic call, most of the opening's cost after the decryption.
    init?(stored tree: JSONTree) {
        guard case .object(let root) = tree, case .object(let identity)? = root["identity"],
              let name = Self.text(identity["name"]), let documentType = Self.text(identity["documentType"]),
              let documentNumber = Self.text(identity["documentNumber"]), let gender = Self.text(identity["gender"]),
              let address = Self.text(identity["address"]),
              let contact = Self.contact(root["contact"]), let school = Self.school(root["school"]),
              let guardian = Self.guardian(root["guardian"]), let organisation = Self.organisation(root["organisation"])
        else { return nil }
        self.init(identity: Identity(name: name, documentType: documentType, documentNumber: documentNumber, gender: gender, address: address),
                  contact: contact, school: school, guardian: guardian, organisation: organisation)
    }

    /// An optional text member: `.some(nil)` when missing or null, nil when of another type.
    private static func text(_ member: JSONTree?) -> String?? {
        switch member {
        case nil, .null?: .some(nil)
        case .text(let text)?: .some(text)
        default: nil
        }
    }

    /// An optional section's members: `.some(nil)` when it is missing or null, nil when it is
    /// not an object or `read` finds a member of another type.
    private static func section<T>(_ member: JSONTree?, _ read: (JSONObject) -> T?) -> T?? {
        switch member {
        case nil, .null?: .some(nil)
        case .object(let object)?: read(object).map { .some($0) }
        default: nil
        }
    }

    private static func contact(_ member: JSONTree?) -> Contact?? {
        section(member) { object in
            guard let phone = text(object["phone"]), let email = text(object["email"]) else { return nil }
            return Contact(phone: phone, email: email)
        }
    }

    private static func school(_ member: JSONTree?) -> School?? {
        section(member) { object in
            guard let school = text(object["school"]), let grade = text(object["grade"]), let group = text(object["class"]) else { return nil }
            let year: Int?
            switch object["enrolmentYear"] {
            case nil, .null?: year = nil
            // Whole numbers only, as `DirectJSON` reads an `Int` (it leaves `-0` to `JSONDecoder`).
            case .number(let digits)? where digits != "-0":
                guard let value = Int(digits) else { return nil }
                year = value
            default: return nil
            }
            return School(school: school, grade: grade, class: group, enrolmentYear: year)
        }
    }

    private static func guardian(_ member: JSONTree?) -> Guardian?? {
        section(member) { object in
            guard let name = text(object["name"]), let phone = text(object["phone"]), let relation = text(object["relation"]),
                  let documentNumber = text(object["documentNumber"]) else { return nil }
            return Guardian(name: name, phone: phone, relation: relation, documentNumber: documentNumber)
        }
    }

    private static func organisation(_ member: JSONTree?) -> Organisation?? {
        section(member) { object in
            guard let name = text(object["name"]), let creditCode = text(object["creditCode"]),
                  let representative = text(object["representative"]) else { return nil }
            return Organisation(name: name, creditCode: creditCode, representative: representative)
        }
    }
}
