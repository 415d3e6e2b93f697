"""Browser test: an applicant asks to change a locked field with a photo as proof; a reviewer
signs in on the same page, sees the photo on the staff desk and approves; the applicant is told."""
import os
import tempfile
import time
import unittest

from harness import ServeAndBrowse, png, screenshot, wait_for_element, wait_for_heading, wait_for_text


class ChangeRequestInBrowser(ServeAndBrowse):
    def test_change_request_with_photo_approved_by_a_reviewer(self):
        from selenium.webdriver.common.by import By

        password = "Shiming-2026!"
        server = self.server
        server.command("admin", "create", "--username", "reviewer.zhao", "--password-stdin", "--role", "reviewer", stdin=password + "\n")
        status, account = server.post_json("/api/v1/accounts", {"phone": "13800138001", "password": password, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        status, _ = server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm",
                                     {"channel": "sms", "code": server.latest_code("13800138001")})
        self.assertEqual(status, 200)

        b = self.browser
        self.sign_in("13800138001", password)
        wait_for_heading(b, "我的账号")
        b.find_element(By.LINK_TEXT, "修改登录名、姓名或性别").click()
        wait_for_heading(b, "修改登录名、姓名或性别")
        from selenium.webdriver.support.ui import Select
        Select(b.find_element(By.ID, "field-field")).select_by_value("legalName")
        b.find_element(By.ID, "field-newValue").send_keys("王小明")
        b.find_element(By.ID, "field-reason").send_keys("身份证上的名字与登记的不同")
        photo = os.path.join(tempfile.mkdtemp(prefix="shiming-proof-"), "身份证.png")
        with open(photo, "wb") as f:
            f.write(png(900, 600))
        b.find_element(By.ID, "field-file").send_keys(photo)
        screenshot(b, "change-request-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "form[enctype] button.primary").click()
        wait_for_text(b, "申请已提交")
        self.assertEqual(b.find_element(By.CSS_SELECTOR, "[data-state]").get_attribute("data-state"), "pending")
        self.assertNotIn("王小明", b.find_element(By.CSS_SELECTOR, "section.card").text, "the new name is shown masked")

        self.sign_in("reviewer.zhao", password)
        wait_for_heading(b, "工作台")
        b.find_element(By.PARTIAL_LINK_TEXT, "信息变更申请").click()
        wait_for_heading(b, "信息变更申请")
        b.find_element(By.LINK_TEXT, "打开").click()
        image = wait_for_element(b, ".proofs img")
        deadline = time.time() + 10
        while time.time() < deadline and not b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image):
            time.sleep(0.1)
        self.assertEqual(b.execute_script("return arguments[0].naturalWidth", image), 900, "the proof photo is shown")
        self.assertIn("王小明", b.find_element(By.CSS_SELECTOR, "[data-new-value]").text)
        screenshot(b, "change-request-review-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
        wait_for_text(b, "已处理")

        deadline = time.time() + 10
        while time.time() < deadline:
            told = [m for m in server.messages() if m.get("template") == "change_request_decided"]
            if told:
                break
            time.sleep(0.2)
        self.assertEqual(told[-1]["to"], "13800138001")
        self.assertIn("已通过", told[-1]["text"])


if __name__ == "__main__":
    unittest.main()
