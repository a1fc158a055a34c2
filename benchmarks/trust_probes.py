"""Issue #16's hostile-input probes against a source tree: tracebacks, secrets in output/settings/library,
silent resets, and the time Ctrl-C takes to stop a search. Results go to benchmarks/RESULTS.md §2.2.

    python benchmarks/trust_probes.py --tree .                 # this checkout
    git worktree add /tmp/before <commit>
    python benchmarks/trust_probes.py --tree /tmp/before       # the same probes on an older commit

Each probe runs `python -m pasa_desktop.cli.main …` in a subprocess with the tree as its working
directory (so that tree's code is imported) and its own PASA_DATA_DIR. Misbehaving servers are
loopback servers in this process (tests/pasa_desktop/faults/server.py). `--index` enables the probes that run a
real search (a failing Selector server; Ctrl-C), which need the offline index.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pasa_desktop.faults.conftest import read_only  # noqa: E402
from tests.pasa_desktop.faults.server import RawServer, Reply, Seen  # noqa: E402

SECRETS = ("hunter2secret", "sk-live-4f9a8b7c6d5e4f3a2b1c", "zk-probe-secret-1", "Bearer sk-echo")
HUGE = "99999999999999999999"
HOSTILE = "Evil \x1b]0;pwned\x07 title \x1b[2J"


class Tree:
    def __init__(self, root: Path, python: str) -> None:
        self.root = root
        self.python = python

    def pasa(
        self,
        data: Path,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 300,
        prefix: list[str] | None = None,
    ) -> tuple[int, str, str]:
        full_env = {
            **os.environ,
            "PASA_DATA_DIR": str(data),
            "PYTHONPATH": str(self.root),
            "COLUMNS": "250",
            **(env or {}),
        }
        proc = subprocess.run(
            [*(prefix or []), self.python, "-m", "pasa_desktop.cli.main", *args],
            cwd=self.root,
            env=full_env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def add_openai_profile(self, data: Path, name: str, base_url: str, *options: str) -> tuple[int, str, str]:
        """`pasa models add NAME --kind openai --base-url URL [options]` in that data folder."""
        return self.pasa(data, "models", "add", name, "--kind", "openai", "--base-url", base_url, *options)

    def seed_library(self, data: Path) -> None:
        """Two runs and a paper with escape sequences in its title, written with this tree's own code."""
        code = (
            "from engine.events import FoundBy, PapersFound, SearchFinished, SearchStatus\n"
            "from engine.papers import Paper\n"
            "from pasa_desktop.library import open_library\n"
            "from pasa_desktop.settings import load_settings\n"
            "lib = open_library(load_settings().library_path())\n"
            "for q in ('first search', 'second search'):\n"
            "    run = lib.create_run(q, {})\n"
            f"    p = Paper(id='t:1', title={HOSTILE!r}, abstract='coded computation', authors=('Ada Lovelace',), year=2020)\n"
            "    lib.record(run, PapersFound((p,), (FoundBy('query', query=q, rank=1),)))\n"
            "    lib.record(run, SearchFinished(SearchStatus.DONE, seconds=1.0))\n"
            # Accepted: in the library's own list whichever papers a tree's `library search` shows.
            "lib.set_decision(1, True)\n"
            "lib.close()\n"
        )
        env = {**os.environ, "PASA_DATA_DIR": str(data), "PYTHONPATH": str(self.root)}
        subprocess.run([self.python, "-c", code], cwd=self.root, env=env, check=True, capture_output=True)


def _secret_in(*texts: str) -> bool:
    return any(s in t for s in SECRETS for t in texts)


def _library_text(data: Path) -> str:
    path = data / "library.sqlite"
    if not path.exists():
        return ""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    except sqlite3.Error:
        return ""


def _row(probe: str, code: int, out: str, err: str, note: str, *, secret: bool | None = None) -> dict[str, object]:
    return {
        "probe": probe,
        "exit": code,
        "traceback": "Traceback" in err or "Traceback" in out,
        "secret": _secret_in(out, err) if secret is None else secret,
        "raw_escape": "\x1b" in out,
        "note": note,
    }


def probes(tree: Tree, work: Path, with_index: bool) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    n = 0

    def fresh(seed: bool = True) -> Path:
        nonlocal n
        n += 1
        data = work / f"d{n}"
        data.mkdir()
        if seed:
            tree.seed_library(data)
        return data

    # -- numbers --------------------------------------------------------------------------------
    for argv in (
        ["history", "--limit", HUGE],
        ["history", "--limit", "0"],
        ["show", HUGE],
        ["library", "show", HUGE],
        ["library", "search", "--year", HUGE],
        ["export", "-o", "-", "--run", HUGE],
        ["library", "rate", "1", HUGE],
    ):
        code, out, err = tree.pasa(fresh(), *argv)
        first = (err.strip().splitlines() or out.strip().splitlines() or [""])[-1][:90]
        rows.append(_row("pasa " + " ".join(argv).replace(HUGE, "1e20"), code, out, err, first))

    # -- settings -------------------------------------------------------------------------------
    data = fresh()
    (data / "settings.json").write_text(
        json.dumps({"agent": {"max_seconds": -3}, "profiles": [{"name": "big", "kind": "gguf", "path": "/m.gguf"}]})
    )
    code, out, err = tree.pasa(data, "models", "list")
    kept = "big" in out
    moved = sorted(p.name for p in data.glob("settings*"))
    rows.append(
        _row(
            "invalid value, `models list`",
            code,
            out,
            err,
            f"profile kept: {kept}; files: {', '.join(moved)}; said: {'settings' in err}",
        )
    )

    data = fresh()
    (data / "settings.json").write_text("{damaged")
    code, out, err = tree.pasa(data, "history")
    moved = sorted(p.name for p in data.glob("settings*"))
    rows.append(
        _row("damaged settings.json, `history`", code, out, err, f"files: {', '.join(moved)}; said: {'damaged' in err}")
    )
    for _ in range(2):
        (data / "settings.json").write_text("{damaged again")
        tree.pasa(data, "models", "add", "x", "--kind", "gguf", "--path", "/x.gguf")
    moved = sorted(p.name for p in data.glob("settings*"))
    rows.append(_row("damaged twice, then `models add` twice", 0, "", "", f"files: {', '.join(moved)}"))

    data = fresh()
    (data / "settings.json").mkdir()
    code, out, err = tree.pasa(data, "history")
    rows.append(
        _row("settings.json is a folder, `history`", code, out, err, (err.strip().splitlines() or [""])[-1][:90])
    )

    data = fresh(seed=False)
    tree.pasa(data, "models", "add", "x", "--kind", "gguf", "--path", "/x.gguf")
    tree.pasa(data, "history")
    modes = {
        p.name: oct(p.stat().st_mode & 0o777) for p in [data / "settings.json", data / "library.sqlite"] if p.exists()
    }
    rows.append(_row("modes of created files", 0, "", "", ", ".join(f"{k} {v}" for k, v in modes.items())))

    # -- the library file -------------------------------------------------------------------------
    data = fresh()
    tree.pasa(data, "history")  # the day's backup, where the tree takes one
    lib = data / "library.sqlite"
    raw = lib.read_bytes()
    lib.write_bytes(raw[: len(raw) // 2])
    for side in ("-wal", "-shm"):
        Path(f"{lib}{side}").unlink(missing_ok=True)
    code, out, err = tree.pasa(data, "history")
    rows.append(
        _row("library.sqlite cut in half, `history`", code, out, err, f"restore offered: {'library restore' in err}")
    )
    code, out, err = tree.pasa(data, "library", "restore")
    _code2, out2, err2 = tree.pasa(data, "history")
    rows.append(
        _row(
            "then `library restore`, `history`",
            code,
            out + out2,
            err + err2,
            f"restored: {code == 0 and 'second search' in out2}",
        )
    )

    # -- a read-only data folder (as root: run without root's file powers, as the test does) -------
    data = fresh()
    tree.pasa(data, "history")  # as a user would have it: settled, the day's backup taken
    with read_only(data) as prefix:
        for argv in (
            ["history"],
            ["show", "1"],
            ["export", "-o", "-", "--run", "1", "--no-complete"],
            ["library", "search", "coded"],
            ["library", "check"],
        ):
            code, out, err = tree.pasa(data, *argv, prefix=prefix)
            last = ((err or out).strip().splitlines() or [""])[-1][:90]
            rows.append(_row(f"read-only data folder, `{' '.join(argv)}`", code, out, err, last))

    # -- terminal -------------------------------------------------------------------------------
    data = fresh()
    for argv in (["library", "show", "1"], ["library", "search"], ["history"]):
        code, out, err = tree.pasa(data, *argv)
        escaped = "\x1b" in out
        rows.append(_row(f"hostile title, `{' '.join(argv)}`", code, out, err, f"raw ESC in output: {escaped}"))

    # -- secrets --------------------------------------------------------------------------------
    data = fresh()
    code, out, err = tree.add_openai_profile(
        data, "srv", "http://h/v1", "--api-key-env", "sk-live-4f9a8b7c6d5e4f3a2b1c"
    )
    settings_text = (data / "settings.json").read_text() if (data / "settings.json").exists() else ""
    rows.append(
        _row(
            "`models add --api-key-env sk-live-…`",
            code,
            out,
            err,
            f"saved: {'sk-live' in settings_text}",
            secret=_secret_in(out, err, settings_text),
        )
    )
    tree.add_openai_profile(data, "creds", "http://alice:hunter2secret@gpu-box:8000/v1")
    for argv in (["models", "list"], ["models", "list", "--json"]):
        code, out, err = tree.pasa(data, *argv)
        rows.append(_row(f"URL with credentials, `{' '.join(argv)}`", code, out, err, ""))

    # -- model servers (through `models check`) -------------------------------------------------
    for name, reply in (
        ("random bytes", Reply(200, os.urandom(400))),
        ('{"choices": "not a list"}', Reply(200, {"choices": "not a list"})),
        ("429, Retry-After 1, forever", Reply(429, {"error": "slow down"}, {"Retry-After": "1"})),
    ):
        with RawServer(lambda _r, reply=reply: reply) as server:  # type: ignore[misc]
            data = fresh(seed=False)
            tree.add_openai_profile(data, "srv", f"{server.url}/v1", "--model", "m")
            code, out, err = tree.pasa(data, "models", "check", "srv", timeout=120)
        text = (out + err).replace("\n", " ")
        note = "blames logprobs" if "logprobs" in text and "429" in name else ""
        rows.append(_row(f"model server: {name}, `models check`", code, out, err, note or text.strip()[-90:]))

    # -- Zotero Web API --------------------------------------------------------------------------
    for name, body in (("garbage", b"\xff\xfe\x00garbage"), ("{}", b"{}")):

        def script(r: Seen, body: bytes = body) -> Reply:
            return Reply(200, body) if r.path.endswith("/items") else Reply(200, [])

        with RawServer(script) as server:
            data = fresh()
            env = {"ZOTERO_API_KEY": "zk-probe-secret-1", "ZOTERO_USER_ID": "1", "PASA_ZOTERO_API_URL": server.url}
            code, out, err = tree.pasa(data, "zotero", "push", "--web", "--paper", "1", env=env)
        rows.append(
            _row(
                f"Zotero Web API answers {name}, `zotero push --web`",
                code,
                out,
                err,
                (out + err).strip().splitlines()[-1][:90] if (out + err).strip() else "",
            )
        )

    if with_index:
        rows.extend(_search_probes(tree, work))
    return rows


def _search_probes(tree: Tree, work: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    index = os.environ.get("PASA_INDEX", "/work/index/index.sqlite")

    def echo(r: Seen) -> Reply:  # a server that echoes the request's headers in its error
        return Reply(500, {"error": f"bad request, headers were {r.headers}"})

    with RawServer(echo) as server:
        data = work / "search-fail"
        data.mkdir()
        (data / "settings.json").write_text(json.dumps({"paths": {"index": index}}))
        url = server.url.replace("http://", "http://alice:hunter2secret@") + "/v1"
        tree.add_openai_profile(data, "srv", url, "--model", "m", "--api-key-env", "PROBE_KEY")
        code, out, err = tree.pasa(
            data,
            "search",
            "coded computation against stragglers in distributed training",
            "--crawler-model", "srv", "--selector-model", "srv", "--json", "--max-seconds", "60",
            env={"PROBE_KEY": "sk-echo-abcdefghijklmnop"},
            timeout=400,
        )  # fmt: skip
    stored = _library_text(data)
    status = ""
    try:
        status = str(json.loads(out)["status"])
    except (ValueError, KeyError, TypeError):
        status = "(no JSON)"
    rows.append(
        _row(
            "search, model server answers 500 echoing headers",
            code,
            out,
            err,
            f"run status {status}; secret in library: {_secret_in(stored)}",
            secret=_secret_in(out, err, stored),
        )
    )
    # A run id past SQLite's integers (the check needs an index: without one the search stops earlier).
    data = work / "resume-huge"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"paths": {"index": index}}))
    code, out, err = tree.pasa(data, "search", "--resume", HUGE)
    rows.append(_row("pasa search --resume 1e20", code, out, err, (err.strip().splitlines() or [""])[-1][:90]))
    rows.append(_ctrl_c(tree, work, index))
    return rows


def _ctrl_c(tree: Tree, work: Path, index: str) -> dict[str, object]:
    data = work / "ctrl-c"
    data.mkdir()
    (data / "settings.json").write_text(json.dumps({"paths": {"index": index}}))
    env = {**os.environ, "PASA_DATA_DIR": str(data), "PYTHONPATH": str(tree.root)}
    proc = subprocess.Popen(
        [tree.python, "-m", "pasa_desktop.cli.main", "search", "coded computation against stragglers", "--json",
         "--selector-model", "embedded"],
        cwd=tree.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(float(os.environ.get("PROBE_CTRL_C_AFTER_S", "25")))
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    took = time.monotonic() - start
    return _row(
        "Ctrl-C during scoring (embedded Selector)",
        proc.returncode,
        out.decode(),
        err.decode(),
        f"stopped {took:.2f} s after SIGINT",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="source tree to probe")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--index", action="store_true", help="also the probes that run a real search")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()
    tree = Tree(args.tree.resolve(), args.python)
    with tempfile.TemporaryDirectory(prefix="pasa-probes-") as tmp:
        rows = probes(tree, Path(tmp), args.index)
    print("| probe | exit | traceback | secret shown/stored | raw ESC | what happened |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        note = str(r["note"]).replace("|", "\\|").replace("\x1b", "\\x1b")
        print(
            f"| {r['probe']} | {r['exit']} | {'yes' if r['traceback'] else 'no'} | {'yes' if r['secret'] else 'no'} | {'yes' if r['raw_escape'] else 'no'} | {note} |"
        )
    print(
        f"\ntracebacks: {sum(bool(r['traceback']) for r in rows)}, secrets: {sum(bool(r['secret']) for r in rows)}, "
        f"raw escapes: {sum(bool(r['raw_escape']) for r in rows)} in {len(rows)} probes"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
