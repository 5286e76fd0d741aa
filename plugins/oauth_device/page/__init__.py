"""The /device web page: where a signed-in console user approves or denies a device code."""
