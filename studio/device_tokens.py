"""Signed device tokens for viewers' phones: one vote per device per poll needs a device id that
a viewer cannot mint for themselves.

The studio signs a random device id (itsdangerous, HMAC-SHA256, timestamped); a phone keeps its
token and presents it with every vote. Forged or tampered tokens and expired ones are told apart
so the phone can say which. Verified tokens are cached (bounded), as every vote checks one.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from typing import Callable

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class BadDeviceToken(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class DeviceTokens:
    def __init__(self, secret: str | Callable[[], str], max_age_s: float = 3 * 24 * 3600, cache_size: int = 200_000):
        # A callable secret is read on every use: rotating it (``Tokens.rotate("devices")``)
        # invalidates every device token at once, without a restart.
        self._secret_of = secret if callable(secret) else (lambda: secret)
        self._secret = ""
        self.max_age_s = max_age_s
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()  # token -> (device, expires)
        self._cache_size = cache_size

    @property
    def _serializer(self) -> URLSafeTimedSerializer:
        secret = self._secret_of()
        if secret != self._secret:
            self._secret, self._cache = secret, OrderedDict()
            self._signer = URLSafeTimedSerializer(secret, salt="gavel-device")
        return self._signer

    def issue(self) -> tuple[str, str]:
        device = secrets.token_hex(8)
        return device, self._serializer.dumps(device)

    def verify(self, token: str | None) -> str:
        """The device id in ``token``; raises BadDeviceToken (401 missing, 403 forged/expired)."""
        if not token:
            raise BadDeviceToken(401, "device token required: get one from POST /api/audience/device")
        now = time.time()
        serializer = self._serializer  # first: a rotated secret empties the cache
        cached = self._cache.get(token)
        if cached is not None and cached[1] > now:
            return cached[0]
        if len(token) > 200:
            raise BadDeviceToken(403, "device token is not one this studio issued")
        try:
            device, signed_at = serializer.loads(token, max_age=self.max_age_s, return_timestamp=True)
        except SignatureExpired:
            self._cache.pop(token, None)
            raise BadDeviceToken(403, "device token expired: get a new one from POST /api/audience/device") from None
        except BadSignature:
            raise BadDeviceToken(403, "device token is not one this studio issued") from None
        if not isinstance(device, str):
            raise BadDeviceToken(403, "device token is not one this studio issued")
        self._cache[token] = (device, signed_at.timestamp() + self.max_age_s)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return device
