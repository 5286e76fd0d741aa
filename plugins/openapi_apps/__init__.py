"""The openapi_apps plugin."""
