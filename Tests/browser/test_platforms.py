"""The hosted verification flow in a real browser: a shop (a small HTTP server of the test's own,
with its own webhook endpoint and return page) registers with Shiming, creates a session for a
verified shopper, sends the browser to the session URL; the shopper signs in, reads the consent
screen, agrees, and is back on the shop's return page; the shop receives the signed webhook and
asks the verification query."""
import hashlib
import hmac
import json
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Server, make_browser, png, screenshot, wait_for_element, wait_for_heading
from test_cases import resident_id

PASSWORD = "Shiming-2026!"
NUMBER = resident_id("11010519900307122")


class Shop(BaseHTTPRequestHandler):
    """The identity service (knows everyone), the webhook endpoint and the return page."""
    hooks = []

    def answer(self, status, body, kind="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/check":
            self.answer(200, json.dumps({"result": "match"}))
        else:
            Shop.hooks.append((dict(self.headers), body.decode()))
            self.answer(200, "{}")

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        self.answer(200, f"<html><body><h1 id=shop>商城：{query.get('status', ['?'])[0]}</h1></body></html>", "text/html; charset=utf-8")

    def log_message(self, *arguments):
        pass


def signature_valid(header, body, secret):
    parts = [part.split("=", 1) for part in header.split(",")]
    t = next(value for key, value in parts if key == "t")
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in parts)


class HostedFlowInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shop = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
        threading.Thread(target=cls.shop.serve_forever, daemon=True).start()
        cls.shop_url = f"http://127.0.0.1:{cls.shop.server_address[1]}"
        cls.server = Server(env={"SHIMING_BCRYPT_COST": "4", "SHIMING_OUTBOX_POLL_SECONDS": "0.2",
                                 "SHIMING_IDENTITY_SERVICE_URL": cls.shop_url + "/check", "SHIMING_WEBHOOK_ALLOW_PRIVATE": "1"})
        # Session URLs are built from the public URL: this server's own address.
        cls.server.env["SHIMING_PUBLIC_URL"] = cls.server.base
        cls.server.start()
        cls.browser = make_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.server.stop()
        cls.shop.shutdown()

    def verified_shopper(self, phone):
        server = self.server
        status, account = server.post_json("/api/v1/accounts", {"phone": phone, "password": PASSWORD, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code(phone)})
        _, session = server.post_json("/api/v1/sessions", {"login": phone, "password": PASSWORD})
        auth = {"Authorization": "Bearer " + session["token"]}
        status, item = server.post_json("/api/v1/cases", {"program": "e-commerce", "identity": {
            "name": "陈志远", "documentType": "resident", "documentNumber": NUMBER, "address": "上海市黄浦区某路 8 号"}}, auth)
        self.assertEqual(status, 201, item)
        status, _ = server.post_multipart(f"/api/v1/cases/{item['id']}/documents", {"kind": "id_front"}, "id.png", png(1200, 800), auth)
        self.assertEqual(status, 201)
        status, item = server.post_json(f"/api/v1/cases/{item['id']}/submit", {}, auth)
        self.assertEqual(item["state"], "verified", item)

    def test_session_url_sign_in_consent_back_at_the_shop(self):
        from selenium.webdriver.common.by import By

        server, b = self.server, self.browser
        server.command("admin", "create", "--username", "admin.shop", "--password-stdin", "--role", "admin", stdin=PASSWORD + "\n")
        _, admin = server.post_json("/api/v1/sessions", {"login": "admin.shop", "password": PASSWORD})
        status, shop = server.post_json("/api/v1/admin/platforms", {
            "name": "优选商城", "purpose": "下单前确认买家已成年", "redirectUris": [self.shop_url + "/return"],
            "webhookUrl": self.shop_url + "/hooks", "programs": ["e-commerce"], "claims": ["ageOver18", "maskedName"]},
            {"Authorization": "Bearer " + admin["token"]})
        self.assertEqual(status, 201, shop)
        key = {"Authorization": "Bearer " + shop["apiKey"]}
        self.verified_shopper("13800138801")
        status, session = server.post_json("/api/v1/verification-sessions", {
            "program": "e-commerce", "reference": "buyer-42", "returnUrl": self.shop_url + "/return"}, key)
        self.assertEqual(status, 201, session)

        b.delete_all_cookies()
        b.get(session["url"])
        wait_for_heading(b, "优选商城")
        self.assertIn("下单前确认买家已成年", b.find_element(By.TAG_NAME, "main").text)
        b.find_element(By.ID, "hosted-signin").click()
        wait_for_heading(b, "登录")
        b.find_element(By.ID, "field-login").send_keys("13800138801")
        b.find_element(By.ID, "field-password").send_keys(PASSWORD)
        b.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

        # Back on the session: the consent screen in plain words.
        wait_for_element(b, "#consent-grant")
        claims = [item.get_attribute("data-claim") for item in b.find_elements(By.CSS_SELECTOR, "#claims li")]
        self.assertEqual(sorted(claims), ["ageOver18", "maskedName", "verified"])
        self.assertIn("证件号码和证件照片不会提供", b.find_element(By.TAG_NAME, "main").text)
        screenshot(b, "hosted-consent-zh-CN.png")
        b.find_element(By.ID, "consent-grant").click()

        # Back at the shop's return page, with the session and its status.
        wait_for_element(b, "#shop")
        returned = urllib.parse.urlparse(b.current_url)
        self.assertEqual(returned.path, "/return")
        self.assertEqual(urllib.parse.parse_qs(returned.query), {"session": [session["id"]], "status": ["verified"]})
        self.assertIn("verified", b.find_element(By.ID, "shop").text)

        # The shop's side: the signed webhook, the session, the query with exactly the granted claims.
        import time
        deadline = time.time() + 10
        while not Shop.hooks and time.time() < deadline:
            time.sleep(0.1)
        headers, body = Shop.hooks[-1]
        self.assertEqual(headers.get("X-Shiming-Event"), "verification_session.completed")
        self.assertTrue(signature_valid(headers["X-Shiming-Signature"], body, shop["webhookSecret"]))
        status, read = server.get_json(f"/api/v1/verification-sessions/{session['id']}", key)
        self.assertEqual((status, read["status"], read["reference"]), (200, "verified", "buyer-42"))
        status, answer = server.get_json(f"/api/v1/verifications/{read['subject']}", key)
        self.assertEqual(answer["claims"], {"verified": True, "ageOver18": True, "maskedName": "陈*远"})

        # The shopper sees the shop under "authorised platforms".
        b.get(server.base + "/account/platforms")
        wait_for_heading(b, "已授权的平台")
        self.assertIn("优选商城", b.find_element(By.TAG_NAME, "main").text)
        screenshot(b, "authorised-platforms-zh-CN.png")


if __name__ == "__main__":
    unittest.main()
