"""Browser test: an applicant applies for the credit-bank verification step by step on a phone-sized
screen, is told exactly what to fix (a photo too small to read), re-uploads, submits again; a
reviewer approves; the status page shows the applicant verified."""
import os
import tempfile
import unittest

from harness import ServeAndBrowse, png, screenshot, wait_for_element, wait_for_heading, wait_for_text

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(body):
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11) % 11
    return body + ("X" if value == 10 else str(value))


class ApplicationInBrowser(ServeAndBrowse):
    def photo(self, width, height):
        path = os.path.join(tempfile.mkdtemp(prefix="shiming-id-"), "身份证.png")
        with open(path, "wb") as f:
            f.write(png(width, height))
        return path

    def test_apply_fix_and_get_verified(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        password = "Shiming-2026!"
        server = self.server
        server.command("admin", "create", "--username", "reviewer.qian", "--password-stdin", "--role", "reviewer", stdin=password + "\n")
        status, account = server.post_json("/api/v1/accounts", {"phone": "13800138031", "password": password, "acceptTerms": True})
        self.assertEqual(status, 201, account)
        status, _ = server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm",
                                     {"channel": "sms", "code": server.latest_code("13800138031")})
        self.assertEqual(status, 200)
        number = resident_id("11010519880512123")

        b = self.browser
        self.sign_in("13800138031", password)
        wait_for_heading(b, "我的账号")
        b.find_element(By.LINK_TEXT, "我的实名认证").click()
        wait_for_heading(b, "我的实名认证")
        b.find_element(By.CSS_SELECTOR, "#start-credit-bank button").click()

        wait_for_heading(b, "学分银行实名认证")
        b.find_element(By.ID, "field-identity.name").send_keys("钱 多多")
        Select(b.find_element(By.ID, "field-identity.documentType")).select_by_value("resident")
        b.find_element(By.ID, "field-identity.documentNumber").send_keys(number)
        Select(b.find_element(By.ID, "field-identity.gender")).select_by_value("male")
        screenshot(b, "case-identity-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()

        # Documents: a photo too small to read is accepted here and explained on submit.
        wait_for_element(b, "#document-id_front")
        b.find_element(By.ID, "file-id_front").send_keys(self.photo(400, 300))
        b.find_element(By.CSS_SELECTOR, "#document-id_front form[enctype] button").click()
        wait_for_element(b, "#document-id_front [data-kind=id_front]")
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "核对并提交")
        self.assertIn("钱*", b.find_element(By.CSS_SELECTOR, "[data-field='identity.name']").text)
        self.assertNotIn(number, b.page_source, "the number is masked")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()

        state = wait_for_element(b, "#case-state")
        self.assertEqual(state.get_attribute("data-state"), "returned")
        reason = b.find_element(By.CSS_SELECTOR, "#reasons [data-code=document_illegible]").text
        self.assertIn("600", reason)
        screenshot(b, "case-returned-zh-CN.png")

        b.find_element(By.ID, "edit-case").click()
        wait_for_heading(b, "学分银行实名认证")
        b.find_element(By.PARTIAL_LINK_TEXT, "上传材料").click()
        wait_for_element(b, "#document-id_front")
        b.find_element(By.ID, "file-id_front").send_keys(self.photo(1200, 800))
        b.find_element(By.CSS_SELECTOR, "#document-id_front form[enctype] button").click()
        wait_for_text(b, "1200×800")
        self.assertEqual(len(b.find_elements(By.CSS_SELECTOR, "#document-id_front [data-kind=id_front]")), 1, "the new photo replaced the old")
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "信息和材料齐全")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
        state = wait_for_element(b, "#case-state")
        self.assertEqual(state.get_attribute("data-state"), "needs_review")

        # The reviewer decides through the API (the review pages are the back office's).
        status, session = server.post_json("/api/v1/sessions", {"login": "reviewer.qian", "password": password})
        self.assertEqual(status, 201, session)
        auth = {"Authorization": "Bearer " + session["token"]}
        status, tasks = server.get_json("/api/v1/review/tasks", auth)
        self.assertEqual(status, 200, tasks)
        status, decided = server.post_json(f"/api/v1/review/tasks/{tasks[0]['id']}/decision", {"outcome": "approve"}, auth)
        self.assertEqual(status, 200, decided)

        b.refresh()
        state = wait_for_element(b, "#case-state")
        self.assertEqual(state.get_attribute("data-state"), "verified")
        timeline = [item.get_attribute("data-state") for item in b.find_elements(By.CSS_SELECTOR, ".timeline li")]
        self.assertEqual(timeline[-1], "verified")
        self.assertIn("returned", timeline)
        screenshot(b, "case-verified-zh-CN.png")


if __name__ == "__main__":
    unittest.main()
