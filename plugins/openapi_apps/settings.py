"""The plugin's settings: the upload limits echoed in every describe ``parameters.system_parameters``."""

from __future__ import annotations

import msgspec

# The name this plugin is registered under: its entry point and its ``[plugin.<name>]`` section.
NAME = "openapi_apps"


class OpenApiAppsSettings(msgspec.Struct, forbid_unknown_fields=True):
    """``[plugin.openapi_apps]``; Dify's own environment names work too (see ``env_aliases``)."""

    image_file_size_limit: int = 10  # MB
    video_file_size_limit: int = 100  # MB
    audio_file_size_limit: int = 50  # MB
    file_size_limit: int = 15  # MB
    workflow_file_upload_limit: int = 10  # files per workflow run

    # Not a field (no annotation): Dify env name -> key in this section, read by core.plugins.
    env_aliases = {
        "UPLOAD_IMAGE_FILE_SIZE_LIMIT": "image_file_size_limit",
        "UPLOAD_VIDEO_FILE_SIZE_LIMIT": "video_file_size_limit",
        "UPLOAD_AUDIO_FILE_SIZE_LIMIT": "audio_file_size_limit",
        "UPLOAD_FILE_SIZE_LIMIT": "file_size_limit",
        "WORKFLOW_FILE_UPLOAD_LIMIT": "workflow_file_upload_limit",
    }

    def system_parameters(self) -> dict[str, int]:
        return {
            "image_file_size_limit": self.image_file_size_limit,
            "video_file_size_limit": self.video_file_size_limit,
            "audio_file_size_limit": self.audio_file_size_limit,
            "file_size_limit": self.file_size_limit,
            "workflow_file_upload_limit": self.workflow_file_upload_limit,
        }
