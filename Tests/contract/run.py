"""The contract battery: a real `shiming serve` on a fresh SQLite file, an applicant's and a
reviewer's bearer tokens, and schemathesis over every operation of /openapi.json with each
(all checks, deterministic generation, at most EXAMPLES examples per operation). Sign-out,
password change and the deletion request are left out: they would revoke the run's own token
(and the last two only answer a wrong password, which schemathesis cannot know). Exit status 1 on any
failure. Usage: python3 Tests/contract/run.py /path/to/shiming"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "browser"))
from harness import Server  # noqa: E402

EXAMPLES = "10"
PASSWORD = "Shiming-2026!"


def main():
    if len(sys.argv) > 1:
        os.environ["SHIMING_BIN"] = sys.argv[1]
    server = Server(env={"SHIMING_BCRYPT_COST": "4", "SHIMING_OUTBOX_POLL_SECONDS": "0.2"}).start()
    failed = False
    try:
        status, account = server.post_json("/api/v1/accounts", {"phone": "13800138000", "password": PASSWORD, "acceptTerms": True, "acceptSensitive": True})
        assert status == 201, account
        server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code("13800138000")})
        server.command("admin", "create", "--username", "reviewer.contract", "--password-stdin", "--role", "reviewer", stdin=PASSWORD + "\n")
        for login in ["13800138000", "reviewer.contract"]:
            _, session = server.post_json("/api/v1/sessions", {"login": login, "password": PASSWORD})
            print(f"\n--- schemathesis as {login}", flush=True)
            result = subprocess.run([
                sys.executable, "-m", "schemathesis.cli", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run",
                server.base + "/openapi.json", "-H", "Authorization: Bearer " + session["token"], "--checks", "all",
                "-n", EXAMPLES, "--generation-deterministic",
                "--exclude-operation-id", "signOut", "--exclude-operation-id", "changePassword",
                "--exclude-operation-id", "requestDeletion",
            ], text=True, capture_output=True)
            print(result.stdout)
            if result.returncode != 0:
                failed = True
    finally:
        server.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
