"""Browser test of the back office on a phone-sized screen: a reviewer signs in, opens the
review queue from the staff desk, claims the waiting application, sees it side by side (masked
data, the ID photo, the automatic checks), reveals the number for a stated purpose and approves;
the applicant's case is verified, and the applicant reads on My account who looked (the
reviewer's role and purpose) and downloads all their data as a ZIP. A supervisor then reads the
reviewer figures with their chart."""
import json
import shutil
import tempfile
import unittest
import zipfile

from harness import ServeAndBrowse, png, screenshot, wait_for_download, wait_for_element, wait_for_heading, wait_for_text
from test_cases import resident_id


class ReviewInBrowser(ServeAndBrowse):
    def pending_case(self, phone, password, number):
        """An applicant with a credit-bank application waiting for review, made through the API."""
        server = self.server
        status, account = server.post_json("/api/v1/accounts", {"phone": phone, "password": password, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        status, _ = server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code(phone)})
        self.assertEqual(status, 200)
        status, session = server.post_json("/api/v1/sessions", {"login": phone, "password": password})
        auth = {"Authorization": "Bearer " + session["token"]}
        status, item = server.post_json("/api/v1/cases", {"program": "credit-bank",
                                                         "identity": {"name": "孙丽", "documentType": "resident", "documentNumber": number}}, auth)
        self.assertEqual(status, 201, item)
        status, stored = server.post_multipart(f"/api/v1/cases/{item['id']}/documents", {"kind": "id_front"}, "id.png", png(1200, 800), auth)
        self.assertEqual(status, 201, stored)
        status, submitted = server.post_json(f"/api/v1/cases/{item['id']}/submit", {}, auth)
        self.assertEqual(status, 200, submitted)
        self.assertEqual(submitted["state"], "needs_review")
        return item["id"].lower(), auth

    def test_reviewer_signs_in_claims_reveals_and_approves(self):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        password = "Shiming-2026!"
        server = self.server
        server.command("admin", "create", "--username", "reviewer.li", "--password-stdin", "--role", "reviewer", stdin=password + "\n")
        server.command("admin", "create", "--username", "supervisor.wang", "--password-stdin", "--role", "supervisor", stdin=password + "\n")
        number = resident_id("11010519900101432")
        case_id, applicant = self.pending_case("13800138401", password, number)

        b = self.browser
        self.sign_in("reviewer.li", password)
        wait_for_heading(b, "工作台")
        b.find_element(By.CSS_SELECTOR, "a[href='/staff/review']").click()
        wait_for_heading(b, "审核任务")
        row = wait_for_element(b, "a[href='/staff/review/cases/%s']" % case_id)
        self.assertIsNotNone(row)
        screenshot(b, "review-queue-zh-CN.png")
        b.find_element(By.CSS_SELECTOR, "form[action$='/claim'] button").click()

        wait_for_heading(b, "审核申请")
        self.assertNotIn(number, b.page_source, "the number is masked")
        image = b.find_element(By.CSS_SELECTOR, "#documents img")
        self.assertGreater(b.execute_script("return arguments[0].naturalWidth", image), 0, "the ID photo is shown")
        self.assertTrue(b.find_elements(By.CSS_SELECTOR, "#checks li.passed"))
        screenshot(b, "review-case-zh-CN.png")

        # Revealing the number needs a purpose; it is then shown once.
        Select(b.find_element(By.ID, "field-field")).select_by_value("identity.documentNumber")
        b.find_element(By.ID, "field-purpose").send_keys("与证件照片核对号码")
        b.find_element(By.CSS_SELECTOR, "#reveal button").click()
        wait_for_element(b, "#revealed")
        self.assertIn(number, b.find_element(By.ID, "revealed").text)

        b.find_element(By.ID, "outcome-approve").click()
        b.find_element(By.CSS_SELECTOR, "#decision button[type=submit]").click()
        wait_for_text(b, "已提交审核决定")
        status, item = server.get_json(f"/api/v1/cases/{case_id}", applicant)
        self.assertEqual(status, 200)
        self.assertEqual(item["state"], "verified")

        # The applicant sees who looked, by role, with the purpose; and downloads all their data.
        self.sign_in("13800138401", password)
        b.get(server.base + "/account")
        b.find_element(By.ID, "access-log").click()
        wait_for_heading(b, "谁查看过我的信息")
        log = b.find_element(By.CSS_SELECTOR, "ul.access-log").text
        self.assertIn("审核员", log)
        self.assertIn("与证件照片核对号码", log)
        self.assertNotIn("reviewer.li", log)
        screenshot(b, "access-log-zh-CN.png")
        downloads = tempfile.mkdtemp(prefix="shiming-downloads-")
        b.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        b.get(server.base + "/account")
        b.find_element(By.ID, "export").click()
        with zipfile.ZipFile(wait_for_download(downloads, ".zip")) as archive:
            data = json.loads(archive.read("data.json"))
            self.assertEqual(data["cases"][0]["application"]["identity"]["documentNumber"], number)
            self.assertIn("index.html", archive.namelist())
        shutil.rmtree(downloads)

        self.sign_in("supervisor.wang", password)
        wait_for_heading(b, "工作台")
        b.find_element(By.CSS_SELECTOR, "a[href='/staff/figures']").click()
        wait_for_heading(b, "审核绩效")
        self.assertIn("reviewer.li", b.find_element(By.CSS_SELECTOR, "table.list").text)
        self.assertTrue(b.find_elements(By.CSS_SELECTOR, "#chart-decided svg rect"))
        screenshot(b, "review-figures-zh-CN.png")


if __name__ == "__main__":
    unittest.main()
