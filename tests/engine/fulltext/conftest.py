"""Loopback HTTP server, client and fetcher fixtures (see tests/engine/sources/fake_server.py)."""

from tests.engine.sources.fake_server import client, fetcher, notices, server, sleeps

__all__ = ["client", "fetcher", "notices", "server", "sleeps"]
