"""`pasa train …`: build SFT data, run SFT / PPO / the local Selector, watch (attach to) a job."""

from __future__ import annotations

import argparse
import sys
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
    data.add_argument("--decisions", type=Path, help='selector: JSON lines of {"query", "title", "abstract", "decision": "accept"|"reject"} '
                      "(written by you: the library has no export for them)")
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
    local.add_argument("--decisions", type=Path, help='also learn from JSON lines of {"query", "title", "abstract", "decision": '
                       '"accept"|"reject"} (written by you: the library has no export for them)')
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


def _data(args: argparse.Namespace) -> int:
    from pasa_desktop import training_service as training

    if args.role == "preview":
        if args.out is None:
            raise InputError("preview needs --out FILE (the SFT file to read)")
        result = training.preview_data(args.out, args.show)
    else:
        if args.out is None:
            raise InputError(f"`pasa train data {args.role}` needs --out FILE")
        if args.queries is None and not (args.role == "selector" and args.decisions):
            raise InputError("give --queries (and for the selector optionally --decisions)")
        result = training.build_data(
            args.role, args.out, queries=args.queries, index=args.index, decisions=args.decisions,
            negatives=args.negatives, limit=args.limit, show=args.show,
        )
    print(result.summary)
    for message in result.skipped[:10]:
        print(f"  skipped: {message}", file=sys.stderr)
    for row in result.rows:
        prompt = row["prompt"].replace("\n", " ")
        print(f"- [{row['kind']}] {prompt[:90]}…\n    → {row['reply'][:90]!r}")
    return 0


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:g}"


def _follow(job_dir: Path, *, quiet_steps: bool = False) -> int:
    """Print metric lines as they arrive until the job reaches a final state; Ctrl-C detaches."""
    from pasa_desktop import training_service as training

    def point(p: training.MetricPoint) -> None:
        if not quiet_steps:
            print("  ".join([f"step={_number(p.step)}", *(f"{k}={_number(v)}" for k, v in p.values.items())]))

    def status(s: training.JobStatus) -> None:
        if s.connection_error:
            print(f"warning: {s.message}", file=sys.stderr)

    try:
        final = training.follow(
            job_dir, point, lambda e: print(f"[{e.name}] {e.message}"), status, interval_s=1.0
        )
    except KeyboardInterrupt:
        print(f"\ndetached; the job keeps running. Re-attach: pasa train attach {job_dir}", file=sys.stderr)
        return 130
    print(f"{final.state}: {final.message}")
    return 0 if final.state == "finished" else 1


def _start_checked(config: Any) -> Path:
    """The service's checks first (what is missing, in plain words, exit 2), a GPU note, then the job."""
    from pasa_desktop import training_service as training

    check = training.check_job(config, probe_gpu=True)
    if not check.ok:
        raise InputError(check.text())
    for note in check.notes:
        print(f"note: {note.message}", file=sys.stderr)
    return training.start(config)


def _job(args: argparse.Namespace) -> int:
    from pasa_desktop import training_service as training

    config = training.load_job(args.config)
    if config.job.kind != args.kind:
        raise InputError(f"{args.config} describes a {config.job.kind} job, not {args.kind}")
    if args.smoke:
        config = config.model_copy(update={"job": config.job.model_copy(update={"smoke": True})})
    job_dir = _start_checked(config)
    print(f"started {config.job.kind} job in {job_dir}")
    if args.detach:
        print(f"watch it with: pasa train attach {job_dir}")
        return 0
    return _follow(job_dir)


def _local_selector(args: argparse.Namespace) -> int:
    from pasa_desktop import training_service as training

    config = training.local_selector_job(
        queries=args.queries, index=args.index, out=args.out or training.default_job_dir("local-selector"),
        minutes=args.minutes, smoke=bool(args.smoke), decisions=args.decisions,
    )
    job_dir = _start_checked(config)
    print(f"training a local Selector in {job_dir} (budget {args.minutes:g} min)")
    code = _follow(job_dir, quiet_steps=True)
    checkpoint = training.final_checkpoint(job_dir)
    if code == 0 and checkpoint:
        name = args.register or "local-selector"
        profile = training.checkpoint_profile(Path(checkpoint), name)
        if args.register:
            training.register_profile(profile)
            print(f"registered Selector profile {args.register!r}")
        else:
            snippet = f'[[profiles]]\nname = "{name}"\nkind = "{profile.kind}"\npath = "{checkpoint}"'
            print("use it as the Selector with this profile (or pass --register NAME):\n" + snippet)
    return code


def _attach(args: argparse.Namespace) -> int:
    return _follow(args.job_dir)  # not a job directory: InputError (exit 2) at the first poll


def _control(args: argparse.Namespace) -> int:
    from pasa_desktop import training_service as training

    training.control(args.job_dir, args.action)
    print(f"{args.action}: sent to {args.job_dir}")
    return 0
