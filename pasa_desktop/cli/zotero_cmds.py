"""`pasa zotero ping` and `pasa zotero push`: papers into a running Zotero, or into zotero.org with a key."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from pasa_desktop.cli.library_cmds import open_user_library
from pasa_desktop.cli.main import row_id
from pasa_desktop.export import Selection
from pasa_desktop.settings import load_settings
from pasa_desktop.zotero import ConnectorClient, WebApiClient, push_connector, push_items, push_new, push_web
from pasa_desktop.zotero.connector import DEFAULT_URL


def _connector_url() -> str:
    return os.environ.get("PASA_ZOTERO_URL", DEFAULT_URL)


def _web_client() -> WebApiClient | None:
    from pasa_desktop.zotero.webapi import saved_credentials

    key, user_id, group_id = saved_credentials()  # the environment, else Settings → Zotero (OS keyring)
    if not key:
        return None
    return WebApiClient(
        key,
        user_id=user_id,
        group_id=group_id,
        base_url=os.environ.get("PASA_ZOTERO_API_URL", "https://api.zotero.org"),
    )


def _ping(args: argparse.Namespace) -> int:
    with ConnectorClient(_connector_url(), timeout_s=5.0) as client:
        print(f"{client.ping()} at {client.base_url}")
    return 0


def _push(args: argparse.Namespace) -> int:
    selection = Selection(
        run=args.run,
        selected_only=args.selected,
        collection=args.collection,
        tag=args.tag,
        paper_ids=tuple(args.paper),
        include_unkept=args.all,
        with_selected=load_settings().library.selected_join,
    )
    web = _web_client() if args.web else None
    if args.web and web is None:
        print("pasa: --web needs a Zotero key and library: save them in Settings → Zotero, or set "
              "ZOTERO_API_KEY and ZOTERO_USER_ID (or ZOTERO_GROUP_ID)", file=sys.stderr)
        return 2
    uri = f"pasa-desktop://run/{args.run}" if args.run is not None else "pasa-desktop://library"
    with open_user_library() as lib:
        items = push_items(lib, selection)
        if not items:
            print("Nothing to send: the selection is empty")
            return 0
        if web is not None:
            with web:
                report = push_new(
                    lib,
                    items,
                    f"web:{web.prefix}",
                    lambda fresh: push_web(web, fresh, target=args.target),
                    again=args.again,
                )
        else:
            with ConnectorClient(_connector_url()) as client:
                report = push_new(
                    lib,
                    items,
                    f"connector:{client.base_url}",
                    lambda fresh: push_connector(client, fresh, target=args.target, uri=uri),
                    again=args.again,
                )
    print(report.summary())
    for warning in report.warnings:
        print(f"  warning: {warning}")
    for failure in report.failed:
        print(f"  failed: {failure}")
    return 1 if report.failed else 0


def register(sub: Any) -> None:
    z = sub.add_parser("zotero", help="send papers to Zotero")
    cmds = z.add_subparsers(dest="zotero_command", metavar="ACTION", required=True)
    p = cmds.add_parser("ping", help="is Zotero desktop running and reachable?")
    p.set_defaults(handler=_ping)
    p = cmds.add_parser("push", help="send papers (with score/reason notes, tags and PDFs) to Zotero")
    p.add_argument("--run", type=row_id)
    p.add_argument("--selected", action="store_true", help="with --run: only papers the Selector selected")
    p.add_argument("--collection", help="library collection to send (id or path)")
    p.add_argument("--tag")
    p.add_argument("--paper", type=row_id, action="append", default=[])
    p.add_argument("--all", action="store_true", help="without --run: also papers searches found that nobody kept")
    p.add_argument("--target", help="Zotero collection to save into (name, path or id like C12)")
    p.add_argument("--web", action="store_true", help="use the Web API (ZOTERO_API_KEY, ZOTERO_USER_ID)")
    p.add_argument("--again", action="store_true", help="also send papers this destination already received")
    p.set_defaults(handler=_push)
