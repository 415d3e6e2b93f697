"""Browser test: registration → code from the message sink → confirmation → sign-in → sign-out."""
import unittest

from harness import ServeAndBrowse, screenshot, wait_for_element, wait_for_heading, wait_for_text


class RegistrationInBrowser(ServeAndBrowse):
    def latest_code(self, destination):
        return self.server.latest_code(destination)

    def test_register_confirm_sign_in_and_out(self):
        from selenium.webdriver.common.by import By

        b = self.browser
        b.delete_all_cookies()
        b.get(self.server.base + "/")
        b.find_element(By.LINK_TEXT, "注册").click()
        wait_for_heading(b, "注册账号")

        # A weak password is refused, with the error next to the field and the input kept.
        b.find_element(By.ID, "field-phone").send_keys("13800138000")
        b.find_element(By.ID, "field-password").send_keys("password")
        b.find_element(By.ID, "field-acceptTerms").click()
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        self.assertIn("密码", wait_for_element(b, "#field-password-error").text)
        self.assertEqual(b.find_element(By.ID, "field-phone").get_attribute("value"), "13800138000")
        screenshot(b, "register-error-zh-CN.png")

        b.find_element(By.ID, "field-password").send_keys("Shiming-2026!")
        if not b.find_element(By.ID, "field-acceptTerms").is_selected():
            b.find_element(By.ID, "field-acceptTerms").click()
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_heading(b, "输入验证码")
        wait_for_text(b, "138****8000")

        b.find_element(By.ID, "field-code").send_keys(self.latest_code("13800138000"))
        screenshot(b, "confirm-code-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "form button.primary").click()
        wait_for_text(b, "确认成功")

        b.find_element(By.ID, "field-login").send_keys("13800138000")
        b.find_element(By.ID, "field-password").send_keys("Shiming-2026!")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_heading(b, "我的账号")
        self.assertEqual(b.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status"), "active")
        session = b.get_cookie("shiming_session")
        self.assertTrue(session and session.get("httpOnly"), "the session cookie is HttpOnly")
        self.assertEqual(session.get("sameSite"), "Lax")
        screenshot(b, "account-zh-CN.png")

        b.find_element(By.CSS_SELECTOR, "form[action='/signout'] button").click()
        wait_for_heading(b, "实名认证，一次办好")  # back on the home page, signed out
        b.get(self.server.base + "/account")
        self.assertIn("/signin", b.current_url)

    def test_guardian_phone_student_signs_in(self):
        """P4: a student registers with the guardian's phone; the username is required, the
        sign-in page says which name to use, and the guardian phone signs the student in."""
        from selenium.webdriver.common.by import By

        b = self.browser
        b.delete_all_cookies()
        b.get(self.server.base + "/register?guardian=1")
        wait_for_heading(b, "学生注册（使用监护人手机号）")
        b.find_element(By.ID, "field-guardianPhone").send_keys("13900139055")
        b.find_element(By.ID, "field-password").send_keys("Shiming-2026!")
        b.find_element(By.ID, "field-acceptTerms").click()
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_element(b, "#field-username-error")
        screenshot(b, "register-guardian-username-required-zh-CN.png")
        b.find_element(By.ID, "field-username").send_keys("xiaoyu")
        b.find_element(By.ID, "field-password").send_keys("Shiming-2026!")
        if not b.find_element(By.ID, "field-acceptTerms").is_selected():
            b.find_element(By.ID, "field-acceptTerms").click()
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_heading(b, "输入验证码")
        b.find_element(By.ID, "field-code").send_keys(self.latest_code("13900139055"))
        b.find_element(By.CSS_SELECTOR, "form button.primary").click()
        wait_for_text(b, "xiaoyu")
        self.assertIn("用户名「xiaoyu」", b.find_element(By.CSS_SELECTOR, ".notice.ok").text)
        self.assertEqual(b.find_element(By.ID, "field-login").get_attribute("value"), "xiaoyu")
        screenshot(b, "signin-after-guardian-registration-zh-CN.png")
        login = b.find_element(By.ID, "field-login")
        login.clear()
        login.send_keys("13900139055")
        b.find_element(By.ID, "field-password").send_keys("Shiming-2026!")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_heading(b, "我的账号")

    def test_wrong_password_shows_an_error_in_english(self):
        from selenium.webdriver.common.by import By

        b = self.browser
        b.delete_all_cookies()
        b.get(self.server.base + "/lang/en?next=%2Fsignin")
        b.find_element(By.ID, "field-login").send_keys("nobody@example.com")
        b.find_element(By.ID, "field-password").send_keys("Wrong-password-1")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        self.assertIn("The account or password is not correct.", wait_for_element(b, ".notice.error").text)

    def register_and_confirm(self, phone, password):
        from selenium.webdriver.common.by import By

        b = self.browser
        b.delete_all_cookies()
        b.get(self.server.base + "/register")
        b.find_element(By.ID, "field-phone").send_keys(phone)
        b.find_element(By.ID, "field-password").send_keys(password)
        b.find_element(By.ID, "field-acceptTerms").click()
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_element(b, "#field-code").send_keys(self.latest_code(phone))
        b.find_element(By.CSS_SELECTOR, "form button.primary").click()
        wait_for_text(b, "确认成功")

    def test_forgot_password_then_change_password_and_profile(self):
        import time
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        b = self.browser
        self.register_and_confirm("13900139000", "Shiming-2026!")
        first_code = self.latest_code("13900139000")
        time.sleep(61)  # the real server's resend cooldown is 60 seconds
        b.find_element(By.LINK_TEXT, "忘记密码？").click()
        b.find_element(By.ID, "field-destination").send_keys("13900139000")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_heading(b, "设置新密码")
        deadline = time.time() + 10
        code = first_code
        while code == first_code and time.time() < deadline:
            time.sleep(0.2)
            code = self.latest_code("13900139000")
        b.find_element(By.ID, "field-code").send_keys(code)
        b.find_element(By.ID, "field-password").send_keys("Reset-pass-2027")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_text(b, "密码已重置")

        b.find_element(By.ID, "field-login").send_keys("13900139000")
        b.find_element(By.ID, "field-password").send_keys("Reset-pass-2027")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_heading(b, "我的账号")

        b.find_element(By.LINK_TEXT, "修改密码").click()
        b.find_element(By.ID, "field-current").send_keys("Wrong-pass-2027")
        b.find_element(By.ID, "field-new").send_keys("Changed-pass-2028")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        self.assertIn("当前密码不正确", wait_for_element(b, "#field-current-error").text)
        b.find_element(By.ID, "field-current").send_keys("Reset-pass-2027")
        b.find_element(By.ID, "field-new").send_keys("Changed-pass-2028")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_text(b, "密码已修改")

        b.get(self.server.base + "/account/profile")
        b.find_element(By.ID, "field-displayName").send_keys("小王")
        Select(b.find_element(By.ID, "field-locale")).select_by_value("en")
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        wait_for_text(b, "资料已保存")
        self.assertEqual(b.find_element(By.ID, "field-displayName").get_attribute("value"), "小王")
        screenshot(b, "profile-zh-CN.png")


if __name__ == "__main__":
    unittest.main(verbosity=2)
