"""The errors of this plugin's routes, each with the code a client can act on (upstream's names where
upstream has one)."""

from __future__ import annotations

from core.api import ApiError


def node_not_found() -> ApiError:
    return ApiError(404, "App asset node not found.", code="app_asset_node_not_found")


def app_not_found(message: str = "app not found") -> ApiError:
    return ApiError(404, message, code="app_not_found")


def path_conflict(path: str) -> ApiError:
    return ApiError(409, f"Path already exists: {path}", code="app_asset_path_conflict")


def invalid(message: str) -> ApiError:
    return ApiError(400, message, code="invalid_param")


def revision_mismatch(current: int) -> ApiError:
    return ApiError(
        412,
        f"the tree changed since you read it (now revision {current}); read it again",
        code="revision_mismatch",
    )


def too_many_nodes(limit: int) -> ApiError:
    return ApiError(413, f"an app holds at most {limit} nodes", code="too_many_nodes")


def file_too_large(limit: int) -> ApiError:
    return ApiError(413, f"a file is at most {limit} bytes", code="file_too_large")


def too_deep(limit: int) -> ApiError:
    return ApiError(400, f"the tree is at most {limit} levels deep", code="depth_exceeded")


def conflict(message: str, code: str) -> ApiError:
    return ApiError(409, message, code=code)
