"""The declared request and response bodies of the asset routes (Litestar validates requests against
them and /schema documents them from the same Structs). Names are checked by ``names.name_problem`` in
the service, so every route, the batch included, answers the same 400 for the same bad name."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Size = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
NodeId = Annotated[str, msgspec.Meta(max_length=64, description='a node id; null or "" is the root')]
Sha256 = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="hex SHA-256 of the bytes")]
ClientKey = Annotated[str, msgspec.Meta(max_length=255, description="echoed back as sent")]


class CreateFolder(msgspec.Struct):
    name: Name
    parent_id: NodeId | None = None


class CreateFile(msgspec.Struct):
    name: Name
    size: Size
    parent_id: NodeId | None = None
    sha256: Sha256 | None = None


class BatchNode(msgspec.Struct):
    name: Name
    node_type: Literal["file", "folder"]
    size: Size = 0
    children: list[BatchNode] = []
    client_key: ClientKey | None = None
    sha256: Sha256 | None = None


class BatchUpload(msgspec.Struct):
    children: Annotated[list[BatchNode], msgspec.Meta(min_length=1)]
    parent_id: NodeId | None = None
    on_conflict: Literal["rename", "fail"] = "rename"


class Rename(msgspec.Struct):
    name: Name


class Move(msgspec.Struct):
    parent_id: NodeId | None = None


class Reorder(msgspec.Struct):
    after_node_id: NodeId | None = None


class TextContent(msgspec.Struct):
    content: str


class Complete(msgspec.Struct):
    sha256: Sha256 | None = None


class CompleteItem(msgspec.Struct):
    id: NodeId
    sha256: Sha256 | None = None


class CompleteMany(msgspec.Struct):
    files: Annotated[list[CompleteItem], msgspec.Meta(min_length=1, max_length=200)]


class FlatNode(msgspec.Struct):
    id: str
    node_type: str
    name: str
    parent_id: str | None
    order: int
    extension: str
    size: int
    status: str
    sha256: str | None


class FileUpload(msgspec.Struct):
    node: FlatNode
    upload_url: str


class TreeBody(msgspec.Struct):
    revision: int
    children: list[dict[str, Any]]


class BatchResult(msgspec.Struct):
    revision: int
    children: list[dict[str, Any]]


class Content(msgspec.Struct):
    content: str


class DownloadUrl(msgspec.Struct):
    download_url: str


class Result(msgspec.Struct):
    result: str


class CompletedMany(msgspec.Struct):
    files: list[FlatNode]
