"""Where file bytes live, behind one interface: a local folder (the embedded default), with URLs
signed by the core signer and served by this plugin (``transfer.py``).

Keys are built from ids only (``object_key``), never from names: a rename or move never touches
storage, and no name can reach outside the folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio
import msgspec

from core.api import HostContext, Signer

UPLOAD_PURPOSE = "app_assets.upload"
DOWNLOAD_PURPOSE = "app_assets.download"
UPLOAD_PATH = "/files/app-assets/upload"
DOWNLOAD_PATH = "/files/app-assets/download"
CHUNK = 256 * 1024


# Where an S3 upload lands until ``complete`` moves it to the object's key: a presigned PUT stays valid
# for its whole lifetime, so a replay after complete must not reach the file people read.
STAGED = ".staged"


def object_key(tenant_id: uuid.UUID, app_id: uuid.UUID, node_id: uuid.UUID) -> str:
    return f"app_assets/{tenant_id}/{app_id}/draft/{node_id}"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    sha256: str | None  # None when the backend cannot tell without reading the bytes


class StorageError(Exception):
    """Storage could not do what was asked (unreachable, refused); the route answers 503."""


class ObjectStorage(Protocol):
    """What the routes and jobs need of a storage backend."""

    # Whether ``stat`` can give a SHA-256 without moving the object over the network.
    hashes_cheaply: bool

    def upload_url(self, key: str, *, node_id: uuid.UUID, size: int, expires_in: int) -> str: ...

    def download_url(self, key: str, *, filename: str, expires_in: int) -> str: ...

    async def stat(self, key: str, *, with_sha256: bool) -> ObjectInfo | None: ...

    async def stat_upload(self, key: str, *, with_sha256: bool) -> ObjectInfo | None:
        """What an upload URL for ``key`` has received so far (where ``complete`` looks)."""
        ...

    async def finish_upload(self, key: str) -> None:
        """Make the received bytes the object at ``key`` (``complete``, under the app's lock)."""
        ...

    async def read(self, key: str) -> bytes | None: ...

    async def write(self, key: str, data: bytes) -> None: ...

    async def delete(self, key: str) -> None: ...

    def object_keys(self) -> AsyncIterator[str]: ...


class UploadGrant(msgspec.Struct, frozen=True):
    """What an upload URL's token carries: the object, the node it belongs to, its exact size, and a
    nonce that makes the URL single-use."""

    k: str
    n: str
    s: int
    j: str


class DownloadGrant(msgspec.Struct, frozen=True):
    k: str
    f: str  # the file name the browser saves it as


_encode = msgspec.json.Encoder().encode


class LocalStorage:
    """Objects as files under ``root`` (``root/<key>``); transfers go through this server's signed URLs."""

    hashes_cheaply = True

    def __init__(self, root: Path, base_url: str, upload: Signer, download: Signer) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self.upload_signer = upload
        self.download_signer = download

    @classmethod
    def for_host(cls, ctx: HostContext, local_root: str) -> LocalStorage:
        root = Path(local_root)
        if not root.is_absolute():
            root = Path(ctx.settings.data_dir) / root
        return cls(
            root, ctx.settings.public_api_url, ctx.signer(UPLOAD_PURPOSE), ctx.signer(DOWNLOAD_PURPOSE)
        )

    def path_of(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not an object key: {key!r}")
        return self.root.joinpath(*parts)

    def upload_url(self, key: str, *, node_id: uuid.UUID, size: int, expires_in: int) -> str:
        grant = UploadGrant(k=key, n=str(node_id), s=size, j=secrets.token_urlsafe(12))
        token = self.upload_signer.sign(_encode(grant), expires_in=expires_in)
        return f"{self.base_url}{UPLOAD_PATH}?token={token}"

    def download_url(self, key: str, *, filename: str, expires_in: int) -> str:
        token = self.download_signer.sign(_encode(DownloadGrant(k=key, f=filename)), expires_in=expires_in)
        return f"{self.base_url}{DOWNLOAD_PATH}?token={token}"

    async def stat(self, key: str, *, with_sha256: bool) -> ObjectInfo | None:
        path = self.path_of(key)
        return await anyio.to_thread.run_sync(_stat, path, with_sha256)

    async def stat_upload(self, key: str, *, with_sha256: bool) -> ObjectInfo | None:
        # The upload route writes the object itself, and only while its node is pending.
        return await self.stat(key, with_sha256=with_sha256)

    async def finish_upload(self, key: str) -> None:
        return None

    async def read(self, key: str) -> bytes | None:
        path = self.path_of(key)
        try:
            return await anyio.Path(path).read_bytes()
        except FileNotFoundError:
            return None

    async def write(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        await anyio.to_thread.run_sync(_write_atomically, path, data)

    async def delete(self, key: str) -> None:
        # Idempotent: deleting twice is deleting once.
        await anyio.Path(self.path_of(key)).unlink(missing_ok=True)

    async def object_keys(self) -> AsyncIterator[str]:
        """Every object under ``app_assets/`` (unfinished ``.part-`` files aside), a folder at a time."""
        pending = [self.root / "app_assets"]
        while pending:
            folder = pending.pop()
            entries = await anyio.to_thread.run_sync(_entries, folder)
            for path, is_dir in entries:
                if is_dir:
                    pending.append(path)
                elif ".part-" not in path.name:
                    yield path.relative_to(self.root).as_posix()


def _entries(folder: Path) -> list[tuple[Path, bool]]:
    try:
        with os.scandir(folder) as found:
            return [(Path(entry.path), entry.is_dir(follow_symlinks=False)) for entry in found]
    except FileNotFoundError:
        return []


def _stat(path: Path, with_sha256: bool) -> ObjectInfo | None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if not with_sha256:
        return ObjectInfo(size, None)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return ObjectInfo(size, digest.hexdigest())


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.part-{secrets.token_hex(6)}")
    part.write_bytes(data)
    os.replace(part, path)
