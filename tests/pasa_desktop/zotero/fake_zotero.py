"""A loopback HTTP server that speaks Zotero's connector protocol and the Web API's item writes.

Status codes, bodies and session rules follow Zotero's own source (chrome/content/zotero/xpcom/server/
server_connector.js) and the Web API documentation: saveItems 201 / 409 SESSION_EXISTS /
500 {"libraryEditable": false}; updateSession 400 SESSION_NOT_FOUND / COLLECTION_NOT_FOUND; saveAttachment
X-Metadata, 200 "Library files are not editable."; Web API write tokens (412 on reuse), ≤ 50 items (413),
429 with Retry-After. It records every request and can inject faults (a dropped response after the
work was done, rate limits).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.loopback import LoopbackServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ZoteroState:
    # Connector side
    library_editable: bool = True
    files_editable: bool = True
    targets: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "L1", "name": "My Library", "filesEditable": True, "level": 0},
            {"id": "C10", "name": "Thesis", "filesEditable": True, "level": 1},
            {"id": "C11", "name": "Background", "filesEditable": True, "level": 2},
            {"id": "C12", "name": "Reading", "filesEditable": True, "level": 1},
        ]
    )
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    saved_items: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)
    drop_save_items_once: bool = False  # do the work, then hang up without answering
    # Web API side
    api_key: str = "secret-key"
    user_id: str = "123"
    used_tokens: set[str] = field(default_factory=set)
    web_items: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_next: int = 0
    # What a rate-limited request gets: 429 with Retry-After in seconds by default; the API may also
    # answer 503 with Backoff, and Retry-After may be an HTTP date.
    rate_limit_status: int = 429
    rate_limit_headers: dict[str, str] = field(default_factory=lambda: {"Retry-After": "2"})
    drop_web_once: bool = False
    max_body_bytes: int = 10_000_000
    collections: list[dict[str, Any]] = field(
        default_factory=lambda: [{"key": "ABCD2345", "data": {"key": "ABCD2345", "name": "Thesis"}}]
    )
    files: dict[str, bytes] = field(default_factory=dict)  # attachment item key → stored bytes
    pending_uploads: dict[str, tuple[str, str]] = field(default_factory=dict)  # uploadKey → (item key, md5)
    quota_bytes: int = 300_000_000
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _form(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(body.decode()))


class _FileUploads:
    """The Web API's file upload: authorize (md5, size; If-None-Match: *), upload to storage, register."""

    def _file(self: Any, item_key: str, body: bytes) -> None:
        state = self.server.state
        items = {i["key"]: i for i in state.web_items}
        item = items.get(item_key)
        if item is None or item.get("itemType") != "attachment":
            self._send(404, "text/plain", "Not found")
            return
        if (self.headers.get("Content-Type") or "") != "application/x-www-form-urlencoded":
            self._send(400, "text/plain", "Content-Type must be application/x-www-form-urlencoded")
            return
        if self.headers.get("If-None-Match") != "*" and self.headers.get("If-Match") is None:
            self._send(428, "text/plain", "If-Match or If-None-Match header not provided")
            return
        form = _form(body)
        if "upload" in form:  # step 3: register the upload
            pending = state.pending_uploads.pop(form["upload"], None)
            if pending is None or pending[0] != item_key:
                self._send(400, "text/plain", "Upload key not found")
                return
            self._send(204)
            return
        if item_key in state.files:
            self._send(412, "text/plain", "If-None-Match: * set but file exists")
            return
        if int(form.get("filesize", "0")) > state.quota_bytes:
            self._send(413, "text/plain", "File would exceed quota")
            return
        upload_key = f"U{len(state.pending_uploads) + len(state.files):07d}"
        state.pending_uploads[upload_key] = (item_key, form["md5"])
        host, port = self.server.server_address[:2]
        self._json(
            200,
            {
                "url": f"http://{host}:{port}/storage/{upload_key}",
                "contentType": "multipart/form-data; x",
                "prefix": "--PREFIX--",
                "suffix": "--SUFFIX--",
                "uploadKey": upload_key,
            },
        )

    def _storage(self: Any, path: str, body: bytes) -> None:
        import hashlib

        state = self.server.state
        upload_key = path.rsplit("/", 1)[-1]
        pending = state.pending_uploads.get(upload_key)
        if pending is None or not body.startswith(b"--PREFIX--") or not body.endswith(b"--SUFFIX--"):
            self._send(400, "text/plain", "Bad upload")
            return
        content = body[len(b"--PREFIX--") : -len(b"--SUFFIX--")]
        if hashlib.md5(content, usedforsecurity=False).hexdigest() != pending[1]:
            self._send(400, "text/plain", "md5 mismatch")
            return
        state.files[pending[0]] = content
        self._send(201)


class _Handler(_FileUploads, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing ---------------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        content_type: str | None = None,
        body: str | bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, "application/json", json.dumps(data), headers)

    def _hang_up(self) -> None:
        self.close_connection = True

    def _handle(self, method: str) -> None:
        body = self._body()
        state = self.server.state
        with state.lock:
            state.received.append(Received(method, self.path, dict(self.headers.items()), body))
        path = self.path.split("?")[0]
        if path.startswith("/connector/"):
            self._connector(method, path, body)
        elif path.startswith("/storage/"):
            self._storage(path, body)
        elif path.startswith(f"/users/{state.user_id}/") or path == "/keys/current":
            self._web(method, path, body)
        else:
            self._send(404, "text/plain", "No endpoint found")

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    # -- connector --------------------------------------------------------------------------------
    def _connector(self, method: str, path: str, body: bytes) -> None:
        state = self.server.state
        if path == "/connector/ping":
            if method == "GET":
                self._send(200, "text/html", "<!DOCTYPE html><html><body>Zotero is running</body></html>")
            else:
                self._json(200, {"prefs": {"automaticSnapshots": True, "supportsAttachmentUpload": True}})
            return
        if method != "POST":
            self._send(400, "text/plain", "Endpoint does not support method")
            return
        json_endpoints = ("/connector/saveItems", "/connector/updateSession", "/connector/getSelectedCollection")
        if path in json_endpoints and not (self.headers.get("Content-Type") or "").startswith("application/json"):
            self._send(400, "text/plain", "Endpoint does not support content-type")
            return
        version = self.headers.get("X-Zotero-Connector-API-Version")
        if path == "/connector/saveItems" and version is not None and int(version) < 3:
            self._json(400, {"error": "CONNECTOR_VERSION_OUTDATED"})
            return
        if path == "/connector/getSelectedCollection":
            self._json(
                200,
                {
                    "libraryID": 1,
                    "libraryName": "My Library",
                    "libraryEditable": state.library_editable,
                    "filesEditable": state.files_editable,
                    "editable": state.library_editable,
                    "id": None,
                    "name": "My Library",
                    "targets": state.targets,
                },
            )
        elif path == "/connector/saveItems":
            self._save_items(json.loads(body))
        elif path == "/connector/updateSession":
            self._update_session(json.loads(body))
        elif path == "/connector/saveAttachment":
            self._save_attachment(body)
        else:
            self._send(404, "text/plain", "No endpoint found")

    def _save_items(self, data: dict[str, Any]) -> None:
        state = self.server.state
        with state.lock:
            session_id = data.get("sessionID")
            if session_id in state.sessions:
                self._json(409, {"error": "SESSION_EXISTS"})
                return
            # As in Zotero: the session exists before the library is checked.
            state.sessions[session_id] = {
                "items": {i.get("id"): i for i in data.get("items", [])},
                "target": "L1",
                "tags": "",
            }
            if not state.library_editable:
                self._json(500, {"libraryEditable": False})
                return
            state.saved_items.extend(data.get("items", []))
            drop = state.drop_save_items_once
            state.drop_save_items_once = False
        if drop:
            self._hang_up()
            return
        self._send(201, "application/json")

    def _session(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The save session a request names; None after answering Zotero's 400 for a missing or unknown one."""
        session_id = data.get("sessionID")
        session = self.server.state.sessions.get(session_id) if session_id else None
        if session is None:
            self._json(400, {"error": "SESSION_NOT_FOUND" if session_id else "SESSION_ID_NOT_PROVIDED"})
        return session

    def _update_session(self, data: dict[str, Any]) -> None:
        state = self.server.state
        session = self._session(data)
        if session is None:
            return
        target = str(data.get("target", ""))
        if target.startswith("C") and target not in {t["id"] for t in state.targets}:
            self._json(400, {"error": "COLLECTION_NOT_FOUND"})
            return
        session.update(target=target, tags=data.get("tags", ""))
        self._json(200, {})

    def _save_attachment(self, body: bytes) -> None:
        state = self.server.state
        raw = self.headers.get("X-Metadata")
        if not raw:
            self._json(400, {"error": "METADATA_NOT_PROVIDED"})
            return
        metadata = json.loads(raw)
        session = self._session(metadata)
        if session is None:
            return
        if not state.files_editable:
            self._send(200, "text/plain", "Library files are not editable.")
            return
        if metadata.get("parentItemID") not in session["items"]:
            self._send(500)  # Zotero fails looking up the parent item
            return
        state.attachments.append((metadata, body))
        self._send(201)

    # -- Web API ----------------------------------------------------------------------------------
    def _web(self, method: str, path: str, body: bytes) -> None:
        state = self.server.state
        if self.headers.get("Zotero-API-Key") != state.api_key:
            self._send(403, "text/plain", "Forbidden")
            return
        if path == "/keys/current":
            self._json(200, {"userID": int(state.user_id), "access": {"user": {"library": True, "write": True}}})
            return
        if state.rate_limit_next > 0:
            state.rate_limit_next -= 1
            self._send(state.rate_limit_status, "text/plain", "Too Many Requests", state.rate_limit_headers)
            return
        if path.endswith("/collections") and method == "GET":
            self._json(200, state.collections)
            return
        if path.endswith("/items") and method == "POST":
            self._web_items(body)
            return
        if path.endswith("/file") and method == "POST":
            self._file(path.split("/")[-2], body)
            return
        self._send(404, "text/plain", "Not found")

    def _web_items(self, body: bytes) -> None:
        state = self.server.state
        if len(body) > state.max_body_bytes:
            self._send(413, "text/plain", "Request Entity Too Large")
            return
        items = json.loads(body)
        if len(items) > 50:
            self._send(413, "text/plain", "Only 50 objects can be written in a single request")
            return
        token = self.headers.get("Zotero-Write-Token")
        with state.lock:
            if token:
                if len(token) != 32:
                    self._send(400, "text/plain", "Invalid write token")
                    return
                if token in state.used_tokens:
                    self._send(412, "text/plain", "Write token already used")
                    return
                state.used_tokens.add(token)
            result: dict[str, dict[str, Any]] = {"successful": {}, "success": {}, "unchanged": {}, "failed": {}}
            for i, item in enumerate(items):
                if item.get("itemType") != "note" and not item.get("title"):
                    result["failed"][str(i)] = {"key": "", "code": 400, "message": "'title' is required"}
                    continue
                key = f"K{len(state.web_items):07d}"
                state.web_items.append({**item, "key": key})
                result["success"][str(i)] = key
                result["successful"][str(i)] = {"key": key, "version": 1, "data": {**item, "key": key}}
            drop = state.drop_web_once
            state.drop_web_once = False
        if drop:
            self._hang_up()
            return
        self._json(200, result, {"Last-Modified-Version": str(len(state.web_items))})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ZoteroState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeZotero(LoopbackServer):
    """Start with `with FakeZotero() as z:`; `z.url` is the base URL, `z.state` what it holds and received."""

    def __init__(self, state: ZoteroState | None = None) -> None:
        self.state = state or ZoteroState()
        super().__init__(_Server(self.state))
