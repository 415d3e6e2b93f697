"""Browser tests: a real `shiming serve` on SQLite, driven by Debian's Chromium."""
import os
import stat
import subprocess
import unittest

from harness import Server, make_browser, screenshot, shiming_bin, wait_for_heading


class HomePageInBrowser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.browser = make_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.server.stop()

    def test_home_in_chinese_then_english(self):
        from selenium.webdriver.common.by import By

        b = self.browser
        b.delete_all_cookies()
        b.get(self.server.base + "/")
        self.assertEqual(b.find_element(By.TAG_NAME, "html").get_attribute("lang"), "zh-CN")
        self.assertIn("实名认证", b.find_element(By.TAG_NAME, "h1").text)
        self.assertTrue(b.find_element(By.LINK_TEXT, "登录").get_attribute("href").endswith("/signin"))
        print("screenshot:", screenshot(b, "home-zh-CN.png"))

        b.find_element(By.LINK_TEXT, "English").click()
        wait_for_heading(b, "Real-name verification")
        self.assertEqual(b.find_element(By.TAG_NAME, "html").get_attribute("lang"), "en")
        self.assertEqual(b.find_element(By.TAG_NAME, "h1").text, "Real-name verification, done once and done right")
        self.assertTrue(b.find_element(By.LINK_TEXT, "Sign in").is_displayed())
        print("screenshot:", screenshot(b, "home-en.png"))

        # The choice is remembered on the next visit, and can be switched back.
        b.get(self.server.base + "/")
        self.assertEqual(b.find_element(By.TAG_NAME, "html").get_attribute("lang"), "en")
        b.find_element(By.LINK_TEXT, "中文").click()
        wait_for_heading(b, "实名认证")
        self.assertEqual(b.find_element(By.TAG_NAME, "html").get_attribute("lang"), "zh-CN")

    def test_phone_layout_has_large_type_and_no_sideways_scrolling(self):
        from selenium.webdriver.common.by import By

        b = self.browser
        b.get(self.server.base + "/")
        scroll_width = b.execute_script("return document.documentElement.scrollWidth")
        inner_width = b.execute_script("return window.innerWidth")
        self.assertLessEqual(scroll_width, inner_width, "the page must fit a 390px phone screen")
        font_size = b.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")
        self.assertGreaterEqual(font_size, 17, "body text is large enough for elderly users")
        button = b.find_element(By.CSS_SELECTOR, ".actions .button")
        self.assertGreaterEqual(button.size["height"], 48, "touch targets are at least 48px high")


class ServeCommand(unittest.TestCase):
    def test_first_start_creates_data_dir_key_and_sink_and_says_so(self):
        server = Server().start()
        try:
            for path in ("/healthz", "/openapi.json", "/metrics"):
                status, _, _ = server.get(path)
                self.assertEqual(status, 200, path)
            status, document = server.get_json("/openapi.json")
            self.assertEqual(document["openapi"], "3.1.0")
            try:
                from openapi_spec_validator import validate
            except ImportError:
                validate = None
            if validate:
                validate(document)
            _, _, metrics = server.get("/metrics")
            self.assertIn(b"http_requests_total", metrics)
        finally:
            server.stop()
        log = server.log()
        self.assertIn(f"http://127.0.0.1:{server.port}/", log)
        self.assertIn(server.data_dir, log)
        self.assertIn("file:" + os.path.join(server.data_dir, "messages.jsonl"), log)
        self.assertIn("Generated a new encryption key", log)
        key = os.path.join(server.data_dir, "encryption.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertTrue(os.path.exists(os.path.join(server.data_dir, "shiming.sqlite")))

        # A restart on the same data keeps the key and runs no migration again.
        again = Server(data_dir=server.data_dir).start()
        again.stop()
        self.assertNotIn("Generated a new encryption key", again.log())
        out = subprocess.run([shiming_bin(), "migrate"], env=again.env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("0 applied now", out.stdout)

    def test_an_invalid_program_file_stops_the_start_naming_file_line_and_field(self):
        server = Server()
        programs = os.path.join(server.data_dir, "programs")
        os.makedirs(programs)
        with open(os.path.join(programs, "night-school.yaml"), "w", encoding="utf-8") as f:
            f.write("key: night-school\ntitle: {zh-CN: 夜校, en: Night school}\nidentity:\n  documentTypes: [resident]\n"
                    "review:\n  dueHours: tomorrow\n")
        out = subprocess.run([shiming_bin(), "serve", "--port", str(server.port)], env=server.env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 78, out.stdout + out.stderr)
        self.assertIn("night-school.yaml:6: review.dueHours: must be a whole number", out.stderr)

        # Fixed, it starts and the program is offered beside the presets.
        with open(os.path.join(programs, "night-school.yaml"), "w", encoding="utf-8") as f:
            f.write("key: night-school\ntitle: {zh-CN: 夜校, en: Night school}\nidentity:\n  documentTypes: [resident]\n"
                    "review:\n  dueHours: 24\n")
        server.start()
        try:
            status, programs_list = server.get_json("/api/v1/programs")
            self.assertEqual(status, 200)
            self.assertIn("night-school", [p["key"] for p in programs_list])
            self.assertEqual(len(programs_list), 7)
        finally:
            server.stop()


@unittest.skipUnless(os.environ.get("SHIMING_BROWSER_PG_URL"), "no PostgreSQL URL given (scripts/test provides one)")
class ServeOnPostgreSQL(unittest.TestCase):
    KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    def test_serves_on_postgresql_with_an_explicit_key(self):
        env = {"DATABASE_URL": os.environ["SHIMING_BROWSER_PG_URL"], "SHIMING_ENCRYPTION_KEY": self.KEY}
        server = Server(env=env).start()
        try:
            self.assertEqual(server.get_json("/healthz"), (200, {"status": "ok"}))
            _, _, zh = server.get("/", {"Accept": "text/html"})
            self.assertIn('lang="zh-CN"'.encode(), zh)
            _, _, en = server.get("/", {"Accept": "text/html", "Accept-Language": "en"})
            self.assertIn(b"Real-name verification", en)
            self.assertEqual(server.get("/openapi.json")[0], 200)
            self.assertEqual(server.get("/metrics")[0], 200)
        finally:
            server.stop()
        self.assertIn("PostgreSQL", server.log())
        self.assertNotIn("Generated a new encryption key", server.log())

    def test_refuses_postgresql_without_a_key_and_says_how_to_make_one(self):
        env = dict(os.environ, DATABASE_URL=os.environ["SHIMING_BROWSER_PG_URL"])
        for name in ("SHIMING_ENCRYPTION_KEY", "SHIMING_ENCRYPTION_KEY_FILE"):
            env.pop(name, None)
        out = subprocess.run([shiming_bin(), "serve"], env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("openssl rand -base64 32", out.stderr + out.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
