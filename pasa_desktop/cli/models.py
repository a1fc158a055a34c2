"""`pasa models list|check|add|remove|convert`: model profiles for the Crawler and the Selector."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.agent.prompts import parse_search_queries, search_prompt, selector_prompt
from engine.errors import ConfigError, InputError, PasaError
from engine.models.base import ChatModel, user_message
from engine.models.profiles import ModelProfile, load_model
from engine.redact import looks_like_secret, redact, redact_url
from pasa_desktop.cli.main import integer
from pasa_desktop.cli.terminal import printable
from pasa_desktop.selector_pairs import LabelledPair, labelled_pairs, pool_pairs, selector_metrics
from pasa_desktop.settings import RELEVANCE_PROFILE, Settings, load_settings, relevance_profile, save_settings

# The built-in example for `check`: one research need, one paper that meets it and one that does not.
EXAMPLE_QUERY = "Papers that fine-tune large language models with reinforcement learning from human feedback"
EXAMPLE_PAPERS = (
    (
        "Training language models to follow instructions with human feedback",
        "We fine-tune a large language model on demonstrations written by people, then further train it with "
        "reinforcement learning against a reward model learned from human rankings of its outputs.",
        True,
    ),
    (
        "Fully convolutional networks for semantic segmentation",
        "We adapt image classification networks into fully convolutional networks that label every pixel "
        "of an image, trained end to end for semantic segmentation.",
        False,
    ),
)


def _add_profile_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kind", choices=("embedded", "gguf", "transformers", "openai", "cross-encoder", "relevance"))
    p.add_argument("--path", help="GGUF file (gguf) or checkpoint directory (transformers)")
    p.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    p.add_argument("--model", dest="server_model", help="model name on the server")
    p.add_argument("--api-key-env", help="environment variable holding the server's API key")
    p.add_argument(
        "--context", type=integer(256, 2**24, what="--context"), dest="context_tokens", help="context window in tokens"
    )
    p.add_argument("--threads", type=integer(0, 4096, what="--threads"), help="CPU threads (llama.cpp); 0 = all cores")
    p.add_argument(
        "--gpu-layers",
        type=integer(-1, 100_000, what="--gpu-layers"),
        help="layers offloaded to a GPU by llama.cpp (-1 = all)",
    )
    p.add_argument("--device", help="transformers device: auto, cpu, cuda, cuda:1 …")
    p.add_argument("--dtype", help="transformers dtype: auto, bfloat16, float32")
    p.add_argument(
        "--batch-size",
        type=integer(1, 4096, what="--batch-size"),
        help="Selector prompts per forward pass / concurrent requests",
    )


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("models", help="list, check, add and convert model profiles")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    ls = msub.add_parser("list", help="the model profiles and which role uses each")
    ls.add_argument("--json", action="store_true", help="print the profiles as JSON")
    ls.set_defaults(handler=list_profiles)

    ck = msub.add_parser("check", help="load a profile and run one Crawler and one Selector call")
    ck.add_argument("profile", help="profile name (options below override its fields, or define a new one)")
    _add_profile_options(ck)
    ck.add_argument(
        "--pairs",
        type=integer(0, 1_000_000, what="--pairs"),
        default=0,
        metavar="N",
        help="also score N labelled pairs (AUC, F1)",
    )
    ck.add_argument("--queries", help="query file for --pairs (default: PASA_QUERIES or ../shared/data)")
    ck.add_argument(
        "--pairs-from",
        choices=("bm25", "pools"),
        default="bm25",
        help="bm25: every gold paper in the index against 3 of BM25's top 30 (the default); pools: the papers "
        "a default search shows the Selector (its best 20 by retrieval, whole pools), as the app uses its scores",
    )
    ck.add_argument("--seed", type=integer(0, 2**32 - 1, what="--seed"), default=0, help="seed for choosing the pairs")
    ck.add_argument("--json", action="store_true", help="print the report as JSON")
    ck.set_defaults(handler=check)

    prep = msub.add_parser(
        "prepare-selector",
        help="train the default relevance Selector from train.jsonl over the offline index (resumable; "
        "./run.sh starts it in the background after building the index)",
    )
    prep.add_argument("--queries", help="training questions (default: PASA_TRAIN_QUERIES or ../shared/data/queries/train.jsonl)")
    prep.add_argument("--status", action="store_true", help="only print how far the preparation is")
    prep.add_argument("--quiet", action="store_true", help="no progress bar (the background run)")
    prep.set_defaults(handler=prepare_selector_command)

    add = msub.add_parser("add", help="save a profile in the settings (replaces one with the same name)")
    add.add_argument("profile", help="profile name")
    _add_profile_options(add)
    add.add_argument("--use-for", choices=("crawler", "selector", "both"), help="make it the default for a role")
    add.set_defaults(handler=add_profile)

    rm = msub.add_parser("remove", help="delete a profile from the settings")
    rm.add_argument("profile")
    rm.set_defaults(handler=remove_profile)

    cv = msub.add_parser("convert", help="convert a Hugging Face Qwen2 checkpoint to GGUF for CPU use")
    cv.add_argument("hf_dir", help="checkpoint directory (config.json, tokenizer, safetensors)")
    cv.add_argument("--to", choices=("gguf",), default="gguf", help="target format")
    cv.add_argument("--quant", default=None, help="f32, f16, bf16, q8_0, q6_k, q5_k_m, q4_k_m … (default: f16)")
    cv.add_argument("--out", help="output file (default: <hf_dir>/<name>-<quant>.gguf)")
    cv.set_defaults(handler=convert)
    def usage(_args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(handler=usage)


# ---- profiles ----------------------------------------------------------------------------------------


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    if args.api_key_env and looks_like_secret(args.api_key_env):
        # A key pasted where the variable's name belongs: saving it would put the secret in
        # settings.json, and echoing it would put it in the terminal's scroll-back.
        raise InputError(
            "--api-key-env takes the NAME of an environment variable (e.g. OPENAI_API_KEY), and the value "
            "given looks like the key itself; it was not saved",
            hint="export OPENAI_API_KEY=<your key>, then pass --api-key-env OPENAI_API_KEY",
        )
    fields = {
        "kind": args.kind,
        "path": args.path,
        "base_url": args.base_url,
        "model": args.server_model,
        "api_key_env": args.api_key_env,
        "context_tokens": args.context_tokens,
        "threads": args.threads,
        "gpu_layers": args.gpu_layers,
        "device": args.device,
        "dtype": args.dtype,
        "batch_size": args.batch_size,
    }
    return {k: v for k, v in fields.items() if v is not None}


def resolve_profile(settings: Settings, name: str, overrides: dict[str, Any]) -> ModelProfile:
    """A saved profile with `overrides` applied, or a new one when the name is unknown and a kind is given."""
    known = {p.name for p in settings.profiles} | {"embedded", RELEVANCE_PROFILE}
    if name not in known:
        if "kind" not in overrides:
            settings.profile(name)  # raises the "no model profile named …" error with the known names
        base = ModelProfile(name=name)
    else:
        base = settings.profile(name)
    try:
        return ModelProfile.model_validate({**base.model_dump(), **overrides, "name": name})
    except ValueError as exc:
        raise InputError(f"invalid profile option: {exc}") from exc


def _where(profile: ModelProfile) -> str:
    if profile.kind == "embedded":
        return "SmolLM2-135M-Instruct (packaged)"
    if profile.kind == "openai":
        return printable(f"{redact_url(profile.base_url)} {profile.model}".strip())
    if profile.kind == "relevance":
        from pasa_desktop.selector_setup import selector_ready

        # Listed before it exists (it trains itself on first use): say so rather than show a bare path.
        state = "" if selector_ready(Path(profile.path)) else " (not prepared yet: pasa models prepare-selector)"
        return printable(profile.path + state)
    return printable(profile.path or "(no path)")


def list_profiles(args: argparse.Namespace) -> int:
    settings = load_settings()
    profiles = list(settings.profiles)
    if not any(p.name == "embedded" for p in profiles):
        profiles.insert(0, ModelProfile())
    if not any(p.name == RELEVANCE_PROFILE for p in profiles):
        profiles.insert(1, relevance_profile())  # built in; trained on first use (pasa models prepare-selector)
    if args.json:
        shown = [{**p.model_dump(), "base_url": redact_url(p.base_url)} for p in profiles]
        print(redact(json.dumps(shown, indent=2)))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("name", "kind", "where", "context", "roles")
    for p in profiles:
        roles = [
            r
            for r, n in (("crawler", settings.crawler_profile), ("selector", settings.selector_profile))
            if n == p.name
        ]
        # The pair Selectors read a fixed-size prompt of their own (engine/models/cross_encoder.py): the
        # profile's context is not used, so no number is shown for them.
        context = "–" if p.kind in ("relevance", "cross-encoder") else str(p.context_tokens)
        table.add_row(escape(printable(p.name)), p.kind, escape(_where(p)), context, ", ".join(roles))
    Console().print(table)
    return 0


def add_profile(args: argparse.Namespace) -> int:
    settings = load_settings()
    overrides = _overrides(args)
    if args.profile not in {p.name for p in settings.profiles} and "kind" not in overrides:
        raise InputError(f"a new profile needs --kind (profile {args.profile!r} does not exist yet)")
    profile = resolve_profile(settings, args.profile, overrides)
    settings.profiles = [p for p in settings.profiles if p.name != profile.name] + [profile]
    if args.use_for in ("crawler", "both"):
        settings.crawler_profile = profile.name
    if args.use_for in ("selector", "both"):
        settings.selector_profile = profile.name
    save_settings(settings)
    print(f"saved profile {profile.name!r} ({profile.kind}: {_where(profile)})")
    return 0


def remove_profile(args: argparse.Namespace) -> int:
    settings = load_settings()
    if args.profile not in {p.name for p in settings.profiles}:
        settings.profile(args.profile)  # the "no such profile" error
    settings.profiles = [p for p in settings.profiles if p.name != args.profile]
    # A role whose profile goes back to its default: the embedded Crawler, the built-in relevance Selector.
    for role, default in (("crawler_profile", "embedded"), ("selector_profile", RELEVANCE_PROFILE)):
        if getattr(settings, role) == args.profile:
            setattr(settings, role, default)
    save_settings(settings)
    print(f"removed profile {args.profile!r}")
    return 0


# ---- check -------------------------------------------------------------------------------------------


def _crawler_call(model: ChatModel) -> dict[str, Any]:
    start = time.perf_counter()
    output = model.generate(user_message(search_prompt(EXAMPLE_QUERY)), max_tokens=160)
    seconds = time.perf_counter() - start
    tokens = model.count_tokens(output)
    queries = parse_search_queries(output, limit=5)
    return {
        "seconds": round(seconds, 3),
        "output_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else None,
        "tagged_output": "[Search]" in output,
        "queries": queries,
        "parsed": bool(queries),
        "output": output,
    }


def _selector_call(model: ChatModel) -> dict[str, Any]:
    prompts = [user_message(selector_prompt(EXAMPLE_QUERY, t, a)) for t, a, _ in EXAMPLE_PAPERS]
    prompt_tokens = sum(model.count_tokens(p[0]["content"]) for p in prompts)
    start = time.perf_counter()
    scores = model.true_probabilities(prompts)
    seconds = time.perf_counter() - start
    right = [(s > 0.5) == label for s, (_, _, label) in zip(scores, EXAMPLE_PAPERS, strict=True)]
    return {
        "seconds": round(seconds, 3),
        "prompt_tokens": prompt_tokens,
        "prompt_tokens_per_s": round(prompt_tokens / seconds, 1) if seconds > 0 else None,
        "scores": [round(s, 4) for s in scores],
        "valid_probabilities": all(0.0 <= s <= 1.0 for s in scores),
        "decisions_right": sum(right),
    }


def default_queries_file() -> Path | None:
    env = os.environ.get("PASA_QUERIES")
    if env:
        return Path(env)
    shared = Path(__file__).resolve().parents[3] / "shared" / "data" / "queries" / "train.jsonl"
    return shared if shared.is_file() else None


def _pairs_eval(model: ChatModel, settings: Settings, queries: Path, count: int, seed: int,
                source: str = "bm25") -> dict[str, Any]:
    draw = pool_pairs if source == "pools" else labelled_pairs
    pairs = draw(queries, settings, count=count, seed=seed)
    from engine.agent.selector import Selector

    selector = Selector(model, abstract_chars=settings.agent.abstract_chars)
    start = time.perf_counter()
    scores: list[float] = []
    chunk = 16
    for i in range(0, len(pairs), chunk):
        part: list[LabelledPair] = pairs[i : i + chunk]
        scores += model.true_probabilities([selector.prompt(p.query, p.paper) for p in part])
    seconds = time.perf_counter() - start
    metrics = selector_metrics(scores, [p.label for p in pairs])
    if model.info.select_threshold is not None:  # a calibrated Selector's own recorded threshold
        recorded = selector_metrics(scores, [p.label for p in pairs], threshold=model.info.select_threshold)
        metrics["select_threshold"] = model.info.select_threshold
        for key in ("f1", "precision", "recall"):
            metrics[f"{key}_recorded"] = recorded[key]
    metrics.update(
        {
            "queries_file": str(queries),
            "negatives": pairs[0].negatives_from if pairs else "",
            "seconds": round(seconds, 2),
            "papers_per_s": round(len(pairs) / seconds, 2) if seconds > 0 else None,
        }
    )
    return metrics


def check(args: argparse.Namespace) -> int:
    settings = load_settings()
    profile = resolve_profile(settings, args.profile, _overrides(args))
    queries = None
    if args.pairs > 0:
        queries = Path(args.queries) if args.queries else default_queries_file()
        if queries is None:
            raise InputError("--pairs needs a query file", hint="pass --queries PATH (AutoScholarQuery format)")
    report, ok = run_check(settings, profile, pairs=args.pairs, queries=queries, seed=args.seed,
                           pairs_from=args.pairs_from)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    return 0 if ok else 1


def run_check(
    settings: Settings,
    profile: ModelProfile,
    *,
    pairs: int = 0,
    queries: Path | None = None,
    seed: int = 0,
    load: Callable[[ModelProfile], ChatModel] = load_model,
    pairs_from: str = "bm25",
) -> tuple[dict[str, Any], bool]:
    """The self-check `pasa models check` prints (and Settings → Models → Test model shows): load the
    profile, one Crawler and one Selector call on a built-in example, and with `pairs` > 0 the AUC and
    speed on that many labelled pairs from `queries` over the offline index. Returns the report and
    whether the calls worked. Blocking (seconds to minutes): call it off the GUI thread."""
    if pairs > 0 and queries is None:
        raise InputError("labelled pairs need a query file (AutoScholarQuery format)")
    report: dict[str, Any] = {"profile": profile.name, "kind": profile.kind, "where": _where(profile)}
    from engine.models.memory import estimate_profile

    estimate = estimate_profile(profile)
    if estimate is not None:
        report["memory"] = estimate.describe()
    start = time.perf_counter()
    model = load(profile)
    ok = True
    try:
        report["load_seconds"] = round(time.perf_counter() - start, 2)
        check_server = getattr(model, "check", None)
        if callable(check_server):
            report["server"] = check_server().message
        info = model.info
        report.update(
            {
                "backend": info.backend,
                "chat_template": info.chat_template,
                "true_token_id": info.true_token_id,
                "context_tokens": info.context_tokens,
            }
        )
        try:
            if info.backend in ("cross-encoder", "relevance"):
                report["crawler"] = {"skipped": "a Selector-only model (it does not write queries)"}
            else:
                report["crawler"] = _crawler_call(model)
        except PasaError as exc:
            report["crawler"] = {"error": str(exc)}
            ok = False
        try:
            report["selector"] = _selector_call(model)
            ok = ok and report["selector"]["valid_probabilities"]
        except PasaError as exc:
            report["selector"] = {"error": str(exc)}
            ok = False
        if pairs > 0 and queries is not None:
            report["pairs"] = _pairs_eval(model, settings, queries, pairs, seed, pairs_from)
    finally:
        model.close()
    return report, ok


def _print_report(report: dict[str, Any]) -> None:
    print(f"profile        {report['profile']} ({report['kind']}: {report['where']})")
    if "memory" in report:
        print(f"memory         {report['memory']}")
    print(f"loaded in      {report['load_seconds']} s")
    if "server" in report:
        print(f"server         {report['server']}")
    print(f"backend        {report['backend']}, context {report['context_tokens']} tokens")
    print(f"chat template  {report['chat_template']}")
    print(f"'True' token   {report['true_token_id'] if report['true_token_id'] is not None else 'not a single token'}")
    crawler = report["crawler"]
    if "skipped" in crawler:
        print(f"crawler        not checked: {crawler['skipped']}")
    elif "error" in crawler:
        print(f"crawler        FAILED: {crawler['error']}")
    else:
        state = "parsed" if crawler["parsed"] else "NOT parsed"
        tags = "with [Search] tags" if crawler["tagged_output"] else "without [Search] tags (line fallback)"
        print(
            f"crawler        {crawler['output_tokens']} tokens in {crawler['seconds']} s "
            f"({crawler['tokens_per_s']} tokens/s); output {state}, {tags}: {crawler['queries']}"
        )
    selector = report["selector"]
    if "error" in selector:
        print(f"selector       FAILED: {selector['error']}")
    else:
        print(
            f"selector       P(True) {selector['scores']} (relevant, irrelevant) in {selector['seconds']} s "
            f"({selector['prompt_tokens_per_s']} prompt tokens/s); {selector['decisions_right']}/2 decisions right"
        )
    if "pairs" in report:
        m = report["pairs"]
        print(
            f"pairs          {m['pairs']} pairs ({m['positives']} positive; negatives from {m['negatives']}): "
            f"AUC {m['auc']:.3f}, F1@0.5 {m['f1']:.3f} (P {m['precision']:.3f}, R {m['recall']:.3f}), "
            f"calibration error (ECE, 10 bins) {m['ece']:.3f}, {m['papers_per_s']} papers/s"
        )
        if "select_threshold" in m:
            print(
                f"               at the model's recorded threshold P > {m['select_threshold']:.3f}: "
                f"F1 {m['f1_recorded']:.3f} (P {m['precision_recorded']:.3f}, R {m['recall_recorded']:.3f})"
            )
        print("               reliability (mean predicted → observed rate, pairs):")
        for row in m["reliability"]:
            print(
                f"               [{row['lo']:.1f}, {row['hi']:.1f})  {row['mean_p']:.3f} → {row['observed']:.3f}  "
                f"({row['count']})"
            )


# ---- convert -----------------------------------------------------------------------------------------


def convert(args: argparse.Namespace) -> int:
    from engine.models.convert import convert_to_gguf

    hf_dir = Path(args.hf_dir).expanduser()
    if not hf_dir.is_dir():
        raise InputError(f"checkpoint directory not found: {hf_dir}")
    quant = args.quant.lower() if args.quant else "f16"
    out = Path(args.out).expanduser() if args.out else hf_dir / f"{hf_dir.name}-{quant}.gguf"
    if out.exists():
        raise InputError(f"{out} already exists", hint="remove it or pass --out")
    start = time.perf_counter()
    try:
        convert_to_gguf(hf_dir, out, quant=quant)
    except ImportError as exc:
        raise ConfigError(f"converting needs the gpu extra ({exc})", hint="pip install 'pasa-desktop[gpu]'") from exc
    size = out.stat().st_size / 1024**2
    print(f"wrote {out} ({size:,.1f} MB, {quant}) in {time.perf_counter() - start:.1f} s")
    print(f"use it: pasa models add NAME --kind gguf --path {out}")
    return 0


# ---- prepare-selector ----------------------------------------------------------------------------------


def prepare_selector_command(args: argparse.Namespace) -> int:
    """Train (or resume training) the default relevance Selector; quiet in the background run."""
    from pasa_desktop import selector_setup

    settings = load_settings()
    if args.status:
        status = selector_setup.setup_status()
        blocker = "" if status.ready or status.running else selector_setup.preparation_blocker(settings)
        print(f"{status.describe()} {blocker}".strip())
        return 0
    if selector_setup.selector_ready():
        print(f"The relevance Selector is ready ({selector_setup.relevance_dir()}).")
        return 0
    queries = Path(args.queries).expanduser() if args.queries else None
    started = time.perf_counter()
    if args.quiet:
        model = selector_setup.prepare_selector(settings, queries=queries)
    else:
        from pasa_desktop.cli.progress import stderr_console

        console = stderr_console()
        last: list[str] = [""]

        def show(stage: str, done: int, total: int) -> None:
            line = f"{stage}: {done:,}/{total:,}"
            if line != last[0]:
                console.print(f"  preparing the Selector — {line}", highlight=False)
                last[0] = line

        model = selector_setup.prepare_selector(settings, queries=queries, progress=show)
    report = model.report
    sel = report.get("heldout_selection", {})
    print(
        f"The relevance Selector is ready ({selector_setup.relevance_dir()}, {time.perf_counter() - started:.0f} s): "
        f"held-out training questions AUC {report.get('heldout_auc', 0):.3f}, calibration error "
        f"{report.get('heldout_ece', 0):.3f}; it selects {model.rule.describe()} "
        f"(held-out F1 {sel.get('f1', 0):.3f})."
    )
    return 0
