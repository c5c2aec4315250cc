"""Storage layer: table repositories, blob store and queue wrapper on the official Azure SDKs."""
