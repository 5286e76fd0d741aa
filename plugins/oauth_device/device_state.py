"""Device-code state in the core state store (never Redis directly): the RFC 8628 state machine.

Keys: ``device_code:{dc}`` (JSON state), ``user_code:{uc}`` (the device code), ``device_code:{dc}:last_poll``
(slow-down bookkeeping). Every transition is one atomic step of the store: claims are set-if-absent,
pending -> approved/denied is a compare-and-set on the raw value, consume-on-poll a compare-and-delete.
"""

from __future__ import annotations

from typing import Any

import msgspec

from core.state.contract import StateStore
from plugins.oauth_device.codes import new_user_code, normalise_user_code

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"

DEVICE_CODE_TTL = 900
POLL_INTERVAL = 5
APPROVED_MIN_TTL = 60
DENIED_MIN_TTL = 1
USER_CODE_CLAIM_ATTEMPTS = 5


class DeviceCodeState(msgspec.Struct, kw_only=True):
    """What the store keeps per device code; unknown fields are ignored so old and new servers mix."""

    user_code: str
    client_id: str
    device_label: str
    status: str = PENDING
    created_at: float  # epoch seconds
    expires_at: float  # epoch seconds (the real lifetime of a pending code)
    created_ip: str = ""
    # ``transition:<id>:<token_id>`` once approved: tells this approval's write from anyone else's.
    token_id: str | None = None
    poll_payload: dict[str, Any] | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(DeviceCodeState).decode


def device_key(device_code: str) -> str:
    return f"device_code:{device_code}"


def user_key(user_code: str) -> str:
    return f"user_code:{user_code}"


def last_poll_key(device_code: str) -> str:
    return f"device_code:{device_code}:last_poll"


def decode_state(raw: bytes | None) -> DeviceCodeState | None:
    """None for a missing or corrupt value (a corrupt state behaves like an expired one)."""
    if raw is None:
        return None
    try:
        return _decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def encode_state(state: DeviceCodeState) -> bytes:
    return _encode(state)


class Loaded(msgspec.Struct):
    """A state together with the exact bytes it was read as (the compare-and-set operand)."""

    device_code: str
    raw: bytes
    state: DeviceCodeState


class DeviceCodeStore:
    def __init__(self, state: StateStore) -> None:
        self.state = state

    async def claim_user_code(self, device_code: str) -> str | None:
        """Claim a fresh user code with set-if-absent; None after five collisions in a row."""
        for _ in range(USER_CODE_CLAIM_ATTEMPTS):
            user_code = new_user_code()
            if await self.state.set_if_absent(user_key(user_code), device_code.encode(), ttl=DEVICE_CODE_TTL):
                return user_code
        return None

    async def create(self, device_code: str, state: DeviceCodeState) -> None:
        await self.state.set(device_key(device_code), encode_state(state), ttl=DEVICE_CODE_TTL)

    async def device_code_for(self, user_code: str) -> str | None:
        raw = await self.state.get(user_key(user_code))
        return raw.decode() if raw else None

    async def load(self, device_code: str) -> Loaded | None:
        raw = await self.state.get(device_key(device_code))
        state = decode_state(raw)
        if raw is None or state is None:
            return None
        return Loaded(device_code, raw, state)

    async def load_by_user_code(self, user_code: str) -> Loaded | None:
        device_code = await self.device_code_for(user_code)
        return await self.load(device_code) if device_code else None

    async def find(self, user_code: str | None, now: float) -> tuple[Loaded | None, int | None]:
        """The state behind a user code in any spelling, and its seconds left (None unless still pending)."""
        code = normalise_user_code(user_code)
        loaded = await self.load_by_user_code(code) if code else None
        if loaded is None or loaded.state.status != PENDING:
            return loaded, None
        return loaded, max(int(loaded.state.expires_at - now), 0)

    async def transition(self, loaded: Loaded, new_state: DeviceCodeState, min_ttl: float) -> bool:
        """pending -> approved/denied, only if the state is still exactly what was read."""
        return await self.state.compare_and_set(
            device_key(loaded.device_code), loaded.raw, encode_state(new_state), min_ttl=min_ttl
        )

    async def touch_poll(self, device_code: str, now: float) -> float | None:
        """Record this poll and return the previous one's time, in one round trip."""
        previous = await self.state.exchange(
            last_poll_key(device_code), repr(now).encode(), ttl=DEVICE_CODE_TTL
        )
        if previous is None:
            return None
        try:
            return float(previous)
        except ValueError:
            return None

    async def consume(self, device_code: str, raw: bytes) -> bool:
        """Delete the terminal state if it is still the bytes this poller read: exactly one poller wins."""
        return await self.state.compare_and_delete(device_key(device_code), raw)

    async def forget_user_code(self, user_code: str) -> None:
        await self.state.delete(user_key(user_code))
