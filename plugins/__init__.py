"""Built-in feature plugins; each is registered through the difyd.plugins entry-point group."""
