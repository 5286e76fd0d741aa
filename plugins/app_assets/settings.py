"""The plugin's settings (``[plugin.app_assets]``), validated at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

MiB = 1024 * 1024


class S3Settings(msgspec.Struct, forbid_unknown_fields=True):
    """``[plugin.app_assets.s3]``: an S3-compatible bucket (AWS, MinIO, Ceph, R2...)."""

    bucket: str = ""
    endpoint: str = ""  # empty: AWS's own for the region
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    session_token: str = ""
    # bucket.endpoint/key (AWS's default) rather than endpoint/bucket/key (MinIO and most others).
    virtual_hosted: bool = False


class AppAssetsSettings(msgspec.Struct, forbid_unknown_fields=True):
    # Where file bytes live: "local" (a folder, URLs signed and served by this server) or "s3".
    storage: Literal["local", "s3"] = "local"
    # The local folder; relative paths are inside the server's data_dir.
    local_root: str = "assets"
    # Limits, checked on every route before anything is written (400/413 with a code).
    max_depth: Annotated[int, msgspec.Meta(ge=1, le=64)] = 16
    max_nodes_per_app: Annotated[int, msgspec.Meta(ge=1)] = 20_000
    max_file_bytes: Annotated[int, msgspec.Meta(ge=1)] = 100 * MiB
    # Text read and written through the API (GET/PUT files/{id}): larger files use the URLs.
    max_text_bytes: Annotated[int, msgspec.Meta(ge=1)] = 5 * MiB
    # Lifetime of the signed URLs handed out. Upload URLs are single-use and bound to node and size.
    upload_url_seconds: Annotated[int, msgspec.Meta(ge=10, le=3600)] = 900
    download_url_seconds: Annotated[int, msgspec.Meta(ge=10, le=3600)] = 300
    # A file still pending (bytes never completed) this long after creation is removed by the sweeper.
    pending_hours: Annotated[int, msgspec.Meta(ge=1)] = 24
    sweep_cron: str = "41 * * * *"  # hourly
    s3: S3Settings = msgspec.field(default_factory=S3Settings)

    # Dify's environment names (read by core.settings through plugin_env_aliases).
    env_aliases = {
        "S3_BUCKET_NAME": "s3.bucket",
        "S3_ENDPOINT": "s3.endpoint",
        "S3_REGION": "s3.region",
        "S3_ACCESS_KEY": "s3.access_key_id",
        "S3_SECRET_KEY": "s3.secret_access_key",
    }

    def __post_init__(self) -> None:
        if self.storage == "s3" and not (
            self.s3.bucket and self.s3.access_key_id and self.s3.secret_access_key
        ):
            raise ValueError('storage = "s3" needs s3.bucket, s3.access_key_id and s3.secret_access_key')
