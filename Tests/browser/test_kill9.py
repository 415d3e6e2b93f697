"""kill -9 under load: a real `shiming serve` (SQLite WAL, synchronous=FULL) takes writes from 16
clients at once and is killed with SIGKILL five times in the middle of it, then restarted on the
same data. Every write that was acknowledged (201) must be there afterwards, and
`shiming audit verify` must pass (the chain, the checkpoint written at the last clean stop, the
guards). Bounded by count: 5 kills, 16 clients, at most 100 writes each. Each client writes as an
account of its own in each round, and reads back what it wrote through its own feedback list,
which shows an account's newest 100: with one account for all rounds, the oldest writes fell out
of that list once the server wrote fast enough, and looked lost."""
import json
import os
import signal
import threading
import time
import unittest
import urllib.request

from harness import Server

PASSWORD = "Shiming-2026!"
CLIENTS = 16
KILLS = 5
WRITES = 100  # per client and round: what an account's feedback list shows


def post(base, path, body, token):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


class KillUnderLoad(unittest.TestCase):
    def test_acknowledged_writes_survive_five_kills(self):
        server = Server(env={"SHIMING_BCRYPT_COST": "4", "SHIMING_OUTBOX_POLL_SECONDS": "0.2"}).start()
        data_dir = server.data_dir
        tokens = {}  # (round, client) → the bearer token of that client's account in that round
        try:
            for round_number in range(KILLS):
                for i in range(CLIENTS):
                    phone = f"13900{round_number}{i:05d}"
                    status, account = server.post_json("/api/v1/accounts", {"phone": phone, "password": PASSWORD, "acceptTerms": True,
                                                                            "acceptSensitive": True})
                    self.assertEqual(status, 201, account)
                    server.post_json(f"/api/v1/accounts/{account['id']}/contacts/confirm", {"channel": "sms", "code": server.latest_code(phone)})
                    _, session = server.post_json("/api/v1/sessions", {"login": phone, "password": PASSWORD})
                    tokens[(round_number, i)] = session["token"]
        except Exception:
            server.stop()
            raise

        acknowledged = {key: [] for key in tokens}
        for round_number in range(KILLS):
            stop = threading.Event()

            def client(i, base=server.base):
                key = (round_number, i)
                n = 0
                while not stop.is_set() and n < WRITES:
                    text = f"round {round_number} client {i} write {n}"
                    n += 1
                    try:
                        status, _ = post(base, "/api/v1/feedback", {"text": text}, tokens[key])
                    except Exception:
                        continue  # the server died under us: not acknowledged
                    if status == 201:
                        acknowledged[key].append(text)

            threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)
            os.kill(server.process.pid, signal.SIGKILL)  # no shutdown, no flush
            server.process.wait()
            server.output.close()
            stop.set()
            for thread in threads:
                thread.join()
            server = Server(data_dir=data_dir, env={"SHIMING_BCRYPT_COST": "4", "SHIMING_OUTBOX_POLL_SECONDS": "0.2"}).start()

        try:
            total = 0
            for key, token in tokens.items():
                status, _, body = server.get("/api/v1/feedback", {"Authorization": "Bearer " + token})
                self.assertEqual(status, 200)
                stored = {item["text"] for item in json.loads(body)}
                missing = [text for text in acknowledged[key] if text not in stored]
                self.assertEqual(missing, [], f"round {key[0]} client {key[1]} lost acknowledged writes")
                total += len(acknowledged[key])
            self.assertGreater(total, CLIENTS * KILLS, "the load should have written something in every round")
            server.stop()  # a clean stop writes the audit checkpoint
            verified = server.command("audit", "verify")
            self.assertIn("Audit chain intact", verified.stdout)
            self.assertIn("Agrees with the checkpoint", verified.stdout, "serve writes a checkpoint when it stops")
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
