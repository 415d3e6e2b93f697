"""Every page, as a phone (375 px) shows it, in standard type and in large type (大字版):
an axe-core scan (axe-selenium-python, run offline from the package's own copy of axe) finds
no violations, and in large type every tap target measures at least 48 × 48 px. Screenshots of
the large-type pages go to .build/screenshots/elder-*.png."""
import re
import unittest

from harness import ServeAndBrowse, png, screenshot, wait_for_element
from test_cases import resident_id

PASSWORD = "Shiming-2026!"

# What a person taps: links, buttons, form controls, the "show" handle of <details>.
TAP_TARGETS_JS = """
const seen = [];
for (const e of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
  const r = e.getBoundingClientRect();
  const style = getComputedStyle(e);
  if (r.width === 0 || r.height === 0 || style.visibility === 'hidden' || r.right <= 0 || r.bottom <= 0) continue;
  let tapWidth = r.width, tapHeight = r.height;
  // A checkbox or radio is tapped through its whole label.
  if ((e.type === 'checkbox' || e.type === 'radio') && e.labels && e.labels.length) {
    const l = e.labels[0].getBoundingClientRect();
    tapWidth = Math.max(tapWidth, l.width); tapHeight = Math.max(tapHeight, l.height);
  }
  if (tapWidth < 48 || tapHeight < 48) {
    seen.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "' + (e.textContent || e.name || '').trim().slice(0, 24) + '" '
              + Math.round(tapWidth) + '×' + Math.round(tapHeight));
  }
}
return seen;
"""


class EveryPage(ServeAndBrowse):
    def api_session(self, login):
        status, session = self.server.post_json("/api/v1/sessions", {"login": login, "password": PASSWORD})
        self.assertEqual(status, 201, session)
        return {"Authorization": "Bearer " + session["token"]}

    def test_every_page_passes_axe_and_large_type_has_big_tap_targets(self):
        from axe_selenium_python import Axe

        server = self.server
        for username, role in (("admin.pages", "admin"), ("reviewer.pages", "reviewer")):
            server.command("admin", "create", "--username", username, "--password-stdin", "--role", role, stdin=PASSWORD + "\n")
        status, account = server.post_json("/api/v1/accounts", {"phone": "13800138501", "password": PASSWORD, "acceptTerms": True, "acceptSensitive": True})
        self.assertEqual(status, 201, account)
        server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code("13800138501")})
        auth = self.api_session("13800138501")
        status, pending = server.post_json("/api/v1/cases", {"program": "credit-bank", "identity": {
            "name": "周雨", "documentType": "resident", "documentNumber": resident_id("11010519900101432"), "gender": "female"}}, auth)
        self.assertEqual(status, 201, pending)
        server.post_multipart(f"/api/v1/cases/{pending['id']}/documents", {"kind": "id_front"}, "id.png", png(1200, 800), auth)
        status, submitted = server.post_json(f"/api/v1/cases/{pending['id']}/submit", {}, auth)
        self.assertEqual(submitted["state"], "needs_review", submitted)
        status, draft = server.post_json("/api/v1/cases", {"program": "education-card", "prefill": False}, auth)
        self.assertEqual(status, 201, draft)
        status, senior = server.post_json("/api/v1/cases", {"program": "senior-personal", "prefill": False}, auth)
        self.assertEqual(status, 201, senior)
        pending_id, draft_id, senior_id = pending["id"].lower(), draft["id"].lower(), senior["id"].lower()

        public = ["/", "/programs", "/register", "/register?guardian=1", "/signin", "/signin/code", "/forgot", "/terms", "/privacy",
                  "/sensitive-data", "/no-such-page"]
        applicant = ["/account", "/account/profile", "/account/password", "/account/change-requests", "/account/access-log", "/account/consents", "/account/delete", "/account/platforms", "/cases", f"/cases/{pending_id}",
                     f"/cases/{draft_id}/edit/identity", f"/cases/{draft_id}/edit/details", f"/cases/{draft_id}/edit/review", f"/cases/{senior_id}/edit/documents", "/feedback"]
        staff = ["/staff", "/staff/review", f"/staff/review/cases/{pending_id}", "/staff/alerts", "/staff/feedback", "/staff/figures",
                 "/staff/accounts?login=13800138501", "/staff/change-requests", "/staff/new", "/staff/outbox"]

        b = self.browser
        axe = Axe(b)
        problems = []
        for elder in (False, True):
            for who, pages in ((None, public), ("13800138501", applicant), ("admin.pages", staff)):
                b.delete_all_cookies()
                if who:
                    self.sign_in(who, PASSWORD)
                    wait_for_element(b, "main h1")
                b.get(server.base + "/elder/" + ("on" if elder else "off") + "?next=%2F")
                for path in pages:
                    b.get(server.base + path)
                    wait_for_element(b, "main")
                    self.assertEqual(b.find_element("css selector", "html").get_attribute("class") == "elder", elder, path)
                    axe.inject()
                    for violation in axe.run()["violations"]:
                        targets = [" ".join(node["target"]) for node in violation["nodes"]][:3]
                        problems.append(f"{'elder' if elder else 'standard'} {path}: {violation['id']} ({violation['impact']}) {targets}")
                    if elder:
                        for small in b.execute_script(TAP_TARGETS_JS):
                            problems.append(f"elder {path}: tap target under 48 px: {small}")
                        name = re.sub(r"[^a-z0-9]+", "-", path.strip("/").split("?")[0].lower()) or "home"
                        name = name.replace(pending_id, "case").replace(draft_id, "draft").replace(senior_id, "senior")
                        b.execute_script("window.scrollTo(0, 0)")
                        screenshot(b, f"elder-{name}.png")
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
