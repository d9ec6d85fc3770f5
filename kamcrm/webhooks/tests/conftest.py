"""A real HTTP receiver on 127.0.0.1 that checks each request's signature, and a subscription pointing at it."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    """Records every POST; answers `status` (or 500 for the next `fail_next` requests)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.fail_next = 0
        self.secret = ""
        self.port = 0
        self._server = None
        self._thread = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?src=kamcrm"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event_id = self.headers.get("X-Kamcrm-Event-Id", "")
                timestamp = self.headers.get("X-Kamcrm-Timestamp", "")
                expected = "sha256=" + hmac.new(receiver.secret.encode(), f"{event_id}.{timestamp}.".encode() + body,
                                                hashlib.sha256).hexdigest()
                with receiver._lock:
                    status = receiver.status
                    if receiver.fail_next:
                        receiver.fail_next -= 1
                        status = 500
                    receiver.requests.append({
                        "path": self.path, "event_id": event_id, "type": self.headers.get("X-Kamcrm-Event-Type"),
                        "signed": hmac.compare_digest(expected, self.headers.get("X-Kamcrm-Signature", "")),
                        "body": json.loads(body), "status": status,
                    })
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    @property
    def accepted(self) -> list[dict]:
        return [r for r in self.requests if 200 <= r["status"] < 300]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def subscription(org, receiver):
    from kamcrm.webhooks import services

    sub = services.subscription_create(
        by=org.admin, name="ERP", target_url=receiver.url, allow_private_targets=True,
        event_types=["account.created", "account.changed", "contact.created", "contact.changed"])
    receiver.secret = sub.secret
    return sub
