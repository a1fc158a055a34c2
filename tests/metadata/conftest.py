"""Loopback HTTP server, client and fetcher fixtures (see tests/sources/fake_server.py)."""

from tests.sources.fake_server import client, fetcher, notices, server, sleeps

__all__ = ["client", "fetcher", "notices", "server", "sleeps"]
