"""P5 in the browser against a real HTTP identity service (a small server of the test's own):
a shopper applies, the service says the name differs, the page says exactly that, the shopper
corrects the name and the application is checked again and verified."""
import json
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, make_browser, screenshot, wait_for_element, wait_for_heading, wait_for_state
from test_cases import photo_file, resident_id, upload_document

PASSWORD = "Shiming-2026!"
NUMBER = resident_id("33010619850712345")


class IdentityService(BaseHTTPRequestHandler):
    """Knows one person: 钱多多 with NUMBER."""
    asked = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        IdentityService.asked.append(body)
        if body.get("idNumber") != NUMBER:
            answer = {"result": "not_found"}
        elif body.get("name") != "钱多多":
            answer = {"result": "mismatch", "differed": ["name"]}
        else:
            answer = {"result": "match"}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *arguments):
        pass


class ShopperInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.service = ThreadingHTTPServer(("127.0.0.1", 0), IdentityService)
        threading.Thread(target=cls.service.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{cls.service.server_address[1]}/check"
        cls.server = Server(env={"SHIMING_BCRYPT_COST": "4", "SHIMING_OUTBOX_POLL_SECONDS": "0.2",
                                 "SHIMING_IDENTITY_SERVICE_URL": url}).start()
        cls.browser = make_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.server.stop()
        cls.service.shutdown()

    def test_p5_mismatch_explained_then_corrected_and_verified(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        server, b = self.server, self.browser
        status, account = server.post_json("/api/v1/accounts", {"phone": "13800138701", "password": PASSWORD, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code("13800138701")})

        # From the programs page, signed out: after signing in the shopper lands at the shop's program.
        b.delete_all_cookies()
        b.get(server.base + "/programs")
        b.find_element(By.CSS_SELECTOR, "a[href*='start-e-commerce']").click()
        wait_for_heading(b, "登录")
        b.find_element(By.ID, "field-login").send_keys("13800138701")
        b.find_element(By.ID, "field-password").send_keys(PASSWORD)
        b.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        wait_for_element(b, "#start-e-commerce button").click()

        wait_for_heading(b, "电商用户身份确认")
        b.find_element(By.ID, "field-identity.name").send_keys("钱多")
        Select(b.find_element(By.ID, "field-identity.documentType")).select_by_value("resident")
        b.find_element(By.ID, "field-identity.documentNumber").send_keys(NUMBER)
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        # The details step left empty is refused there.
        wait_for_element(b, "#field-identity\\.address")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_element(b, "#field-identity\\.address-error")
        b.find_element(By.ID, "field-identity.address").send_keys("杭州市西湖区某路 1 号")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_element(b, "#document-id_front")
        upload_document(b, "id_front", photo_file(1200, 800))
        b.find_element(By.LINK_TEXT, "保存，下一步").click()
        wait_for_element(b, "form[action$='/submit'] button").click()

        # The service says the name differs: the page says which, and that it can be corrected.
        wait_for_state(b, "needs_review")
        reason = b.find_element(By.CSS_SELECTOR, "#reasons [data-code=registry_mismatch]").text
        self.assertIn("姓名", reason)
        self.assertIn("修改", reason)
        screenshot(b, "p5-mismatch-zh-CN.png")

        b.find_element(By.ID, "edit-case").click()
        name = wait_for_element(b, "#field-identity\\.name")
        name.clear()
        name.send_keys("钱多多")
        b.find_element(By.CSS_SELECTOR, "main form button.primary").click()
        wait_for_state(b, "verified")
        self.assertEqual([asked["name"] for asked in IdentityService.asked], ["钱多", "钱多多"])
        history = b.find_element(By.CSS_SELECTOR, ".timeline").text
        self.assertIn("已认证 · 系统", history)
        screenshot(b, "p5-verified-zh-CN.png")


if __name__ == "__main__":
    unittest.main()
