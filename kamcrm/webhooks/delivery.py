"""The delivery worker: send due webhook deliveries, signed, in order per record, with retries.

Claiming (as healthchecks' `sendalerts`): a worker reads due rows, then moves each one with a
conditional UPDATE (`... WHERE id = %s AND attempts = <seen> AND next_attempt_at = <seen>`) that pushes
`next_attempt_at` a lease into the future and counts the attempt. Only the worker whose UPDATE changed
the row sends it; any other sees 0 rows changed and moves on. A worker that dies mid-send leaves the
row to be retried when the lease ends (at-least-once; receivers dedupe on the event id).

Order per record: a delivery is not due while an older delivery of the same subscription and account
is still open (pending or failed), so a receiver sees each record's events in order. A delivery given
up ("dead") no longer holds the later ones back.

Signature: `X-Kamcrm-Signature: sha256=<hex>` where hex = HMAC-SHA256(secret, "<event id>.<timestamp>.<body>")
with the timestamp as sent in `X-Kamcrm-Timestamp` (Unix seconds) and the body as the raw bytes received.
A receiver recomputes it with the subscription's secret, compares with `hmac.compare_digest`, rejects
timestamps older than a few minutes, and ignores event ids it has already processed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import random
import socket
import ssl
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils import timezone

from kamcrm.webhooks.models import OPEN_STATUSES, Delivery, DeliveryStatus
from kamcrm.webhooks.targets import Target, resolve_target

log = logging.getLogger(__name__)

TIMEOUT = 10  # seconds, connect and each read
LEASE = dt.timedelta(seconds=60)  # a claimed row is not due again for this long (> TIMEOUT)
BACKOFF_BASE = 30  # seconds: 30 s, 1 min, 2 min, 4 min ... capped
BACKOFF_CAP = 6 * 3600
USER_AGENT = "kamcrm-webhooks/1"
MAX_ERROR = 500


def backoff(attempts: int, *, rng: random.Random | None = None) -> dt.timedelta:
    """Wait after the `attempts`-th failed attempt: 30 s × 2^(n-1), ±10 % jitter, at most 6 hours."""
    seconds = min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)
    return dt.timedelta(seconds=seconds * (rng or random).uniform(0.9, 1.1))


def sign(secret: str, event_id: str, timestamp: str, body: bytes) -> str:
    message = f"{event_id}.{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def event_body(delivery: Delivery) -> bytes:
    """The JSON body: identical on every retry of the event."""
    event = delivery.event
    data = {"id": str(event.event_id), "type": event.type, "created_at": event.created_at.isoformat(),
            "account_id": event.account_id, "data": event.payload}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str).encode()


def due_deliveries(now: dt.datetime, limit: int):
    """Open deliveries whose time has come and that no older open delivery of the same record holds back."""
    older_open = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"), account_id=OuterRef("account_id"),
        id__lt=OuterRef("id"), status__in=OPEN_STATUSES)
    return (Delivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now, subscription__active=True)
            .filter(~Exists(older_open))
            .select_related("subscription", "event").order_by("id")[:limit])


def delivery_claim(delivery: Delivery, *, now: dt.datetime) -> bool:
    """Take `delivery` for this worker; False when another worker (or an earlier call) took it first."""
    changed = Delivery.objects.filter(
        pk=delivery.pk, status=delivery.status, attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
    ).update(attempts=delivery.attempts + 1, next_attempt_at=now + LEASE)
    if changed:
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
    return bool(changed)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address the SSRF guard checked, not to whatever the name resolves to now."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _post(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST once; no redirects are followed (a 3xx is a failed attempt). Returns (status, reason)."""
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target.host, target.port, address=target.address, timeout=TIMEOUT)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status, response.reason
    finally:
        conn.close()


def delivery_send(delivery: Delivery, *, now: dt.datetime) -> bool:
    """Send a claimed delivery once and record the outcome; True when delivered."""
    subscription = delivery.subscription
    body = event_body(delivery)
    event_id = str(delivery.event.event_id)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Kamcrm-Event-Id": event_id,
        "X-Kamcrm-Event-Type": delivery.event.type,
        "X-Kamcrm-Timestamp": timestamp,
        "X-Kamcrm-Signature": sign(subscription.secret, event_id, timestamp, body),
    }
    code: int | None = None
    error = ""
    elapsed_ms: int | None = None
    try:
        target = resolve_target(subscription.target_url, allow_private=subscription.allow_private_targets)
    except ValidationError as exc:
        error = "; ".join(m for ms in exc.message_dict.values() for m in ms)
    else:
        started = time.monotonic()
        try:
            code, reason = _post(target, body, headers)
            if not 200 <= code < 300:
                error = f"HTTP {code} {reason}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed_ms = int((time.monotonic() - started) * 1000)
    fields: dict[str, Any] = {"last_status_code": code, "response_ms": elapsed_ms, "last_error": error[:MAX_ERROR]}
    if not error:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=timezone.now())
    elif now >= delivery.give_up_at:
        fields.update(status=DeliveryStatus.DEAD)
    else:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=now + backoff(delivery.attempts))
    # Only the claimer writes the outcome (attempts still as it claimed them).
    Delivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    if error:
        log.info("webhook delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error)
    return not error


def deliver_due(now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send up to `limit` due deliveries, oldest first; returns how many were attempted.

    Runs round after round, so that a record's next event goes out as soon as its previous one is delivered.
    """
    attempted = 0
    while attempted < limit:
        moment = now or timezone.now()
        batch = list(due_deliveries(moment, limit - attempted))
        if not batch:
            break
        progressed = False
        for delivery in batch:
            if not delivery_claim(delivery, now=moment):
                continue
            progressed = True
            attempted += 1
            delivery_send(delivery, now=moment)
        if not progressed:
            break
    return attempted
