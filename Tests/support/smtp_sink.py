#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd): STARTTLS with a throwaway certificate, AUTH PLAIN
and LOGIN against one user, and every received message parsed and appended as a JSON line.

Usage: smtp_sink.py OUTPUT_JSONL WORKDIR [--user U --password P]
Prints `port=<n> cert=<path>` on its first line once it accepts connections; runs until its
standard input closes (or it is killed).
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl
import subprocess

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def make_certificate(workdir):
    key, cert = os.path.join(workdir, "smtp.key"), os.path.join(workdir, "smtp.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )
    return key, cert


class Recorder:
    def __init__(self, output):
        self.output = output

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        text = html = None
        for part in message.walk():
            if part.get_content_type() == "text/plain" and text is None:
                text = part.get_content()
            elif part.get_content_type() == "text/html" and html is None:
                html = part.get_content()
        record = {
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "subject": str(message["subject"]),
            "from": str(message["from"]), "to": str(message["to"]), "content_type": message.get_content_type(),
            "text": text, "html": html, "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "auth": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        with open(self.output, "a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"


def exit_when_parent_goes():
    """Stops when standard input closes: the test that started us is done (or gone)."""
    import sys
    import threading

    def watch():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main():
    import signal
    # A parent may have blocked these (test runners do); make sure SIGTERM can stop us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    exit_when_parent_goes()
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("workdir")
    parser.add_argument("--user", default="mailer")
    parser.add_argument("--password", default="secret")
    args = parser.parse_args()
    key, cert = make_certificate(args.workdir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user and auth_data.password.decode() == args.password:
            return AuthResult(success=True, auth_data=auth_data.login)
        return AuthResult(success=False, handled=False)

    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        Recorder(args.output), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_required=True, auth_require_tls=True,
    )
    controller.start()
    print(f"port={port} cert={cert}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
