"""Device-code state in the core state store (never Redis directly): the RFC 8628 state machine.

Nothing in the store is usable by whoever can read it (snapshots, AOF files, replicas): keys carry the
SHA-256 of the device code, never the code itself; the user-code mapping points at that hash; the
poll payload (the token, the account) is sealed with a key derived from SECRET_KEY and bound to the
code's hash.

Keys: ``device_code:{hash}`` (JSON state), ``user_code:{uc}`` (the hash; ``-`` for 15 minutes once
the flow is over, so a late click is told "already used" rather than counted as a guess), and
``device_code:{hash}:last_poll`` (slow-down marker: rewritten by every poll, lives one interval).

Every transition is one atomic step of the store: claims are set-if-absent, pending ->
approved/denied is a compare-and-set on the raw value, consume-on-poll a compare-and-delete.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import msgspec

from core.auth.bearer import hash_token
from core.keys import Sealer, SealError
from core.state.contract import Get, Incr, StateStore
from plugins.oauth_device.codes import new_user_code, normalise_user_code

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"

DEVICE_CODE_TTL = 900
POLL_INTERVAL = 5
APPROVED_MIN_TTL = 60
DENIED_MIN_TTL = 1
USER_CODE_CLAIM_ATTEMPTS = 5
SEAL_PURPOSE = "oauth_device.poll_payload"

# What ``codes.new_device_code`` issues: anything else was never a device code of ours.
DEVICE_CODE_SHAPE = re.compile(r"dc_[A-Za-z0-9_-]{32}")


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
    # The poll payload, sealed (base64url); only a poll presenting the device code gets it opened.
    sealed_payload: str | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(DeviceCodeState).decode
_encode_payload = msgspec.json.Encoder().encode
_decode_payload = msgspec.json.Decoder(dict[str, Any]).decode


# What a user-code key holds once its flow is over (a device-code hash is hex, never this).
USED = b"-"
# As long as wrong codes are counted against an address (abuse.MISS_WINDOW).
USED_CODE_TTL = 15 * 60


def code_hash(device_code: str) -> str:
    return hash_token(device_code)


def device_key(hashed: str) -> str:
    return f"device_code:{hashed}"


def user_key(user_code: str) -> str:
    return f"user_code:{user_code}"


def last_poll_key(hashed: str) -> str:
    return f"device_code:{hashed}:last_poll"


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

    code_hash: str
    raw: bytes
    state: DeviceCodeState


class PollStep(msgspec.Struct):
    """What one poll learns: whether it is on time, its address's poll count this minute, and the
    state (decoded only when asked)."""

    ip_polls: int | None  # None when the per-IP bucket is off
    on_time: bool
    code_hash: str
    raw: bytes | None

    def loaded(self) -> Loaded | None:
        return _loaded(self.code_hash, self.raw)


class DeviceCodeStore:
    def __init__(self, state: StateStore, sealer: Sealer) -> None:
        self.state = state
        self.sealer = sealer

    async def claim_user_code(self, hashed: str) -> str | None:
        """Claim a fresh user code with set-if-absent; None after five collisions in a row."""
        for _ in range(USER_CODE_CLAIM_ATTEMPTS):
            user_code = new_user_code()
            if await self.state.set_if_absent(user_key(user_code), hashed.encode(), ttl=DEVICE_CODE_TTL):
                return user_code
        return None

    async def create(self, hashed: str, state: DeviceCodeState) -> None:
        await self.state.set(device_key(hashed), encode_state(state), ttl=DEVICE_CODE_TTL)

    async def load(self, hashed: str) -> Loaded | None:
        return _loaded(hashed, await self.state.get(device_key(hashed)))

    async def load_by_user_code(self, user_code: str) -> Loaded | None:
        raw = await self.state.get(user_key(user_code))
        return await self.load(raw.decode()) if raw and raw != USED else None

    async def was_used(self, user_code: str | None) -> bool:
        """Whether this code finished its flow lately (its device received the answer): a person who
        submits it again made no guess, and must not be counted as guessing."""
        code = normalise_user_code(user_code)
        return code is not None and await self.state.get(user_key(code)) == USED

    async def find(self, user_code: str | None, now: float) -> tuple[Loaded | None, int | None]:
        """The state behind a user code in any spelling, and its seconds left (None unless still pending)."""
        code = normalise_user_code(user_code)
        loaded = await self.load_by_user_code(code) if code else None
        if loaded is None or loaded.state.status != PENDING:
            return loaded, None
        return loaded, max(int(loaded.state.expires_at - now), 0)

    async def transition(self, loaded: Loaded, new_state: DeviceCodeState, min_ttl: float) -> bool:
        """pending -> approved/denied, only if the state is still exactly what was read."""
        return await self.write_over(loaded, encode_state(new_state), min_ttl)

    async def write_over(self, loaded: Loaded, new_raw: bytes, min_ttl: float) -> bool:
        return await self.state.compare_and_set(
            device_key(loaded.code_hash), loaded.raw, new_raw, min_ttl=min_ttl
        )

    async def poll_step(
        self, hashed: str, ip_counter: Callable[[], Incr | None], interval: float
    ) -> PollStep:
        """The slow-down marker first, alone: a poll that comes too soon (most of a flood) is answered
        after one cheap command. An on-time poll then counts against its address and reads the state
        in one batch: two round trips in all.

        Every poll rewrites the marker, which lives one interval: a previous marker still alive means
        the previous poll came less than an interval ago, and a client that keeps polling too fast
        keeps getting slow_down (spec §1.3). An unknown code's marker is gone an interval later.
        """
        if interval > 0 and await self.state.exchange(last_poll_key(hashed), b"1", ttl=interval) is not None:
            return PollStep(None, False, hashed, None)
        counter = ip_counter()
        if counter is None:
            return PollStep(None, True, hashed, await self.state.get(device_key(hashed)))
        raw, polls = await self.state.batch([Get(device_key(hashed)), counter])
        return PollStep(polls, True, hashed, raw)

    async def consume(self, hashed: str, raw: bytes) -> bool:
        """Delete the terminal state if it is still the bytes this poller read: exactly one poller wins."""
        return await self.state.compare_and_delete(device_key(hashed), raw)

    async def retire_user_code(self, user_code: str) -> None:
        """The flow is over: the code now says so (``was_used``) for as long as guesses are counted,
        and is not handed out again meanwhile."""
        await self.state.set(user_key(user_code), USED, ttl=USED_CODE_TTL)

    def seal_payload(self, hashed: str, payload: dict[str, Any]) -> str:
        sealed = self.sealer.seal(_encode_payload(payload), hashed.encode())
        return base64.urlsafe_b64encode(sealed).decode()

    def open_payload(self, loaded: Loaded) -> dict[str, Any] | None:
        """The poll payload of an approved state; None when absent or it does not open (another
        SECRET_KEY, a state copied from another code, tampering)."""
        sealed = loaded.state.sealed_payload
        if not sealed:
            return None
        try:
            plain = self.sealer.open(base64.urlsafe_b64decode(sealed), loaded.code_hash.encode())
            return _decode_payload(plain)
        except (SealError, ValueError, msgspec.DecodeError):
            return None


def _loaded(hashed: str, raw: bytes | None) -> Loaded | None:
    state = decode_state(raw)
    if raw is None or state is None:
        return None
    return Loaded(hashed, raw, state)
