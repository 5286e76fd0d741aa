"""S3-compatible object storage through ``obstore``: objects are read, written, listed and deleted by
obstore, and clients move bytes with presigned URLs.

Upload URLs are obstore's presigned PUTs (SigV4, one key, a short lifetime) to a staging key beside the
object's (``<key>.staged``). A presigned PUT can neither cap the size nor be revoked, so ``complete``
checks the staged bytes (a wrong size stays pending; the sweeper removes it) and only then copies them
to the object's key: a replay of the URL after that reaches the staging key, which nobody reads.

Download URLs must also tell S3 to answer ``Content-Disposition: attachment`` with the node's name,
which needs the ``response-content-disposition`` query parameter inside the signature; obstore cannot
sign extra query parameters, so ``presign_get`` computes the same SigV4 query signature (AWS's
documented algorithm) with the configured static credentials.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import obstore
from obstore.store import S3Store

from plugins.app_assets.settings import S3Settings
from plugins.app_assets.storage import CHUNK, STAGED, ObjectInfo, StorageError

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def attachment(filename: str) -> str:
    """An attachment disposition that names the file safely in every browser (RFC 6266)."""
    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def presign_get(
    settings: S3Settings, key: str, *, filename: str, expires_in: int, now: datetime.datetime | None = None
) -> str:
    """A SigV4 query-signed GET of ``key`` that S3 answers as a download named ``filename``."""
    now = now or datetime.datetime.now(datetime.UTC)
    endpoint = urlsplit(settings.endpoint or f"https://s3.{settings.region}.amazonaws.com")
    if settings.virtual_hosted:
        host, path = f"{settings.bucket}.{endpoint.netloc}", f"/{quote(key)}"
    else:
        host, path = endpoint.netloc, f"/{quote(settings.bucket)}/{quote(key)}"
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/{settings.region}/s3/aws4_request"
    query = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{settings.access_key_id}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
        "response-content-disposition": attachment(filename),
        "response-content-type": "application/octet-stream",
    }
    if settings.session_token:
        query["X-Amz-Security-Token"] = settings.session_token
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
    request = "\n".join(["GET", path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    key_bytes = f"AWS4{settings.secret_access_key}".encode()
    for part in (day, settings.region, "s3", "aws4_request"):
        key_bytes = hmac.new(key_bytes, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key_bytes, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{endpoint.scheme}://{host}{path}?{canonical_query}&X-Amz-Signature={signature}"


class S3Storage:
    """The ``storage = "s3"`` backend. Every obstore failure is a StorageError (the routes answer 503)."""

    hashes_cheaply = False  # a SHA-256 means reading the whole object back: only when one was declared

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        config: dict[str, Any] = {
            "endpoint": settings.endpoint or None,
            "region": settings.region,
            "access_key_id": settings.access_key_id,
            "secret_access_key": settings.secret_access_key,
            "virtual_hosted_style_request": settings.virtual_hosted,
        }
        if settings.session_token:
            config["session_token"] = settings.session_token
        # Bounded like every other dependency: an unreachable or stalled store fails within about two
        # seconds (one retry), and the route answers 503, instead of obstore's default minutes of retries.
        options: ClientConfig = {
            "connect_timeout": timedelta(seconds=1),
            "read_timeout": timedelta(seconds=5),
        }
        if (settings.endpoint or "").startswith("http://"):
            options["allow_http"] = True
        retry: RetryConfig = {"max_retries": 1, "retry_timeout": timedelta(seconds=2)}
        self.store = S3Store(
            settings.bucket,
            **{k: v for k, v in config.items() if v is not None},
            client_options=options,
            retry_config=retry,
        )

    def upload_url(self, key: str, *, node_id: Any, size: int, expires_in: int) -> str:
        try:
            return str(obstore.sign(self.store, "PUT", key + STAGED, datetime.timedelta(seconds=expires_in)))
        except Exception as exc:  # obstore raises its own error types; all mean "could not sign"
            raise StorageError(f"could not sign an upload URL ({type(exc).__name__})") from exc

    def download_url(self, key: str, *, filename: str, expires_in: int) -> str:
        return presign_get(self.settings, key, filename=filename, expires_in=expires_in)

    async def stat(self, key: str, *, with_sha256: bool) -> ObjectInfo | None:
        try:
            meta = await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageError(f"could not read object metadata ({type(exc).__name__})") from exc
        if not with_sha256:
            return ObjectInfo(int(meta["size"]), None)
        digest = hashlib.sha256()
        try:
            result = await obstore.get_async(self.store, key)
            async for chunk in result.stream(min_chunk_size=CHUNK):
                digest.update(bytes(chunk))
        except Exception as exc:
            raise StorageError(f"could not read the object ({type(exc).__name__})") from exc
        return ObjectInfo(int(meta["size"]), digest.hexdigest())

    async def stat_upload(self, key: str, *, with_sha256: bool) -> ObjectInfo | None:
        return await self.stat(key + STAGED, with_sha256=with_sha256)

    async def finish_upload(self, key: str) -> None:
        """Copy the staged upload to the object's key (a server-side copy), then drop the staging copy."""
        try:
            await obstore.copy_async(self.store, key + STAGED, key)
            await obstore.delete_async(self.store, key + STAGED)
        except Exception as exc:
            raise StorageError(f"could not finish the upload ({type(exc).__name__})") from exc

    async def read(self, key: str) -> bytes | None:
        try:
            result = await obstore.get_async(self.store, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise StorageError(f"could not read the object ({type(exc).__name__})") from exc

    async def write(self, key: str, data: bytes) -> None:
        try:
            await obstore.put_async(self.store, key, data)
        except Exception as exc:
            raise StorageError(f"could not write the object ({type(exc).__name__})") from exc

    async def delete(self, key: str) -> None:
        try:
            # The object and any staged upload of it; deleting a missing key succeeds.
            await obstore.delete_async(self.store, [key, key + STAGED])
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise StorageError(f"could not delete the object ({type(exc).__name__})") from exc

    async def object_keys(self) -> AsyncIterator[str]:
        try:
            async for batch in obstore.list(self.store, prefix="app_assets/"):
                for meta in batch:
                    yield str(meta["path"])
        except Exception as exc:
            raise StorageError(f"could not list objects ({type(exc).__name__})") from exc
