"""What the benchmark scripts share (bench-http, bench-scale): a throwaway PostgreSQL cluster, a
release `shiming serve` started with its environment, a small JSON client, applicants set up
through the public API, and wrk with its output read."""
import concurrent.futures
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "Tests", "browser"))
from harness import png  # noqa: E402  (the one maker of test PNGs)

PASSWORD = "Shiming-2026!"
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def log(message):
    print(f"[{os.path.basename(sys.argv[0])}] {message}", flush=True)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resident_id(rng, years=(1950, 1990)):
    body = f"110105{rng.randint(*years)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    value = (12 - sum(int(c) * w for c, w in zip(body, WEIGHTS)) % 11) % 11
    return body + ("X" if value == 10 else str(value))


# --- HTTP set-up -----------------------------------------------------------------------------

class Client:
    def __init__(self, base):
        self.base = base

    def send(self, method, path, data=None, content_type=None, token=None, ip=None):
        """One request; answers the status and the body's bytes."""
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if content_type:
            request.add_header("Content-Type", content_type)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        if ip:
            request.add_header("X-Forwarded-For", ip)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def call(self, method, path, body=None, token=None, ip=None, data=None, content_type="application/json"):
        """A JSON call; answers the status and the decoded answer."""
        data = json.dumps(body).encode() if body is not None else data
        status, text = self.send(method, path, data, content_type if data is not None else None, token, ip)
        return status, json.loads(text) if text else None

    def page(self, path, token=None, ip=None):
        """GETs a web page as a signed-in browser would (the bearer token stands for the cookie); answers the status."""
        return self.send("GET", path, token=token, ip=ip)[0]

    def upload(self, path, fields, filename, content, token=None, ip=None):
        """A multipart form with one file (`file`) and text fields, as an upload form sends it."""
        boundary = "shiming-bench-boundary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode() for name, value in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     'Content-Type: application/octet-stream\r\n\r\n'.encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.call("POST", path, token=token, ip=ip, data=b"".join(parts), content_type=f"multipart/form-data; boundary={boundary}")


def codes_by_phone(messages_path):
    """The last code delivered to each phone, from the server's message log. The server appends each line in one
    write, but a read beside it may see that write's first page without the rest (Linux makes a buffered write
    visible page by page): a line without its newline is still being written, and is read next time."""
    codes = {}
    try:
        with open(messages_path, encoding="utf-8") as lines:
            for line in lines:
                if not line.endswith("\n"):
                    break
                message = json.loads(line)
                if message.get("code"):
                    codes[message["to"]] = message["code"]
    except FileNotFoundError:
        pass
    return codes


def client_address(i):
    """The client address the `i`-th applicant of a batch comes from (one of their own, for the per-address limits)."""
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def applicants(client, codes_now, count, first_phone):
    """Registers, confirms and signs in `count` applicants, the `i`-th from `client_address(i)`; returns their bearer
    tokens. `codes_now()` answers the codes delivered so far by phone (the message log, an SMS gateway)."""
    phones = [str(first_phone + i) for i in range(count)]

    def register(i):
        status, body = client.call("POST", "/api/v1/accounts", {"phone": phones[i], "password": PASSWORD, "acceptTerms": True,
                                                                "acceptSensitive": True}, ip=client_address(i))
        if status != 201:
            raise SystemExit(f"registration answered {status}: {body}")
        return body["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(register, range(count)))
    deadline = time.time() + 120
    while True:
        codes = codes_now()
        if all(phone in codes for phone in phones):
            break
        if time.time() > deadline:
            raise SystemExit("the confirmation codes did not arrive in the message log")
        time.sleep(0.5)

    def confirm_and_sign_in(i):
        status, body = client.call("POST", f"/api/v1/accounts/{ids[i]}/contacts/confirm", {"channel": "sms", "code": codes[phones[i]]}, ip=client_address(i))
        if status != 200:
            raise SystemExit(f"confirmation answered {status}: {body}")
        status, body = client.call("POST", "/api/v1/sessions", {"login": phones[i], "password": PASSWORD}, ip=client_address(i))
        if status != 201:
            raise SystemExit(f"sign-in answered {status}: {body}")
        return body["token"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(confirm_and_sign_in, range(count)))


# --- the outside world and the people's flows -----------------------------------------------

class Outside(BaseHTTPRequestHandler):
    """The SMS gateway, the identity service and the platform's webhook endpoint in one server."""
    lock = threading.Lock()
    sms = []        # the JSON bodies the gateway received
    hooks = []      # (delivery id, event, signature header, body)

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if self.path == "/check":
            return self.answer({"result": "match"})
        with Outside.lock:
            if self.path == "/sms":
                Outside.sms.append(json.loads(body))
            else:
                Outside.hooks.append((self.headers.get("X-Shiming-Delivery"), self.headers.get("X-Shiming-Event"),
                                      self.headers.get("X-Shiming-Signature", ""), body))
        self.answer({"ok": True})

    def log_message(self, *arguments):
        pass

    @classmethod
    def codes(cls):
        with cls.lock:
            return {message["to"]: message["code"] for message in cls.sms if message.get("code")}


def signature_valid(header, body, secret):
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    t = next((value for key, value in parts if key == "t"), "")
    expected = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in parts)


PHOTO = png(1200, 800)


def submit_verified(client, token, number, ip):
    """An e-commerce application with an ID photo, submitted: the identity service says match."""
    status, item = client.call("POST", "/api/v1/cases", {"program": "e-commerce", "identity": {
        "name": "陈志远", "documentType": "resident", "documentNumber": number, "address": "上海市黄浦区某路 8 号"}}, token=token, ip=ip)
    assert status == 201, (status, item)
    status, stored = client.upload(f"/api/v1/cases/{item['id']}/documents", {"kind": "id_front"}, "id.png", PHOTO, token=token, ip=ip)
    assert status == 201, (status, stored)
    status, item = client.call("POST", f"/api/v1/cases/{item['id']}/submit", {}, token=token, ip=ip)
    assert status == 200 and item["state"] == "verified", (status, item)
    return item["id"].lower()


def consent(client, token, platform_key, platform_id, reference, return_url, ip):
    """A platform's verification session for a verified person: the person opens its page (signed
    in, which binds it to them) and consents; answers the session as the platform reads it, with
    the pairwise subject."""
    status, session = client.call("POST", "/api/v1/verification-sessions", {
        "program": "e-commerce", "reference": reference, "returnUrl": return_url}, token=platform_key, ip=ip)
    assert status == 201, session
    status = client.page(urllib.parse.urlparse(session["url"]).path, token=token, ip=ip)
    assert status == 200, status
    status, grant = client.call("POST", "/api/v1/me/grants", {"platform": platform_id, "claims": ["verified", "ageOver18"],
                                                               "session": session["id"]}, token=token, ip=ip)
    assert status == 201, (status, grant)
    status, read = client.call("GET", f"/api/v1/verification-sessions/{session['id']}", token=platform_key, ip=ip)
    assert status == 200 and read["status"] == "verified", (status, read)
    return read


# --- wrk -------------------------------------------------------------------------------------

def query_script(path, keys, subjects=None):
    """A wrk script sending the URL's query with each of `keys` in turn; with `subjects`, about each of them in turn
    (each with every key) instead of the URL's one."""
    with open(path, "w") as out:
        out.write("local keys = {" + ", ".join('"Bearer ' + key + '"' for key in keys) + "}\n")
        out.write("local subjects = {" + ", ".join('"/api/v1/verifications/' + subject + '"' for subject in subjects or []) + "}\n")
        # Every request is formatted once, in `init` (after wrk has set the Host header), and sent in turn, so that
        # wrk's Lua spends no more on a request than its static route does on one without a script.
        out.write("""local requests = {}
local sent = 0
function init(args)
  local paths = subjects
  if #paths == 0 then paths = {wrk.path} end
  for _, path in ipairs(paths) do
    for _, key in ipairs(keys) do table.insert(requests, wrk.format("GET", path, {["Authorization"] = key})) end
  end
end
request = function()
  sent = sent + 1
  return requests[sent % #requests + 1]
end
""")


def metrics(client):
    """The server's `/metrics` text."""
    status, body = client.send("GET", "/metrics")
    if status != 200:
        raise SystemExit(f"GET /metrics answered {status}")
    return body.decode()


def write_counts(client):
    """The server's write counts since it started, from `/metrics` (transactions, the groups they
    were committed in, the verification queries' write batches)."""
    text = metrics(client)
    counts = {}
    for name in ("write_transactions", "write_groups", "verification_query_batches", "verification_query_batches_in_one_statement",
                 "verification_query_batches_not_as_expected"):
        match = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.MULTILINE)
        counts[name] = int(float(match.group(1))) if match else 0
    return counts


def processor_ticks():
    """The machine's processor time so far, in clock ticks summed over its processors: (busy, all); None without
    /proc/stat. Waiting for the disk counts as idle."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    except (OSError, ValueError):
        return None
    return sum(fields) - fields[3] - fields[4], sum(fields)


def wrk(url, seconds, connections, threads=2, headers=(), script=None):
    """wrk's rate, latencies, non-2xx answers and requests; with the machine's processors over the run (`busy`: the
    share of their time not idle; `cpu_us`: that time per request, of every process, wrk and the database included)."""
    command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    ticks = processor_ticks()
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    after = processor_ticks()
    log(" ".join(line.strip() for line in output.splitlines() if "Requests/sec" in line or "99%" in line or "Non-2xx" in line))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latencies = {m.group(1): m.group(2) for m in re.finditer(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    total = int(re.search(r"(\d+) requests in", output).group(1))
    busy = cpu_us = None
    if ticks and after and after[1] > ticks[1]:
        busy = (after[0] - ticks[0]) / (after[1] - ticks[1])
        cpu_us = (after[0] - ticks[0]) / os.sysconf("SC_CLK_TCK") * 1e6 / max(total, 1)
    return {"rate": rate, "p50": latencies.get("50"), "p99": latencies.get("99"), "bad": int(bad.group(1)) if bad else 0,
            "errors": errors.group(0) if errors else "", "total": total, "busy": busy, "cpu_us": cpu_us}


def milliseconds(text):
    if text is None:
        return None
    value, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]




class Postgres:
    """A throwaway cluster with durable settings (PostgreSQL refuses to run as root: as `postgres` then)."""

    def __init__(self, work, statistics=False):
        """`statistics`: with pg_stat_statements loaded (each statement's time, for finding where it goes), and
        the plans of statements slower than 5 ms logged (auto_explain) into the cluster's server.log."""
        self.bin = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")) if os.path.isdir(d))[-1]
        self.dir = os.path.join(work, "pgdata")
        self.port = free_port()
        os.makedirs(self.dir)
        self.prefix = []
        if os.getuid() == 0:
            shutil.chown(work, "postgres")
            shutil.chown(self.dir, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        subprocess.run(self.prefix + [f"{self.bin}/initdb", "-D", self.dir, "-U", "shiming", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True)
        subprocess.run(self.prefix + [f"{self.bin}/pg_ctl", "-D", self.dir, "-w", "-l", os.path.join(self.dir, "server.log"), "-o",
                                      f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300"
                                      + (" -c shared_preload_libraries=pg_stat_statements,auto_explain -c pg_stat_statements.track_planning=on"
                                         " -c auto_explain.log_min_duration=5"
                                         " -c auto_explain.log_analyze=on -c auto_explain.log_buffers=on" if statistics else ""), "start"],
                       check=True, capture_output=True)

    def database(self, name):
        subprocess.run([f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "shiming", "-d", "postgres", "-qc",
                        f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return f"postgres://shiming@127.0.0.1:{self.port}/{name}?tlsmode=disable"

    def sql(self, database, statement):
        """One statement's answer as psql prints it."""
        return subprocess.run([f"{self.bin}/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "shiming", "-d", database, "-c", statement],
                              check=True, capture_output=True, text=True).stdout

    def stop(self):
        subprocess.run(self.prefix + [f"{self.bin}/pg_ctl", "-D", self.dir, "-m", "fast", "stop"], capture_output=True)


# --- the server ------------------------------------------------------------------------------

class Server:
    def __init__(self, binary, data_dir, database_url, key, cost, extra=None, port=None):
        self.port = port or free_port()
        env = dict(os.environ, SHIMING_DATA_DIR=data_dir, SHIMING_ENCRYPTION_KEY=key, SHIMING_BCRYPT_COST=str(cost),
                   SHIMING_TRUSTED_PROXIES="127.0.0.1", SHIMING_LOG_LEVEL="warning", SHIMING_OUTBOX_POLL_SECONDS="1")
        env.pop("DATABASE_URL", None)
        if database_url:
            env["DATABASE_URL"] = database_url
        env.update(extra or {})
        self.binary, self.env = binary, env
        started = time.perf_counter()
        self.process = subprocess.Popen([binary, "serve", "--port", str(self.port)], env=env, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(data_dir, "serve.log"), "a"))
        self.client = Client(f"http://127.0.0.1:{self.port}")
        while True:
            try:
                if self.client.call("GET", "/api/v1/info")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.perf_counter() - started > 60:
                raise SystemExit("shiming serve did not start; see serve.log in the data dir")
            time.sleep(0.01)
        self.cold_start = time.perf_counter() - started
        self.idle_rss = self.rss()
        self.idle_private = self.rss("RssAnon")

    def command(self, *arguments, stdin=None):
        """`shiming <arguments>` on this server's database and data dir, as an operator runs it."""
        return subprocess.run([self.binary, *arguments], env=self.env, input=stdin, text=True, capture_output=True, check=True)

    def rss(self, field="VmRSS"):
        """Resident memory in MB; `RssAnon` is the private part (without the mapped binary and libraries)."""
        with open(f"/proc/{self.process.pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024

    def stop(self):
        """SIGTERM, as a service manager stops it; answers the seconds the shutdown took."""
        started = time.perf_counter()
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            log("shiming serve did not stop within 60 s of SIGTERM; killed")
        return time.perf_counter() - started
