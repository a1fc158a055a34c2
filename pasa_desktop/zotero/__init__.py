"""Zotero: the desktop connector (127.0.0.1:23119) and the Web API (api.zotero.org)."""

from pasa_desktop.zotero.connector import ConnectorClient, Target
from pasa_desktop.zotero.errors import ZoteroError, ZoteroUnavailable
from pasa_desktop.zotero.push import PushReport, push_connector, push_items, push_new, push_web
from pasa_desktop.zotero.webapi import WebApiClient

__all__ = [
    "ConnectorClient",
    "PushReport",
    "Target",
    "WebApiClient",
    "ZoteroError",
    "ZoteroUnavailable",
    "push_connector",
    "push_items",
    "push_new",
    "push_web",
]
