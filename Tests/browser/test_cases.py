"""Browser tests of the application pages on a phone-sized screen:
- P2: an applicant applies step by step and is told at each step what to fix (an empty step, a
  mistyped check digit, a photo too small to read); an incomplete submit is sent back to the step
  without counting; a reviewer returns the case twice, it is resubmitted twice without hitting the
  limit, then approved; the history says who did what.
- P4: a student whose details match the imported roll is verified the moment they submit.
- P1 (in English): after the review the student enters the second code on the status page and
  sees their identity code."""
import os
import re
import tempfile
import time
import unittest

from harness import ServeAndBrowse, png, screenshot, wait_for_element, wait_for_element_text, wait_for_heading, wait_for_state, wait_for_text

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def photo_file(width, height):
    """A PNG of this size in a temp file, for a file input."""
    path = os.path.join(tempfile.mkdtemp(prefix="shiming-id-"), "身份证.png")
    with open(path, "wb") as f:
        f.write(png(width, height))
    return path


def upload_document(browser, kind, path):
    """Chooses a photo with a document's camera button; the page uploads it at once (progress bar) and reloads."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    form = browser.find_element(By.CSS_SELECTOR, f"#document-{kind} form[data-auto-upload]")
    browser.find_element(By.ID, f"file-{kind}").send_keys(path)
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(form))
    wait_for_element(browser, "main")


def resident_id(body):
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11) % 11
    return body + ("X" if value == 10 else str(value))


class ApplicationInBrowser(ServeAndBrowse):
    def photo(self, width, height):
        return photo_file(width, height)

    def test_apply_fix_and_get_verified(self):
        from selenium.webdriver.common.by import By

        password = "Shiming-2026!"
        server = self.server
        server.command("admin", "create", "--username", "reviewer.qian", "--password-stdin", "--role", "reviewer", stdin=password + "\n")
        self.applicant("13800138031", password)
        number = resident_id("11010519880512123")

        b = self.browser
        self.sign_in("13800138031", password)
        wait_for_heading(b, "我的账号")
        b.find_element(By.LINK_TEXT, "我的实名认证").click()
        wait_for_heading(b, "我的实名认证")
        b.find_element(By.CSS_SELECTOR, "#start-credit-bank button").click()

        wait_for_heading(b, "学分银行实名认证")
        # An empty step is refused at that step, every field marked.
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_element(b, "#field-identity\\.name-error")
        for field in ["identity.documentType", "identity.documentNumber"]:
            self.assertTrue(b.find_elements(By.ID, f"field-{field}-error"), field)
        # A mistyped check digit is shown at the number, with what was typed kept for correcting.
        mistyped = number[:-1] + ("1" if number[-1] != "1" else "2")
        self.fill({"identity.name": "钱 多多", "identity.documentType": "resident", "identity.documentNumber": mistyped,
                   "identity.gender": "male"})
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        # The empty step's answer already had an error at the number: wait for the new one's words.
        wait_for_element_text(b, "#field-identity\\.documentNumber-error", "校验位")
        screenshot(b, "case-identity-error-zh-CN.png")
        self.fill({"identity.documentNumber": number})
        screenshot(b, "case-identity-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()

        # Documents: a photo too small to read is refused right here, with the size it needs.
        wait_for_element(b, "#document-id_front")
        self.upload("id_front", self.photo(400, 250))
        wait_for_element(b, "#file-id_front-error")
        self.assertIn("600", b.find_element(By.ID, "file-id_front-error").text)
        self.assertNotIn("_csrf", b.current_url)
        self.assertFalse(b.find_elements(By.CSS_SELECTOR, "#document-id_front [data-kind=id_front]"))
        screenshot(b, "case-document-too-small-zh-CN.png")

        # Submitting without the photo is refused and leads back to the documents step; nothing is counted.
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "核对并提交")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
        wait_for_element(b, "#file-id_front-error")
        self.assertIn("不计入提交次数", b.find_element(By.CSS_SELECTOR, ".notice.error").text)

        self.upload("id_front", self.photo(1200, 800))
        wait_for_text(b, "1200×800")
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "信息和材料齐全")
        self.assertIn("钱*", b.find_element(By.CSS_SELECTOR, "[data-field='identity.name']").text)
        typed = b.find_element(By.CSS_SELECTOR, "[data-reveal='identity.documentNumber'] .typed")
        self.assertFalse(typed.is_displayed(), "the full number is hidden until tapped")
        b.find_element(By.CSS_SELECTOR, "[data-reveal='identity.documentNumber'] summary").click()
        self.assertEqual(typed.text, number)
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
        wait_for_state(b, "needs_review")

        # A reviewer returns it twice; each time it is resubmitted, never hitting the limit.
        for _ in range(2):
            self.decide("reviewer.qian", password, "return", ["document_unreadable"], {"document_unreadable": "documents.id_front"})
            b.refresh()
            wait_for_state(b, "returned")
            self.assertTrue(b.find_elements(By.CSS_SELECTOR, "#reasons [data-code=document_unreadable]"))
            b.find_element(By.ID, "edit-case").click()
            wait_for_element(b, "#document-id_front")
            self.assertTrue(b.current_url.endswith("/edit/documents"), "the edit button opens the step the reviewer flagged")
            self.upload("id_front", self.photo(1200, 800))
            wait_for_text(b, "1200×800")
            self.assertEqual(len(b.find_elements(By.CSS_SELECTOR, "#document-id_front [data-kind=id_front]")), 1, "the new photo replaced the old")
            b.find_element(By.LINK_TEXT, "保存，下一步").click()
            wait_for_text(b, "信息和材料齐全")
            b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
            wait_for_state(b, "needs_review")

        self.decide("reviewer.qian", password, "approve")
        b.refresh()
        wait_for_state(b, "verified")
        timeline = [item.get_attribute("data-state") for item in b.find_elements(By.CSS_SELECTOR, ".timeline li")]
        self.assertEqual(timeline[-1], "verified")
        self.assertEqual(timeline.count("returned"), 2)
        history = b.find_element(By.CSS_SELECTOR, ".timeline").text
        self.assertIn("退回修改 · 工作人员", history)
        self.assertIn("等待人工审核 · 系统", history)
        screenshot(b, "case-verified-zh-CN.png")

        # Verify once: the shop's program starts filled from this verification, the ID photo
        # included; only the address is added.
        b.get(server.base + "/cases")
        wait_for_heading(b, "我的实名认证")
        b.find_element(By.CSS_SELECTOR, "#start-e-commerce button").click()
        wait_for_heading(b, "电商用户身份确认")
        self.assertIn("不用重新上传", b.find_element(By.CSS_SELECTOR, ".notice").text)
        self.assertEqual(b.find_element(By.ID, "field-identity.documentNumber").get_attribute("value"), number)
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_element(b, "#field-identity\\.address")
        self.fill({"identity.address": "杭州市西湖区某路 1 号"})
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_element(b, "#document-id_front [data-kind=id_front]")
        screenshot(b, "case-verify-once-documents-zh-CN.png")
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "信息和材料齐全")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
        wait_for_state(b, "needs_review")  # no identity service in this test: a person looks

    def upload(self, kind, path):
        upload_document(self.browser, kind, path)

    def approve(self, reviewer, password):
        """A reviewer approves, through the API, the case whose status page the browser shows."""
        return self.decide(reviewer, password, "approve")

    def decide(self, reviewer, password, outcome, reasons=(), fields=None):
        """A reviewer decides, through the API, the case whose status page the browser shows."""
        server = self.server
        case_id = re.search(r"/cases/([0-9a-f-]{36})", self.browser.current_url).group(1)
        status, session = server.post_json("/api/v1/sessions", {"login": reviewer, "password": password})
        self.assertEqual(status, 201, session)
        auth = {"Authorization": "Bearer " + session["token"]}
        status, tasks = server.get_json("/api/v1/review/tasks", auth)
        self.assertEqual(status, 200, tasks)
        task = next(task for task in tasks if task["caseId"].lower() == case_id)
        body = {"outcome": outcome, "reasons": list(reasons)}
        if fields:
            body["fields"] = fields
        status, decided = server.post_json(f"/api/v1/review/tasks/{task['id']}/decision", body, auth)
        self.assertEqual(status, 200, decided)
        return decided

    def applicant(self, phone, password):
        server = self.server
        status, account = server.post_json("/api/v1/accounts", {"phone": phone, "password": password, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        status, _ = server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm",
                                     {"channel": "sms", "code": server.latest_code(phone)})
        self.assertEqual(status, 200)

    def fill(self, values):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        for name, value in values.items():
            element = self.browser.find_element(By.ID, "field-" + name)
            if element.tag_name == "select":
                Select(element).select_by_value(value)
            else:
                element.clear()
                element.send_keys(value)

    def test_p4_a_student_matching_the_roll_is_verified_at_once(self):
        from selenium.webdriver.common.by import By

        password = "Shiming-2026!"
        number = resident_id("44030520100315241")
        roster = os.path.join(tempfile.mkdtemp(prefix="shiming-roster-"), "roll.csv")
        with open(roster, "w", encoding="utf-8") as f:
            f.write("name,id_number,school,grade,class,enrolment_year\n")
            f.write(f"林小雨,{number},深圳市第一中学,初三,2班,2023\n")
        imported = self.server.command("roster", "import", roster)
        self.assertIn("1", imported.stdout + imported.stderr)
        self.applicant("13800138032", password)

        b = self.browser
        self.sign_in("13800138032", password)
        wait_for_heading(b, "我的账号")
        b.get(self.server.base + "/cases")
        b.find_element(By.CSS_SELECTOR, "#start-education-card button").click()
        wait_for_heading(b, "教育卡学生身份认证")
        self.fill({"identity.name": "林小雨", "identity.documentType": "resident", "identity.documentNumber": number})
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_element(b, "#field-school\\.school")
        # Full-width digits and spaces as a phone keyboard may give them are normalised.
        self.fill({"school.school": "深圳市第一中学", "school.grade": "初三", "school.class": "2班", "school.enrolmentYear": "2023",
                   "guardian.name": "林大山", "guardian.phone": "13800138033", "guardian.relation": "father"})
        screenshot(b, "case-p4-details-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_text(b, "身份证人像面")
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "核对并提交")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()

        wait_for_state(b, "verified")
        registry = b.find_element(By.CSS_SELECTOR, ".checks [data-check=registry]")
        self.assertIn("passed", registry.get_attribute("class"))
        self.assertNotIn(number, b.page_source, "the number is masked")
        screenshot(b, "case-p4-verified-zh-CN.png")

    def test_p1_in_english_second_code_then_identity_code(self):
        from selenium.webdriver.common.by import By

        password = "Shiming-2026!"
        server = self.server
        server.command("admin", "create", "--username", "reviewer.sun", "--password-stdin", "--role", "reviewer", stdin=password + "\n")
        self.applicant("13800138034", password)
        number = resident_id("32010620050809002")

        b = self.browser
        self.sign_in("13800138034", password)
        wait_for_heading(b, "我的账号")
        b.find_element(By.LINK_TEXT, "English").click()
        wait_for_heading(b, "My account")
        b.get(server.base + "/cases")
        b.find_element(By.CSS_SELECTOR, "#start-online-education button").click()
        wait_for_heading(b, "Online school student identity")
        self.fill({"identity.name": "孙悦", "identity.documentType": "resident", "identity.documentNumber": number})
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        for kind in ("id_front", "id_back"):
            wait_for_element(b, f"#document-{kind}")
            self.upload(kind, self.photo(1200, 800))
            wait_for_element(b, f"#document-{kind} [data-kind={kind}]")
        b.find_element(By.LINK_TEXT, "Save and continue").click()
        wait_for_text(b, "Check and submit")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
        wait_for_state(b, "needs_review")

        decided = self.approve("reviewer.sun", password)
        self.assertEqual(decided["state"], "awaiting_confirmation")

        deadline = time.time() + 10
        while not any(m.get("template") == "case_confirmation" for m in server.messages()) and time.time() < deadline:
            time.sleep(0.2)
        code = server.latest_code("13800138034")
        b.refresh()
        wait_for_element(b, "#confirmation")
        self.assertIn("Enter it before: ", b.find_element(By.ID, "confirmation").text)
        screenshot(b, "case-p1-confirmation-en.png")
        b.find_element(By.CSS_SELECTOR, "#confirmation input[name=code]").send_keys(code)
        b.find_element(By.CSS_SELECTOR, "#confirmation form[action$='/confirm'] button").click()
        wait_for_state(b, "verified")
        self.assertIn("verification is complete", b.find_element(By.CSS_SELECTOR, "main .notice").text)
        identity_code = b.find_element(By.ID, "identity-code").text
        self.assertRegex(identity_code, r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
        self.assertTrue(b.find_element(By.CSS_SELECTOR, "#renew button").is_displayed())
        screenshot(b, "case-p1-verified-en.png")


if __name__ == "__main__":
    unittest.main()
