"""The plugin's hooks: what it mounts, migrates and configures."""

from __future__ import annotations

from plugins.openapi_apps import plugin
from plugins.openapi_apps.settings import OpenApiAppsSettings


def test_hook_route_handlers_openapi_apps(host):
    """The plugin mounts the workspaces and apps controllers under /openapi/v1."""
    paths = {handler.path for handler in plugin.route_handlers(host)}
    assert paths == {"/openapi/v1/workspaces", "/openapi/v1/apps"}


def test_hook_migration_locations_openapi_apps():
    """Its migration branch lives in the plugin and starts from core_0001."""
    (folder,) = plugin.migration_locations()
    revision = (folder / "openapi_apps_0001_indexes.py").read_text()
    assert 'depends_on = "core_0001"' in revision and 'branch_labels = ("openapi_apps",)' in revision


def test_hook_plugin_settings_openapi_apps():
    """The settings Struct has Dify's defaults."""
    assert plugin.plugin_settings() is OpenApiAppsSettings
    assert OpenApiAppsSettings().system_parameters() == {
        "image_file_size_limit": 10, "video_file_size_limit": 100, "audio_file_size_limit": 50,
        "file_size_limit": 15, "workflow_file_upload_limit": 10}


async def test_unrouted_paths_stay_404(client, world, alice):
    """/apps/{id}/parameters and /apps/{id}/info are not served (spec README)."""
    for suffix in ("parameters", "info"):
        response = await client.get(f"/openapi/v1/apps/{world.id('Greeter')}/{suffix}", headers=alice)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
