"""Client for the Zotero Web API (api.zotero.org, version 3): creating items in batches of ≤ 50.

Every batch carries a `Zotero-Write-Token`; a retry after a lost response reuses it, and the server's
412 ("write token already used") then means the batch did arrive — so nothing is created twice.
429 and 503 are retried after `Retry-After` (seconds or an HTTP date) or `Backoff`; 413 splits the batch
in halves. Failures go through engine.http_errors (its retry rule and its boundary) and leave as
ZoteroError / ZoteroUnavailable with redacted messages.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from engine.http_errors import (
    HttpFault,
    Kind,
    RetryPolicy,
    http_boundary,
    json_reply,
    raise_for_status,
    retrying,
    server_wait_s,
)
from engine.redact import redact_url
from pasa_desktop.zotero.errors import ZoteroError, ZoteroUnavailable

DEFAULT_URL = "https://api.zotero.org"
MAX_BATCH = 50
MAX_WAIT_S = 300.0
OK = frozenset({200, 201, 204})
_URL_HINT = "check PASA_ZOTERO_API_URL (default https://api.zotero.org)"
# Where Settings → Zotero keeps the key and the library it writes to: the OS keyring (service
# "pasa-desktop", like the sources' keys). The library ("users/123" or "groups/456") sits beside the key
# because one is useless without the other; neither goes into the settings file.
KEY_NAME = "zotero"
LIBRARY_NAME = "zotero_library"


def parse_library(text: str) -> tuple[str | None, str | None]:
    """(user id, group id) from "users/123", "groups/456" or a bare user id; (None, None) when empty."""
    value = text.strip().strip("/")
    kind, _, ident = value.rpartition("/")
    if not ident:
        return None, None
    if kind.endswith("groups"):
        return None, ident
    return ident, None


def library_text(user_id: str | None, group_id: str | None) -> str:
    """How the keyring holds a library: "users/<id>" or "groups/<id>" ("" when neither)."""
    if group_id:
        return f"groups/{group_id}"
    return f"users/{user_id}" if user_id else ""


def saved_credentials(lookup: Callable[[str], str | None] | None = None) -> tuple[str, str | None, str | None]:
    """(API key, user id, group id): ZOTERO_API_KEY / ZOTERO_USER_ID / ZOTERO_GROUP_ID when set, else what
    Settings → Zotero saved in the OS keyring. `lookup` reads a keyring name (tests pass a dict's get)."""
    import os

    def stored(name: str) -> str:
        if lookup is not None:
            return (lookup(name) or "").strip()
        try:
            import keyring  # a broken keyring backend must not break the command

            from engine.sources.keys import KEYRING_SERVICE

            return (keyring.get_password(KEYRING_SERVICE, name) or "").strip()
        except Exception:
            return ""

    key = os.environ.get("ZOTERO_API_KEY", "").strip() or stored(KEY_NAME)
    user, group = os.environ.get("ZOTERO_USER_ID") or None, os.environ.get("ZOTERO_GROUP_ID") or None
    if not user and not group:
        user, group = parse_library(stored(LIBRARY_NAME))
    return key, user, group


@dataclass
class WriteResult:
    created: dict[int, str] = field(default_factory=dict)  # index in the request → item key
    failed: dict[int, str] = field(default_factory=dict)  # index → message
    unknown: list[int] = field(default_factory=list)  # saved by an earlier attempt (412): key not known


class WebApiClient:
    def __init__(
        self,
        api_key: str,
        *,
        user_id: str | None = None,
        group_id: str | None = None,
        base_url: str = DEFAULT_URL,
        client: httpx.Client | None = None,
        timeout_s: float = 60.0,
        max_attempts: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise ZoteroError("No Zotero API key", hint="save one in Settings → Zotero, or set ZOTERO_API_KEY "
                              "(zotero.org/settings/keys)")
        if bool(user_id) == bool(group_id):
            raise ZoteroError("Give exactly one of a Zotero user id or group id",
                              hint="choose the library in Settings → Zotero, or set ZOTERO_USER_ID")
        self.prefix = f"/users/{user_id}" if user_id else f"/groups/{group_id}"
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._client = client or httpx.Client(timeout=timeout_s)
        self._owns_client = client is None
        self._max_attempts = max_attempts
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> WebApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self, token: str | None = None) -> dict[str, str]:
        headers = {"Zotero-API-Key": self._key, "Zotero-API-Version": "3"}
        if token:
            headers["Zotero-Write-Token"] = token
        return headers

    def _policy(self) -> RetryPolicy:
        """Up to `max_attempts` in all: rate limits and 503s wait what the server asks (Retry-After or
        Backoff, capped at MAX_WAIT_S rather than refused: a late push beats a failed one); network
        failures back off 1, 2, 4 … s. A retried write reuses its token, so it is never applied twice."""
        again = self._max_attempts - 1
        kinds: tuple[Kind, ...] = ("offline", "timeout", "dropped", "rate_limited", "unavailable")
        return RetryPolicy(
            {kind: again for kind in kinds},
            total=again,
            backoff_s=1.0,
            max_backoff_s=MAX_WAIT_S,
            jitter=False,
            max_retry_after_s=MAX_WAIT_S,
            cap_retry_after=True,
        )

    def _send(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        accept: frozenset[int] = OK,
        in_library: bool = True,
    ) -> httpx.Response:
        """One logical request, retried on 429/503/network errors with the same write token; a status
        outside `accept` (after the retries) is a ZoteroError saying what the server answered."""
        url = self.base_url + (self.prefix if in_library else "") + path
        with http_boundary(self._error, url=url):
            response = retrying(
                lambda: self._client.request(
                    method, url, headers={**self._headers(token), **(headers or {})}, json=json, data=data
                ),
                self._policy(),
                accept=accept,
                sleep=self._sleep,
                url=url,
            )
        if "Backoff" in response.headers:
            # The server asks for a pause before the next request even when this one worked.
            self._sleep(min(MAX_WAIT_S, server_wait_s(response.headers) or 0.0))
        return response

    def _error(self, fault: HttpFault, what: str = "") -> ZoteroError:
        """The Web API's column of the translation table."""
        problem, shown = fault.problem, redact_url(self.base_url)
        if problem.kind in ("offline", "timeout", "dropped", "transport"):
            return ZoteroUnavailable(f"Zotero Web API at {shown} unreachable: {fault.describe()}")
        if problem.kind in ("rate_limited", "unavailable"):
            return ZoteroError(
                f"Zotero Web API kept asking to slow down after {fault.retried + 1} attempts", hint="try again later"
            )
        if problem.kind == "malformed":
            return ZoteroError(f"The Zotero Web API at {shown} answered {what} with {problem.detail}", hint=_URL_HINT)
        if problem.status == 403:
            return ZoteroError(f"The Zotero API key may not write here ({problem.detail})", hint="give the key write access")
        if problem.status == 404:
            return ZoteroError(f"Zotero library {self.prefix} not found", hint="check ZOTERO_USER_ID / group id")
        return ZoteroError(f"Zotero Web API error HTTP {problem.status}: {problem.detail}")

    def _json(self, response: httpx.Response, shape: type, what: str) -> Any:
        """The reply's JSON when it has the expected top-level shape, else a ZoteroError saying so."""
        with http_boundary(lambda fault: self._error(fault, what)):
            return json_reply(response.content, shape, url=self.base_url)

    def key_info(self) -> dict[str, Any]:
        """`GET /keys/current`: whether the key works and for whom."""
        response = self._send("GET", "/keys/current", in_library=False)
        data: dict[str, Any] = self._json(response, dict, "the key check")
        return data

    def create_items(self, items: list[dict[str, Any]]) -> WriteResult:
        """Create items in batches of ≤ 50; indices in the result refer to `items`."""
        result = WriteResult()
        for start in range(0, len(items), MAX_BATCH):
            self._create_batch(items, list(range(start, min(start + MAX_BATCH, len(items)))), result)
        return result

    def _create_batch(self, items: list[dict[str, Any]], indices: list[int], result: WriteResult) -> None:
        token = uuid.uuid4().hex  # 32 hex characters, as the API requires
        batch = [items[i] for i in indices]
        response = self._send("POST", "/items", token=token, json=batch, accept=OK | {412, 413})
        if response.status_code == 412:
            # "Write token already used": an earlier attempt of this very batch was applied.
            result.unknown.extend(indices)
            return
        if response.status_code == 413:
            if len(indices) == 1:
                result.failed[indices[0]] = "item too large for the Zotero Web API"
                return
            half = len(indices) // 2
            self._create_batch(items, indices[:half], result)
            self._create_batch(items, indices[half:], result)
            return
        data = self._json(response, dict, "the item upload")
        parts = [data.get(name) for name in ("success", "unchanged", "failed")]
        if all(part is None for part in parts) or not all(part is None or isinstance(part, dict) for part in parts):
            # A write reply always says, for each item, whether it was saved: "{}" or garbage says nothing.
            raise ZoteroError(
                f"The Zotero Web API at {redact_url(self.base_url)} did not say which items it saved "
                f"({len(indices)} sent; their state is unknown)",
                hint="check in Zotero, then push again (items already there are reported, not duplicated)",
            )
        success, unchanged, failed = (part or {} for part in parts)
        try:
            for pos, key in {**success, **unchanged}.items():
                result.created[indices[int(pos)]] = str(key)
            for pos, failure in failed.items():
                message = failure.get("message", "") if isinstance(failure, dict) else str(failure)
                code = failure.get("code", "") if isinstance(failure, dict) else ""
                result.failed[indices[int(pos)]] = f"{code} {message}".strip()
        except (ValueError, IndexError) as exc:
            raise ZoteroError(
                f"The Zotero Web API at {redact_url(self.base_url)} answered the item upload with positions "
                "outside the request"
            ) from exc
        for pos, index in enumerate(indices):  # an item the reply does not mention was not confirmed
            if index not in result.created and index not in result.failed:
                result.failed[index] = f"item {pos} of the batch: the server did not confirm it"

    def collection_key(self, name: str) -> str:
        """The key of the collection called `name` (or with key `name`); raises if none or several."""
        response = self._send("GET", "/collections?limit=100")
        matches = []
        for c in self._json(response, list, "the collection list"):
            data = c.get("data", {}) if isinstance(c, dict) else None
            if not isinstance(c, dict) or not isinstance(data, dict):
                raise ZoteroError("The Zotero Web API's collection list holds something that is not a collection")
            if name in (c.get("key"), data.get("key"), data.get("name")):
                matches.append(str(c.get("key") or data.get("key")))
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise ZoteroError(f"Several Zotero collections are called {name!r}: pass its key")
        raise ZoteroError(f"No Zotero collection {name!r} in {self.prefix}")

    def upload_file(self, item_key: str, file: Path, *, content_type: str = "application/pdf") -> bool:
        """Upload the file of an attachment item (Zotero's 3-step file upload). False: it was already there."""
        content = Path(file).read_bytes()
        form = {
            "md5": hashlib.md5(content, usedforsecurity=False).hexdigest(),  # the API's content checksum
            "filename": Path(file).name,
            "filesize": str(len(content)),
            "mtime": str(int(Path(file).stat().st_mtime * 1000)),
        }
        # If-None-Match: * — only when the item has no file yet, so a retry never replaces anything.
        response = self._send(
            "POST", f"/items/{item_key}/file", data=form, headers={"If-None-Match": "*"}, accept=OK | {412, 413}
        )
        if response.status_code == 412:
            return False
        if response.status_code == 413:
            raise ZoteroError(f"{Path(file).name} would exceed the Zotero storage quota", hint="zotero.org/storage")
        auth = self._json(response, dict, "the file upload request")
        if auth.get("exists"):
            return False
        if not all(isinstance(auth.get(k), str) for k in ("url", "prefix", "suffix", "contentType", "uploadKey")):
            raise ZoteroError("The Zotero Web API's upload authorisation lacks its url, prefix, suffix or uploadKey")
        body = auth["prefix"].encode() + content + auth["suffix"].encode()
        with http_boundary(lambda fault: _storage_error(fault, Path(file).name), url=auth["url"]):
            stored = self._client.post(auth["url"], content=body, headers={"Content-Type": auth["contentType"]})
            raise_for_status(stored, OK, url=auth["url"])
        self._send("POST", f"/items/{item_key}/file", data={"upload": auth["uploadKey"]}, headers={"If-None-Match": "*"})
        return True


def _storage_error(fault: HttpFault, name: str) -> ZoteroError:
    """Zotero's file storage (an upload URL the Web API handed out) in the translation table."""
    if fault.problem.status is None:
        return ZoteroUnavailable(f"Upload of {name} to Zotero storage failed: {fault.describe()}")
    return ZoteroError(f"Zotero storage refused {name} (HTTP {fault.problem.status})")
