"""The oauth_device plugin."""
