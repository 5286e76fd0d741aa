"""The plugin's settings (``[plugin.app_assets]``), validated at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

MiB = 1024 * 1024


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
