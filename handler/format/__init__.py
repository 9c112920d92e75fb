"""How records become stored bytes: the envelope, compression, and the storage layout."""
