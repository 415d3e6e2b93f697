/// The built-in programs for the five processes of PRODUCT.md, written in the same YAML a
/// deployment writes (and read by the same loader, so a preset cannot be invalid without a
/// test failing). A file in `<data dir>/programs/` with the same key replaces one.
enum ProgramPresets {
    static let files: [(name: String, yaml: String)] = [
        ("online-education.yaml", onlineEducation),
        ("credit-bank.yaml", creditBank),
        ("senior-personal.yaml", seniorPersonal),
        ("senior-organisation.yaml", seniorOrganisation),
        ("education-card.yaml", educationCard),
        ("e-commerce.yaml", eCommerce),
    ]

    /// P1: every student is checked by rule, then re-reviewed by the review team, confirms with
    /// a second code, gets an identity code, and renews each term.
    static let onlineEducation = """
    key: online-education
    title: {zh-CN: 线上教育学生身份确认, en: Online school student identity}
    description:
      zh-CN: 新生、在读生和转学生填写姓名和身份证号并上传身份证照片，经自动初审和人工复核后，再输入一次验证码完成确认。每学期复核一次。
      en: New, current and transferring students give their name and ID number with photos of the ID card; after automatic and manual review they confirm with a second code. Renewed each term.
    subject: person
    identity:
      documentTypes: [resident, hk_macao_residence, taiwan_residence, foreign_permanent_resident]
      gender: optional
    documents:
      - {kind: id_front, required: true, maxBytes: 5242880, formats: [jpeg, png, pdf], minimumShortSide: 600}
      - {kind: id_back, required: true, maxBytes: 5242880, formats: [jpeg, png, pdf], minimumShortSide: 600}
    registry: {source: none}
    checks: [document_rules, name_format, age, consistency, duplicate, documents, frequency]
    review: {routing: pool, mode: always, dueHours: 48}
    confirmation: {minutes: 30, maxAttempts: 5}
    reverificationMonths: 6
    applicationLimit: {count: 5, days: 1}
    guardianConsentUnderAge: 14
    issuesIdentityCode: true
    """

    /// P2: activated accounts verify with an ID-card photo before credit conversion unlocks.
    static let creditBank = """
    key: credit-bank
    title: {zh-CN: 学分银行实名认证, en: Credit bank real-name verification}
    description:
      zh-CN: 填写姓名和身份证号并上传身份证人像面照片。认证通过后才能使用学分转换等功能。
      en: Give your name and ID number with a photo of the ID card's photo side. Credit conversion and the other main functions unlock once verified.
    subject: person
    identity:
      documentTypes: [resident]
      gender: optional
    documents:
      - {kind: id_front, required: true, maxBytes: 5242880, formats: [jpeg, png], minimumShortSide: 600}
      - {kind: id_back, required: false, maxBytes: 5242880, formats: [jpeg, png], minimumShortSide: 600}
    registry: {source: none}
    checks: [document_rules, name_format, age, consistency, duplicate, documents, frequency]
    review: {routing: pool, mode: always, dueHours: 72}
    applicationLimit: {count: 5, days: 1}
    """

    /// P3, personal: ID card and household register, supporting material optional; reviewed
    /// by a person within three days; renewed yearly; frequent applications limited.
    static let seniorPersonal = """
    key: senior-personal
    title: {zh-CN: 老年服务个人认证, en: Senior services — personal}
    description:
      zh-CN: 上传身份证和户口簿，可附工作证明或社保记录。审核员在三个工作日内处理，结果短信或邮件通知。每年复核一次。
      en: Upload your ID card and household register, and if you like a work proof or social-security record. A reviewer decides within three days and tells you by SMS or e-mail. Renewed yearly.
    subject: person
    identity:
      documentTypes: [resident]
      gender: required
    sections: [address]
    documents:
      - {kind: id_front, required: true, minimumShortSide: 500}
      - {kind: id_back, required: true, minimumShortSide: 500}
      - {kind: household_register, required: true, minimumShortSide: 500}
      - {kind: work_proof, required: false, minimumShortSide: 500}
      - {kind: social_security, required: false, minimumShortSide: 500}
    registry: {source: none}
    checks: [document_rules, name_format, age, consistency, duplicate, documents, frequency]
    review: {routing: pool, mode: always, dueHours: 72, assignment: round_robin}
    reverificationMonths: 12
    applicationLimit: {count: 3, days: 7}
    """

    /// P3, organisation: business licence and the representative's ID card.
    static let seniorOrganisation = """
    key: senior-organisation
    title: {zh-CN: 老年服务机构认证, en: Senior services — organisation}
    description:
      zh-CN: 机构填写名称、统一社会信用代码和负责人，上传营业执照和负责人身份证。审核员在三个工作日内处理。
      en: An organisation gives its name, unified social credit code and representative, with its business licence and the representative's ID card. A reviewer decides within three days.
    subject: organisation
    identity:
      documentTypes: [resident]
    sections: [organisation, address]
    documents:
      - {kind: business_licence, required: true, minimumShortSide: 500}
      - {kind: id_front, required: true, minimumShortSide: 500}
      - {kind: work_proof, required: false, minimumShortSide: 500}
    registry: {source: none}
    checks: [document_rules, name_format, duplicate, documents, frequency]
    review: {routing: pool, mode: always, dueHours: 72, assignment: round_robin}
    reverificationMonths: 12
    applicationLimit: {count: 3, days: 7}
    """

    /// P4: compared with the student roll; differences go to the class's homeroom teacher.
    static let educationCard = """
    key: education-card
    title: {zh-CN: 教育卡学生身份认证, en: Education card student identity}
    description:
      zh-CN: 学生填写姓名、身份证号、学校、年级、班级、入学年份和监护人信息，系统与学籍库比对。一致即通过；不一致由班主任审核。
      en: Students give name, ID number, school, grade, class, enrolment year and guardian details, compared with the student roll. A match is approved at once; differences go to the homeroom teacher.
    subject: person
    identity:
      documentTypes: [resident, hk_macao_residence, taiwan_residence]
      gender: optional
    sections: [school, guardian]
    documents:
      - {kind: id_front, required: false, minimumShortSide: 500}
    registry:
      source: roster
      match: [name, document_number, school, grade, class]
    checks: [document_rules, name_format, age, consistency, duplicate, documents, frequency, registry]
    review: {routing: class_teacher, mode: on_doubt, dueHours: 72}
    applicationLimit: {count: 5, days: 1}
    guardianConsentUnderAge: 14
    """

    /// P5: checked against a third-party identity service; mismatches are explained.
    static let eCommerce = """
    key: e-commerce
    title: {zh-CN: 电商用户身份确认, en: Shop customer identity}
    description:
      zh-CN: 首次登录时填写姓名、身份证号和地址并上传身份证照片，系统向第三方核验服务比对。不一致会告诉您需要改什么，也可以申请人工审核。
      en: On first sign-in give your name, ID number and address with a photo of your ID card; it is checked with an identity service. If something differs you are told what to fix, or you can ask for a person to review.
    subject: person
    identity:
      documentTypes: [resident]
      gender: optional
    sections: [address]
    documents:
      - {kind: id_front, required: true, minimumShortSide: 600}
    registry:
      source: service
      match: [name, document_number]
    checks: [document_rules, name_format, age, consistency, duplicate, documents, frequency, registry]
    review: {routing: pool, mode: on_doubt, dueHours: 24}
    applicationLimit: {count: 5, days: 1}
    """
}
