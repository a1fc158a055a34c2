"""`pasa train …`: build SFT data, run SFT / PPO / the local Selector, watch (attach to) a job."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from engine.errors import InputError
from pasa_desktop.cli.main import integer, number

DEFAULT_TRAIN_QUERIES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "queries" / "train.jsonl"


def register(sub: Any) -> None:
    train = sub.add_parser("train", help="prepare data, fine-tune and PPO-train the Crawler and Selector")
    tsub = train.add_subparsers(dest="train_command", metavar="TRAIN_COMMAND")

    data = tsub.add_parser("data", help="build SFT rows in PaSa's format (with counts and a preview)")
    data.add_argument("role", choices=["selector", "crawler", "preview"], help="what to build (or preview a file)")
    data.add_argument("--queries", type=Path, help="AutoScholarQuery-format query file with gold papers")
    data.add_argument("--decisions", type=Path, help="selector: JSONL export of library accept/reject decisions")
    data.add_argument("--index", type=Path, help="offline paper index (default: the app's)")
    data.add_argument("--out", type=Path, help="output JSONL (for preview: the file to read)")
    data.add_argument(
        "--negatives",
        type=integer(0, 10_000, what="--negatives"),
        default=4,
        help="selector: retrieved non-gold papers per query",
    )
    data.add_argument("--limit", type=integer(1, what="--limit"), help="use only the first N queries")
    data.add_argument("--show", type=integer(0, 1_000_000, what="--show"), default=5, help="rows to preview")
    data.set_defaults(handler=_data)

    for kind in ("sft", "ppo"):
        job = tsub.add_parser(kind, help=f"run a {kind.upper()} job described by a job.toml")
        job.add_argument("--config", type=Path, required=True, help="the job file (TOML)")
        job.add_argument("--smoke", action="store_true", help="2 steps on CPU: check the configuration")
        job.add_argument("--detach", action="store_true", help="start and return; watch later with `attach`")
        job.set_defaults(handler=_job, kind=kind)

    local = tsub.add_parser("local-selector", help="train a small cross-encoder Selector on this CPU (≤ 15 min)")
    local.add_argument("--queries", type=Path, default=DEFAULT_TRAIN_QUERIES, help="training queries with gold papers")
    local.add_argument("--index", type=Path, help="offline paper index (default: the app's)")
    local.add_argument("--out", type=Path, help="job directory (default: <data dir>/training/local-selector)")
    local.add_argument("--decisions", type=Path, help="also learn from a JSONL export of library decisions")
    local.add_argument(
        "--minutes", type=number(0.0, 7 * 24 * 60.0, above=True, what="--minutes"), default=15.0, help="time budget"
    )
    local.add_argument("--smoke", action="store_true", help="2 steps on a few queries")
    local.add_argument("--register", metavar="NAME", help="add the result to the settings as Selector profile NAME")
    local.set_defaults(handler=_local_selector)

    attach = tsub.add_parser("attach", help="follow a running or finished job (local or remote)")
    attach.add_argument("job_dir", type=Path)
    attach.set_defaults(handler=_attach)

    for action in ("pause", "resume", "cancel"):
        ctl = tsub.add_parser(action, help=f"{action} a running job")
        ctl.add_argument("job_dir", type=Path)
        ctl.set_defaults(handler=_control, action=action)

    train.set_defaults(handler=lambda args: (train.print_help(), 2)[1])


def _index_path(arg: Path | None) -> Path:
    if arg is not None:
        return arg
    from pasa_desktop.settings import load_settings

    return load_settings().index_path()


def _data(args: argparse.Namespace) -> int:
    from training.data import IndexRetriever, build_crawler_data, build_selector_data, preview

    if args.role == "preview":
        if args.out is None:
            raise InputError("preview needs --out FILE (the SFT file to read)")
        table, report = preview(args.out, args.show)
    else:
        if args.out is None:
            raise InputError(f"`pasa train data {args.role}` needs --out FILE")
        if args.queries is None and not (args.role == "selector" and args.decisions):
            raise InputError("give --queries (and for the selector optionally --decisions)")
        retriever = IndexRetriever(_index_path(args.index)) if args.queries else None
        if args.role == "selector":
            report = build_selector_data(
                args.queries, args.out, retriever=retriever, decisions=args.decisions,
                negatives_per_query=args.negatives, limit=args.limit,
            )
        else:
            assert retriever is not None
            report = build_crawler_data(args.queries, args.out, retriever=retriever, limit=args.limit)
        table, _ = preview(args.out, args.show)
    print(report.summary())
    for message in report.skipped[:10]:
        print(f"  skipped: {message}", file=sys.stderr)
    for row in table:
        prompt = row["prompt"].replace("\n", " ")
        print(f"- [{row['kind']}] {prompt[:90]}…\n    → {row['reply'][:90]!r}")
    return 0


def _follow(job_dir: Path, *, quiet_steps: bool = False) -> int:
    """Print metric lines as they arrive until the job reaches a final state; Ctrl-C detaches."""
    from training.launch import launcher_for
    from training.metrics import FINAL_STATES, METRICS_FILE, MetricsTail

    launcher = launcher_for(job_dir)
    tail = MetricsTail(job_dir / METRICS_FILE)
    last_error = ""
    try:
        while True:
            result = launcher.poll(job_dir)
            for row in tail.read_new():
                if "event" in row:
                    print(f"[{row['event']}] {row.get('message', '')}")
                elif not quiet_steps:
                    keys = ("step", "loss", "reward", "kl", "value_loss", "lr", "tokens_per_s", "gpu_mem")
                    print("  ".join(f"{k}={row[k]}" for k in keys if k in row))
            if result.connection_error and result.connection_error != last_error:
                print(f"warning: {result.message}", file=sys.stderr)
            last_error = result.connection_error
            if result.state in FINAL_STATES:
                print(f"{result.state}: {result.message}")
                return 0 if result.state == "finished" else 1
            time.sleep(1.0)
    except KeyboardInterrupt:
        print(f"\ndetached; the job keeps running. Re-attach: pasa train attach {job_dir}", file=sys.stderr)
        return 130


def _job(args: argparse.Namespace) -> int:
    from training.config import load_config
    from training.launch import start_job

    config = load_config(args.config)
    if config.job.kind != args.kind:
        raise InputError(f"{args.config} describes a {config.job.kind} job, not {args.kind}")
    if args.smoke:
        config = config.model_copy(update={"job": config.job.model_copy(update={"smoke": True})})
    config.validate_for_run()
    job_dir = start_job(config)
    print(f"started {config.job.kind} job in {job_dir}")
    if args.detach:
        print(f"watch it with: pasa train attach {job_dir}")
        return 0
    return _follow(job_dir)


def _local_selector(args: argparse.Namespace) -> int:
    from pasa_desktop.settings import data_dir
    from training.config import parse_config
    from training.launch import LocalLauncher
    from training.metrics import read_status

    if not args.queries.is_file():
        raise InputError(f"training queries not found: {args.queries}", hint="pass --queries FILE")
    out = args.out or data_dir() / "training" / "local-selector"
    raw: dict[str, Any] = {
        "job": {"kind": "local-selector", "output_dir": str(out), "smoke": bool(args.smoke)},
        "data": {"queries": str(args.queries.resolve()), "index": str(_index_path(args.index).resolve())},
        "local_selector": {"max_minutes": args.minutes},
    }
    if args.decisions:
        raw["data"]["decisions"] = str(args.decisions.resolve())
    config = parse_config(raw)
    config.validate_for_run()
    job_dir = LocalLauncher().start(config)
    print(f"training a local Selector in {job_dir} (budget {args.minutes:g} min)")
    code = _follow(job_dir, quiet_steps=True)
    checkpoint = str(read_status(job_dir).get("checkpoint", ""))
    if code == 0 and checkpoint:
        snippet = f'[[profiles]]\nname = "{args.register or "local-selector"}"\nkind = "cross-encoder"\npath = "{checkpoint}"'
        if args.register:
            _register_profile(args.register, checkpoint)
            print(f"registered Selector profile {args.register!r}")
        else:
            print("use it as the Selector with this profile (or pass --register NAME):\n" + snippet)
    return code


def _register_profile(name: str, checkpoint: str) -> None:
    from engine.models.profiles import ModelProfile
    from pasa_desktop.settings import load_settings, save_settings

    settings = load_settings()
    profiles = [p for p in settings.profiles if p.name != name]
    profiles.append(ModelProfile(name=name, kind="cross-encoder", path=checkpoint))
    save_settings(settings.model_copy(update={"profiles": profiles}))


def _attach(args: argparse.Namespace) -> int:
    return _follow(args.job_dir)


def _control(args: argparse.Namespace) -> int:
    from training.launch import launcher_for

    launcher_for(args.job_dir).signal(args.job_dir, args.action)
    print(f"{args.action}: sent to {args.job_dir}")
    return 0
