"""Standard Webhooks signatures (https://www.standardwebhooks.com), both directions.

A signature is ``v1,`` + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")); the secret is
``whsec_`` + base64(key bytes). Verification checks a 5-minute timestamp window and compares
every listed signature in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import datetime

SECRET_PREFIX = "whsec_"
TOLERANCE_S = 5 * 60


class SignatureError(Exception):
    """Why a delivery's signature was refused (never includes the secret)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret: str, received: Mapping[str, str], body: bytes, now: datetime) -> str:
    """Check a delivery's headers; returns its ``webhook-id``, or raises ``SignatureError``."""
    msg_id = received.get("webhook-id")
    stamp = received.get("webhook-timestamp")
    signatures = received.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise SignatureError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise SignatureError("webhook-timestamp is not a whole number of seconds") from None
    if abs(now.timestamp() - timestamp) > TOLERANCE_S:
        raise SignatureError("webhook-timestamp is outside the 5-minute window")
    expected = sign(secret, msg_id, timestamp, body).encode()
    matched = False
    for candidate in signatures.split():
        matched |= hmac.compare_digest(candidate.encode(), expected)
    if not matched:
        raise SignatureError("no signature matches")
    return msg_id
