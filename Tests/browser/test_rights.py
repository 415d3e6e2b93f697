"""Browser test: the person's consents and closing the account, in Chromium. A new version of
the terms is published while the person is signed in: the next page asks them to read and
accept it first. They withdraw the sensitive-data consent, then close the account with their
password; signing in again within the 7 days cancels it."""
import os
import time
import unittest

from harness import ServeAndBrowse, screenshot, wait_for_element, wait_for_heading, wait_for_text


class RightsInBrowser(ServeAndBrowse):
    def test_new_terms_asked_then_withdrawal_and_closing(self):
        from selenium.webdriver.common.by import By

        password = "Shiming-2026!"
        server = self.server
        phone = "13800138901"
        status, account = server.post_json("/api/v1/accounts", {"phone": phone, "password": password, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        status, _ = server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code(phone)})
        self.assertEqual(status, 200)

        b = self.browser
        self.sign_in(phone, password)
        wait_for_heading(b, "我的账号")

        # The deployment publishes a new version of the terms.
        for lang, extra in (("zh-CN", "## 新增条款\n\n认证有效期届满前会提醒您重新核验。"), ("en", "## New clause\n\nYou are reminded before a verification runs out.")):
            path = os.path.join(server.data_dir, "consents", f"terms.{lang}.md")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("version: 2026-01", "version: 2026-12") + "\n" + extra + "\n")
        time.sleep(1.5)  # the texts are looked at again at most once a second

        b.get(server.base + "/cases")
        wait_for_heading(b, "我的同意")
        self.assertIn("/account/consents?next=/cases", b.current_url)
        self.assertIn("认证有效期届满前会提醒您重新核验", wait_for_element(b, "#text-terms").text)
        screenshot(b, "consent-new-version-zh-CN.png")
        b.find_element(By.ID, "field-accept-terms").click()
        b.find_element(By.CSS_SELECTOR, "form[action='/account/consents'] button.primary").click()
        wait_for_heading(b, "我的实名认证")

        # Withdrawing the sensitive-data consent.
        b.get(server.base + "/account/consents")
        wait_for_heading(b, "我的同意")
        self.assertEqual(b.find_element(By.CSS_SELECTOR, "[data-kind=terms] .consent-state").get_attribute("data-state"), "accepted")
        b.find_element(By.CSS_SELECTOR, "form[action='/account/consents/sensitive/withdraw'] button").click()
        wait_for_text(b, "已撤回。")
        self.assertEqual(b.find_element(By.CSS_SELECTOR, "[data-kind=sensitive] .consent-state").get_attribute("data-state"), "withdrawn")
        self.assertGreaterEqual(len(b.find_elements(By.CSS_SELECTOR, ".consent-history li")), 4, "the whole record, the old terms too")

        # Closing the account: a wrong password is refused beside the field, the right one signs out.
        b.get(server.base + "/account")
        b.find_element(By.ID, "delete-account").click()
        wait_for_heading(b, "注销账号")
        b.find_element(By.ID, "field-password").send_keys("wrong-password-1")
        b.find_element(By.CSS_SELECTOR, "button.danger").click()
        wait_for_element(b, "#field-password-error")
        screenshot(b, "delete-account-zh-CN.png")
        b.find_element(By.ID, "field-password").send_keys(password)
        b.find_element(By.CSS_SELECTOR, "button.danger").click()
        wait_for_heading(b, "已申请注销")
        self.assertIn("登录即可取消", b.find_element(By.ID, "deletion-due").text)
        b.get(server.base + "/account")
        self.assertIn("/signin", b.current_url, "signed out")

        # Signing in within the 7 days cancels it, and the person is told.
        self.sign_in(phone, password)
        deadline = time.time() + 10
        while time.time() < deadline and not [m for m in server.messages() if m.get("template") == "deletion_cancelled"]:
            time.sleep(0.2)
        self.assertTrue([m for m in server.messages() if m.get("template") == "deletion_requested"])
        self.assertTrue([m for m in server.messages() if m.get("template") == "deletion_cancelled"])


if __name__ == "__main__":
    unittest.main()
