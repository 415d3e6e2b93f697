"""Starts a real `shiming serve` and a real Chromium for the browser tests.

Environment:
  SHIMING_BIN                path to the built `shiming` executable (scripts/test sets it)
  SHIMING_SCREENSHOT_DIR     where screenshots go (default .build/screenshots)
  SHIMING_BROWSER_PG_URL     optional PostgreSQL URL for the PostgreSQL smoke tests
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCREENSHOT_DIR = os.environ.get("SHIMING_SCREENSHOT_DIR", os.path.join(ROOT, ".build", "screenshots"))


def shiming_bin():
    path = os.environ.get("SHIMING_BIN")
    if not path:
        path = subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip() + "/shiming"
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"shiming executable not found at {path}; run `swift build` first")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One `shiming serve` process on a free port with its own data directory."""

    def __init__(self, data_dir=None, env=None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="shiming-browser-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        for name in ("DATABASE_URL", "SHIMING_ENCRYPTION_KEY", "SHIMING_ENCRYPTION_KEY_FILE", "SHIMING_MESSAGE_SINK"):
            self.env.pop(name, None)
        self.env.update({"SHIMING_DATA_DIR": self.data_dir, "SHIMING_LOG_LEVEL": "notice"})
        self.env.update(env or {})
        self.process = None
        self.output_path = os.path.join(tempfile.mkdtemp(prefix="shiming-log-"), "serve.log")

    def start(self, timeout=90):
        self.output = open(self.output_path, "w")
        self.process = subprocess.Popen(
            [shiming_bin(), "serve", "--hostname", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=self.output, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"shiming serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                status, _, _ = self.get("/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"shiming serve did not become healthy in {timeout}s:\n{self.log()}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "output", None):
            self.output.close()

    def log(self):
        with open(self.output_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def get(self, path, headers=None):
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def get_json(self, path, headers=None):
        status, _, body = self.get(path, headers)
        return status, json.loads(body)

    def post_json(self, path, body, headers=None):
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def post_multipart(self, path, fields, filename, content, headers=None):
        """Posts a multipart form with one file (`file`) and text fields, as an upload form would."""
        boundary = "shiming-test-boundary"
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        request = urllib.request.Request(self.base + path, data=b"".join(parts), method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def command(self, *arguments, stdin=None):
        """Runs `shiming <arguments>` against this server's data directory."""
        return subprocess.run([shiming_bin(), *arguments], env=self.env, input=stdin, text=True, capture_output=True, check=True)

    def messages(self):
        """The messages the server has written to its file sink. A line without its newline is
        still being written (a read beside the server's one write may see its first page alone),
        and is left for the next read."""
        path = os.path.join(self.data_dir, "messages.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as sink:
            return [json.loads(line) for line in sink if line.endswith("\n") and line.strip()]

    def latest_code(self, destination, timeout=10):
        """The newest one-time code sent to a destination, from the file sink."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            codes = [m["code"] for m in self.messages() if m.get("to") == destination and m.get("code")]
            if codes:
                return codes[-1]
            time.sleep(0.2)
        raise AssertionError(f"no code for {destination} in the message sink")


class ServeAndBrowse(unittest.TestCase):
    """A test case with one real `shiming serve` (fast bcrypt, quick outbox) and one browser."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server(env={"SHIMING_BCRYPT_COST": "4", "SHIMING_OUTBOX_POLL_SECONDS": "0.2"}).start()
        cls.browser = make_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.server.stop()

    def sign_in(self, login, password):
        """Signs in on the real /signin page, starting from a clean browser, and waits until the
        browser has left /signin (a successful sign-in)."""
        from selenium.webdriver.common.by import By

        b = self.browser
        b.delete_all_cookies()
        b.get(self.server.base + "/signin")
        b.find_element(By.ID, "field-login").send_keys(login)
        b.find_element(By.ID, "field-password").send_keys(password)
        b.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        # The click returns before the answer arrives; a navigation started now would race the
        # sign-in (the session cookie may come after it). Wait until the browser has left /signin.
        from urllib.parse import urlparse
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(b, 10).until(lambda driver: urlparse(driver.current_url).path != "/signin",
                                   f"signing in as {login!r} never left /signin")


def png(width, height, shade=0xC0):
    """A real greyscale PNG of the given size."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make_browser(width=375, height=812):
    """Headless Debian Chromium through chromedriver; phone-sized by default."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--lang=zh-CN"):
        options.add_argument(argument)
    # A Chinese-speaking visitor: the browser asks for zh-CN first.
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def screenshot(browser, name):
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    path = os.path.join(SCREENSHOT_DIR, name)
    browser.save_screenshot(path)
    return path


def wait_for_heading(browser, text, timeout=10):
    """Waits until the page's h1 contains `text` (after a click that navigates)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(driver):
        # While the page navigates, the h1 found a moment ago may belong to a document that
        # is gone: Chromium then answers with stale-element or "node does not belong to the
        # document" errors. Both mean "not yet".
        try:
            return text in driver.find_element(By.TAG_NAME, "h1").text
        except WebDriverException:
            return False

    from selenium.common.exceptions import TimeoutException

    try:
        WebDriverWait(browser, timeout).until(found, f"no heading containing {text!r}")
    except TimeoutException as error:
        raise AssertionError(f"no heading containing {text!r} at {browser.current_url}; the page says: "
                             + " | ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, "h1, .notice"))) from error


def wait_for_text(browser, text, timeout=10):
    """Waits until the page contains `text`."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def found(driver):
        try:
            return text in driver.page_source
        except WebDriverException:  # the document is being replaced
            return False

    WebDriverWait(browser, timeout).until(found, f"page never showed {text!r}")


def wait_for_download(directory, suffix, timeout=10):
    """Waits until Chromium has finished the one download in `directory` and returns its path.

    Chromium reserves the final name with an empty file while it still writes to a
    `.crdownload` beside it, so a name ending in `suffix` alone does not mean the file is
    complete: wait until no partial file is left and the named file has stopped growing."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        names = os.listdir(directory)
        done = [name for name in names if name.endswith(suffix)]
        partial = [name for name in names if name.endswith(".crdownload")]
        if len(done) == 1 and not partial:
            path = os.path.join(directory, done[0])
            size = os.path.getsize(path)
            if size > 0 and size == last:
                return path
            last = size
        time.sleep(0.1)
    raise AssertionError(f"no finished {suffix} download in {directory}: {os.listdir(directory)}")


def wait_for_element(browser, css, timeout=10):
    """Waits for an element to appear (after a click that navigates) and returns it."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from selenium.common.exceptions import TimeoutException

    try:
        return WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))
    except TimeoutException:
        raise AssertionError(f"no {css!r} on {browser.current_url}; the page says:\n{page_text(browser)}") from None


def wait_for_element_text(browser, css, text, timeout=10):
    """Waits until an element shows `text` and returns it. Use it where the page before a click
    already had an element of that name (a field error shown on the previous answer): waiting
    for the element alone can find the old page's, which is gone a moment later."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(driver):
        try:
            element = driver.find_element(By.CSS_SELECTOR, css)
            return element if text in element.text else False
        except WebDriverException:  # not drawn yet, or the document is being replaced
            return False

    try:
        return WebDriverWait(browser, timeout).until(found)
    except TimeoutException:
        raise AssertionError(f"no {css!r} showing {text!r} on {browser.current_url}; the page says:\n{page_text(browser)}") from None


def wait_for_state(browser, state, timeout=10):
    """Waits until the case status page shows the given state (`#case-state[data-state]`)."""
    return wait_for_element(browser, f"#case-state[data-state={state}]", timeout)


def page_text(browser):
    """The visible text of the page's main part (for failure messages)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return browser.find_element(By.TAG_NAME, "main").text
    except WebDriverException:
        return "(no main element)"
