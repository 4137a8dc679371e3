"""Signed device tokens for viewers' phones: one vote per device per poll needs a device id that
a viewer cannot mint for themselves.

A token is ``d1.<device id>.<issued at, unix s>.<signature>``: the studio's HMAC-SHA256 (keyed by
its signing secret, truncated to 128 bits, in hex) over the version, device id and time. Every
vote checks one, so verifying is one C-level HMAC and a constant-time compare — no JSON, no
cache to keep. Forged or tampered tokens and expired ones are told apart so the phone can say
which. Rotating the secret (``Tokens.rotate("devices")``) invalidates every token at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Callable

VERSION = "d1"
MAX_TOKEN_CHARS = 80  # d1 + 16 hex + 10-12 digits + 32 hex signature and dots: 63, with room to spare


class BadDeviceToken(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


FORGED = "device token is not one this studio issued"


class DeviceTokens:
    def __init__(self, secret: str | Callable[[], str], max_age_s: float = 3 * 24 * 3600):
        # A callable secret is read on every use, so a rotation takes effect without a restart.
        self._secret_of = secret if callable(secret) else (lambda: secret)
        self.max_age_s = max_age_s
        self._secret, self._key = None, b""

    def _signature(self, payload: str) -> str:
        secret = self._secret_of()
        if secret is not self._secret:
            self._secret, self._key = secret, secret.encode()
        return hmac.digest(self._key, b"gavel-device|" + payload.encode(), "sha256")[:16].hex()

    def issue(self) -> tuple[str, str]:
        device = secrets.token_hex(8)
        payload = f"{VERSION}.{device}.{int(time.time())}"
        return device, f"{payload}.{self._signature(payload)}"

    def verify(self, token: str | None) -> str:
        """The device id in ``token``; raises BadDeviceToken (401 missing, 403 forged/expired)."""
        if not token:
            raise BadDeviceToken(401, "device token required: get one from POST /api/audience/device")
        payload, _, signature = token.rpartition(".")
        parts = payload.split(".")
        if len(token) > MAX_TOKEN_CHARS or not token.isascii() or len(parts) != 3 or parts[0] != VERSION or not parts[2].isdigit():
            raise BadDeviceToken(403, FORGED)
        if not hmac.compare_digest(signature, self._signature(payload)):
            raise BadDeviceToken(403, FORGED)
        if time.time() - int(parts[2]) > self.max_age_s:
            raise BadDeviceToken(403, "device token expired: get a new one from POST /api/audience/device")
        return parts[1]
