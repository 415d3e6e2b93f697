"""P3 as an elderly person walks it, on a phone (375 px) in large type (大字版): the switch in
the header, one question per page, a drawn example for each document with the camera button,
both pages of the household register, and a status page that says how long the review takes."""
import unittest

from harness import ServeAndBrowse, screenshot, wait_for_element, wait_for_state, wait_for_text
from test_cases import photo_file, resident_id, upload_document

PASSWORD = "Shiming-2026!"


class ElderWalk(ServeAndBrowse):
    def test_p3_in_large_type_one_question_per_page(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        server = self.server
        status, account = server.post_json("/api/v1/accounts", {"phone": "13800138601", "password": PASSWORD, "acceptTerms": True})
        self.assertEqual(status, 201, account)
        server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code("13800138601")})

        b = self.browser
        self.sign_in("13800138601", PASSWORD)
        wait_for_element(b, "#elder-switch").click()
        wait_for_element(b, "html.elder")
        self.assertEqual(b.find_element(By.ID, "elder-switch").text, "标准版")
        body_size = b.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")
        self.assertGreaterEqual(body_size, 22, "large type: body text at least 22 px")
        screenshot(b, "elder-p3-account.png")

        # Registered without the sensitive-data consent: it is asked, on its own, before the first application.
        b.get(server.base + "/cases")
        wait_for_element(b, "#sensitive-consent")
        self.assertEqual(b.find_elements(By.CSS_SELECTOR, "#start-senior-personal"), [], "no program before the consent")
        screenshot(b, "elder-sensitive-consent.png")
        b.find_element(By.ID, "field-accept-sensitive").click()
        b.find_element(By.CSS_SELECTOR, "#sensitive-consent button[type=submit]").click()
        wait_for_element(b, "#start-senior-personal")
        b.find_element(By.CSS_SELECTOR, "#start-senior-personal button").click()
        number = resident_id("11010219500101262")
        answers = [("identity.name", "赵秀英"), ("identity.documentType", "resident"), ("identity.documentNumber", number),
                   ("identity.gender", "female")]
        for index, (name, value) in enumerate(answers):
            wait_for_text(b, f"第 {index + 1} 项，共 {len(answers)} 项")
            self.assertEqual(len(b.find_elements(By.CSS_SELECTOR, "main form .field")), 1, "one question on the page")
            element = b.find_element(By.ID, "field-" + name)
            if element.tag_name == "select":
                Select(element).select_by_value(value)
            else:
                element.send_keys(value)
            if index == 0:
                screenshot(b, "elder-p3-question.png")
            b.find_element(By.CSS_SELECTOR, "main form button.primary").click()

        wait_for_element(b, "#field-identity\\.address").send_keys("北京市西城区某某街道 1 号")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()

        wait_for_element(b, "#document-household_register figure.example")
        self.assertIn("户主页", b.find_element(By.CSS_SELECTOR, "#document-household_register figcaption").text)
        self.assertEqual(b.find_element(By.ID, "file-id_front").get_attribute("capture"), "environment")
        b.execute_script("arguments[0].scrollIntoView()", b.find_element(By.CSS_SELECTOR, "#document-household_register"))
        screenshot(b, "elder-p3-documents.png")
        for kind in ["id_front", "id_back", "household_register", "household_register"]:
            upload_document(b, kind, photo_file(1200, 800))
        self.assertEqual(len(b.find_elements(By.CSS_SELECTOR, "#document-household_register [data-kind=household_register]")), 2,
                         "both pages of the household register")
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_text(b, "信息和材料齐全")
        b.find_element(By.CSS_SELECTOR, "form[action$='/submit'] button").click()
        wait_for_state(b, "needs_review")
        self.assertIn("审核中", b.find_element(By.CSS_SELECTOR, "#progress [aria-current=step]").text)
        self.assertIn("一般 3 个工作日内处理", b.find_element(By.ID, "expected-time").text)
        b.execute_script("window.scrollTo(0, 0)")
        screenshot(b, "elder-p3-waiting.png")


if __name__ == "__main__":
    unittest.main()
