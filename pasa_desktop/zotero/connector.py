"""Client for the Zotero desktop connector server (127.0.0.1:23119), as Zotero's server_connector.js defines it.

- `GET /connector/ping` → 200 "Zotero is running".
- `POST /connector/saveItems {sessionID, uri, items}` → 201; 409 `{"error": "SESSION_EXISTS"}` when the
  session id was used before; 500 `{"libraryEditable": false}` when the selected library is read-only.
- `POST /connector/updateSession {sessionID, target, tags}` → 200; 400 SESSION_NOT_FOUND / COLLECTION_NOT_FOUND.
- `POST /connector/saveAttachment` with `X-Metadata: {sessionID, parentItemID, title, url}` and the bytes
  → 201; 200 "Library files are not editable."; 400 SESSION_NOT_FOUND.
- `POST /connector/getSelectedCollection` → the editable targets (`L1`, `C12`, …) with names and levels.

Nothing is sent twice: a retried saveItems reuses its session id, so a save that did arrive answers 409
and is counted as done.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from engine.http_errors import HttpFault, http_boundary, json_reply, one_line
from engine.redact import redact_url
from pasa_desktop.zotero.errors import ZoteroError, ZoteroUnavailable

DEFAULT_URL = "http://127.0.0.1:23119"
API_VERSION = "3"


@dataclass(frozen=True, slots=True)
class Target:
    id: str  # "L1" (a library) or "C12" (a collection)
    name: str
    level: int
    path: str  # "My Library/Thesis/Chapter 2"


@dataclass(frozen=True, slots=True)
class Saved:
    session_id: str
    count: int
    already_saved: bool = False  # a retry found the session done (409): nothing was sent twice


class ConnectorClient:
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 30.0,
        retries: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout_s)
        self._owns_client = client is None
        self._retries = retries
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ConnectorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any answer is returned (the connector's statuses are its protocol); no answer is ZoteroUnavailable."""
        headers = {"X-Zotero-Connector-API-Version": API_VERSION, **kwargs.pop("headers", {})}
        with http_boundary(self._unavailable, url=self.base_url + path):
            return self._client.request(method, self.base_url + path, headers=headers, **kwargs)

    def _unavailable(self, fault: HttpFault) -> ZoteroUnavailable:
        """The connector's column of the translation table: every transport failure means Zotero is not there."""
        shown, kind = redact_url(self.base_url), fault.problem.kind
        if kind == "offline":
            return ZoteroUnavailable(
                f"Zotero is not reachable at {shown} (connection refused)",
                hint="start Zotero desktop (version 7 or later) and try again",
            )
        if kind == "timeout":
            return ZoteroUnavailable(f"Zotero at {shown} did not answer in time", hint="is Zotero busy?")
        return ZoteroUnavailable(f"Cannot talk to Zotero at {shown}: {fault.describe()}")

    def _post_json(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self._request("POST", path, json=body)

    @staticmethod
    def _error_code(response: httpx.Response) -> str:
        try:
            data = json_reply(response.content)
        except HttpFault:  # a plain-text error, as several endpoints give
            return one_line(response.text, 200)
        if isinstance(data, dict):
            if data.get("libraryEditable") is False:
                return "LIBRARY_NOT_EDITABLE"
            return str(data.get("error", "")) or json.dumps(data)[:200]
        return str(data)[:200]

    # -- endpoints ----------------------------------------------------------------------------------
    def ping(self) -> str:
        """Zotero's answer when it is running; raises ZoteroUnavailable otherwise."""
        response = self._request("GET", "/connector/ping")
        if response.status_code != 200:
            raise ZoteroError(
                f"Something answers at {self.base_url} but it is not Zotero (HTTP {response.status_code})"
            )
        return "Zotero is running" if "Zotero is running" in response.text else response.text.strip()[:200]

    def targets(self) -> list[Target]:
        response = self._post_json("/connector/getSelectedCollection", {})
        if response.status_code != 200:
            raise ZoteroError(f"Zotero did not list its collections (HTTP {response.status_code})")
        out: list[Target] = []
        stack: list[str] = []
        try:
            data = json_reply(response.content, dict)
            for t in data.get("targets", []):
                level = max(0, int(t.get("level", 0)))
                del stack[level:]
                stack.append(str(t.get("name", "")))
                out.append(Target(id=str(t["id"]), name=str(t.get("name", "")), level=level, path="/".join(stack)))
        except (HttpFault, ValueError, TypeError, KeyError, AttributeError) as exc:  # not Zotero's reply shape
            raise ZoteroError(
                f"Something at {self.base_url} answered the collection list with a reply Zotero does not give"
            ) from exc
        return out

    def resolve_target(self, wanted: str) -> Target:
        """A target by id ("C12"), by path ("My Library/Thesis") or by a unique collection name."""
        targets = self.targets()
        for t in targets:
            if wanted in (t.id, t.path):
                return t
        by_tail = [t for t in targets if t.path.endswith("/" + wanted) or t.name == wanted]
        if len(by_tail) == 1:
            return by_tail[0]
        names = ", ".join(t.path for t in targets) or "none"
        if by_tail:
            raise ZoteroError(f"Several Zotero collections are called {wanted!r}: use a path ({names})")
        raise ZoteroError(f"No Zotero collection {wanted!r} (editable targets: {names})")

    def save_items(self, items: list[dict[str, Any]], *, uri: str, session_id: str | None = None) -> Saved:
        session_id = session_id or uuid.uuid4().hex
        body = {"sessionID": session_id, "uri": uri, "items": items}
        attempt = 0
        while True:
            try:
                response = self._post_json("/connector/saveItems", body)
            except ZoteroUnavailable:
                # The request may or may not have arrived; the same session id makes the retry safe.
                if attempt >= self._retries:
                    raise
                attempt += 1
                self._sleep(1.0)
                continue
            if response.status_code == 201:
                return Saved(session_id, len(items))
            code = self._error_code(response)
            if response.status_code == 409 and code == "SESSION_EXISTS":
                if attempt > 0:
                    return Saved(session_id, len(items), already_saved=True)
                raise ZoteroError("Zotero already has a save session with this id (nothing was sent twice)")
            if code == "LIBRARY_NOT_EDITABLE":
                raise ZoteroError(
                    "The library selected in Zotero is read-only",
                    hint="select My Library or an editable group library in Zotero's left pane",
                )
            if code == "CONNECTOR_VERSION_OUTDATED":
                raise ZoteroError("Zotero refused the connector API version", hint="update Zotero")
            raise ZoteroError(f"Zotero could not save the items (HTTP {response.status_code}: {code or 'no detail'})")

    def update_session(self, session_id: str, *, target: str | None = None, tags: list[str] | None = None) -> None:
        body: dict[str, Any] = {"sessionID": session_id}
        if target:
            body["target"] = target
        if tags:
            body["tags"] = ", ".join(tags)
        response = self._post_json("/connector/updateSession", body)
        if response.status_code == 200:
            return
        code = self._error_code(response)
        if code == "COLLECTION_NOT_FOUND":
            raise ZoteroError(f"Zotero has no collection {target!r}")
        if code == "SESSION_NOT_FOUND":
            raise ZoteroError("Zotero forgot the save session (it expires after a while); push again")
        raise ZoteroError(f"Zotero could not move the items (HTTP {response.status_code}: {code})")

    def save_attachment(
        self, session_id: str, parent_item_id: str, file: Path, *, title: str = "Full Text PDF", url: str = ""
    ) -> bool:
        """Upload a file for an item of this session; False when the library's files are read-only."""
        metadata = {"sessionID": session_id, "parentItemID": parent_item_id, "title": title, "url": url}
        response = self._request(
            "POST",
            "/connector/saveAttachment",
            content=Path(file).read_bytes(),
            headers={"Content-Type": "application/pdf", "X-Metadata": json.dumps(metadata)},
        )
        if response.status_code == 201:
            return True
        if response.status_code == 200:
            return False  # "Library files are not editable."
        code = self._error_code(response)
        if code == "SESSION_NOT_FOUND":
            raise ZoteroError("Zotero forgot the save session before the PDF arrived; push again")
        raise ZoteroError(f"Zotero refused the attachment {Path(file).name} (HTTP {response.status_code}: {code})")
