"""HTTP routes of the oauth_device plugin."""
