"""Selector throughput per backend beside that backend's raw prefill rate, measured in the same run.

    python benchmarks/selector_throughput.py [--model tiny|smollm2|FILE.gguf] [--pairs 200]
        [--backends llama.cpp,transformers,openai] [--threads N] [--markdown FILE]

The same (query, paper) pairs (dev queries × real corpus abstracts cut at 1,500 characters, ten
papers per query as a search presents them) are scored by each backend through the ChatModel
protocol, in per-query calls as the agent makes them. Beside it, the hardware limit: the backend's raw
prefill rate for the same tokens with nothing cached to reuse (llama.cpp: each prompt evaluated from an
empty cache; transformers: one unpadded forward over a batch as large as the call; server: its own
prefill of each prompt), measured group by group between the scoring calls. The ratio is
"effective" prompt tokens per second (every prompt token counted, as if each prompt were evaluated in
full) over the raw rate; KV-prefix reuse lets it pass 1.0. For transformers the table also gives
PaSa's own approach (one generate() call per paper) on the same pairs, and the speed-up over it.

Models: `tiny` builds the tiny random Qwen2 (hidden 64) and its f32 GGUF; `smollm2` is the packaged
SmolLM2-135M-Instruct Q4_1 GGUF, which transformers loads dequantized to fp32 (`gguf_file=`); or any
GGUF file (llama.cpp and openai backends only).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# benchmarks/ itself must not be on the path: benchmarks/packaging.py would shadow the `packaging`
# library that transformers imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "benchmarks"]
sys.path.insert(0, str(REPO))

from engine.agent.prompts import selector_prompt  # noqa: E402
from engine.models.base import Message, user_message  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "corpus" / "papers.jsonl.gz"
QUERIES = REPO.parent / "shared" / "data" / "queries" / "dev.jsonl"
PER_QUERY = 10


def build_pairs(n: int) -> list[tuple[str, list[list[Message]]]]:
    """(query, prompts) groups: `n` pairs in all, PER_QUERY papers per query."""
    questions = [json.loads(line)["question"] for line in QUERIES.read_text().splitlines() if line.strip()]
    abstracts: list[tuple[str, str]] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("abstract"):
                abstracts.append((row["title"], row["abstract"][:1500]))
            if len(abstracts) >= n:
                break
    groups: list[tuple[str, list[list[Message]]]] = []
    for g in range(0, n, PER_QUERY):
        question = questions[(g // PER_QUERY) % len(questions)]
        chunk = abstracts[g : g + PER_QUERY]
        groups.append((question, [user_message(selector_prompt(question, t, a)) for t, a in chunk]))
    return groups


# Each backend is measured group by group, scoring then the raw reference on the same group, so a
# busy machine slows both alike and the ratio stays meaningful.


def interleaved_llamacpp(model: Any, groups: list[tuple[str, list[list[Message]]]]) -> tuple[float, float]:
    """(scoring seconds, raw seconds): raw = each prompt evaluated from an empty cache."""
    score = raw = 0.0
    for _question, prompts in groups:
        start = time.perf_counter()
        model.true_probabilities(prompts)
        score += time.perf_counter() - start
        raw += model.prefill_seconds(prompts)[1]
    return score, raw


def interleaved_transformers(model: Any, groups: list[tuple[str, list[list[Message]]]]) -> tuple[float, float]:
    """(scoring seconds, raw seconds): raw = one forward over a batch of random sequences, no padding,
    as many tokens as the group's prompts."""
    import torch

    inner = model._model
    vocab = int(inner.config.vocab_size)
    gen = torch.Generator().manual_seed(0)
    cuda = str(model._device).startswith("cuda")
    score = raw = 0.0
    for _question, prompts in groups:
        start = time.perf_counter()
        model.true_probabilities(prompts)
        score += time.perf_counter() - start
        length = round(sum(len(model._encode(p)) for p in prompts) / len(prompts))
        ids = torch.randint(100, vocab - 1, (len(prompts), length), generator=gen).to(model._device)
        with torch.inference_mode():
            start = time.perf_counter()
            inner(input_ids=ids, logits_to_keep=1)
            if cuda:
                torch.cuda.synchronize()
            raw += time.perf_counter() - start
    return score, raw


def interleaved_server(
    model: Any, base_url: str, groups: list[tuple[str, list[list[Message]]]], tokens: list[int]
) -> tuple[float, float]:
    """(scoring seconds, raw seconds): raw = the server's own prefill rate on each group's prompts
    (text completions, one token out, a unique first word so no cached prefix is reused)."""
    import httpx

    score = raw = 0.0
    with httpx.Client(timeout=600) as client:
        for g, (_question, prompts) in enumerate(groups):
            start = time.perf_counter()
            model.true_probabilities(prompts)
            score += time.perf_counter() - start
            done = 0
            seconds = 0.0
            for i, prompt in enumerate(prompts):
                body = {"prompt": f"{g}-{i} " + model._template.render(prompt), "max_tokens": 1, "temperature": 0}
                start = time.perf_counter()
                data = client.post(f"{base_url}/completions", json=body).json()
                seconds += time.perf_counter() - start
                done += int(data["usage"]["prompt_tokens"])
            raw += tokens[g] / (done / seconds)
    return score, raw


def pasa_style_transformers(model: Any, groups: list[tuple[str, list[list[Message]]]], limit: int) -> float:
    """PaSa's released scoring: one generate() per paper, reading the first step's scores. Papers/s."""
    import torch

    inner, tok = model._model, model._tok
    prompts = [p for _q, ps in groups for p in ps][:limit]
    start = time.perf_counter()
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch.tensor([model._encode(prompt)], device=model._device)
            out = inner.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=1,
                do_sample=False,
                output_scores=True,
                return_dict_in_generate=True,
                pad_token_id=tok.pad_token_id or 0,
            )
            torch.softmax(out.scores[0][0].float(), dim=-1)
    return len(prompts) / (time.perf_counter() - start)


# ---- models ---------------------------------------------------------------------------------------------


def prepare(model: str, workdir: Path) -> tuple[Path, Path | None, str]:
    """(gguf file, HF dir or None, how transformers loads it)."""
    if model == "tiny":
        from engine.models.convert import convert_to_gguf
        from pasa_testing.tiny import build_tiny_qwen2

        hf = build_tiny_qwen2(workdir / "tiny")
        return convert_to_gguf(hf, workdir / "tiny-f32.gguf", quant="f32"), hf, "checkpoint (fp32)"
    if model == "smollm2":
        from engine.models.profiles import embedded_model_path

        gguf = embedded_model_path()
        return gguf, gguf, "GGUF dequantized to fp32"
    return Path(model), None, ""


def load_transformers(hf: Path, threads: int, batch: int) -> Any:
    import torch

    from engine.models.profiles import ModelProfile
    from engine.models.transformers_backend import TransformersModel

    torch.set_num_threads(threads)
    if hf.is_dir():
        return TransformersModel.from_profile(
            ModelProfile(name="hf", kind="transformers", path=str(hf), batch_size=batch)
        )
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(hf.parent), gguf_file=hf.name)
    tok.padding_side = "left"
    inner = AutoModelForCausalLM.from_pretrained(str(hf.parent), gguf_file=hf.name, dtype=torch.float32).eval()
    return TransformersModel(inner, tok, name="hf", context_tokens=4096, batch_size=batch)


def start_server(gguf: Path, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "4096", "--n_threads", str(threads), "--n_threads_batch", str(threads), "--verbose", "False"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("llama_cpp.server did not start")


# ---- main -----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--backends", default="llama.cpp,transformers,openai")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch", type=int, default=8, help="transformers batch size")
    parser.add_argument("--pasa-limit", type=int, default=40, help="papers for the one-generate-per-paper baseline")
    parser.add_argument("--markdown", help="append the table to this file")
    args = parser.parse_args()

    from engine.models.llamacpp import LlamaCppModel
    from engine.models.openai_backend import OpenAICompatibleModel

    groups = build_pairs(args.pairs)
    n_pairs = sum(len(p) for _q, p in groups)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        gguf, hf, hf_how = prepare(args.model, Path(tmp))
        counter = LlamaCppModel(gguf, context_tokens=4096, threads=args.threads)
        group_tokens = [sum(len(counter._tokens(p)) for p in ps) for _q, ps in groups]
        total = sum(group_tokens)
        for backend in args.backends.split(","):
            extra = ""
            if backend == "llama.cpp":
                model: Any = counter
                model.true_probabilities(groups[0][1][:2])  # warm-up
                seconds, raw_seconds = interleaved_llamacpp(model, groups)
            elif backend == "transformers":
                if hf is None:
                    continue
                model = load_transformers(hf, args.threads, args.batch)
                model.true_probabilities(groups[0][1][:2])
                seconds, raw_seconds = interleaved_transformers(model, groups)
                pasa = pasa_style_transformers(model, groups, args.pasa_limit)
                extra = f"PaSa one-generate-per-paper {pasa:.2f} papers/s; batched is {n_pairs / seconds / pasa:.1f}x"
                model.close()
            elif backend == "openai":
                proc, base = start_server(gguf, args.threads)
                try:
                    model = OpenAICompatibleModel(name="server", base_url=base, concurrency=1)
                    model.check()
                    seconds, raw_seconds = interleaved_server(model, base, groups, group_tokens)
                    model.close()
                finally:
                    proc.terminate()
                    proc.wait()
            else:
                raise SystemExit(f"unknown backend {backend}")
            rows.append(
                [
                    backend,
                    f"{n_pairs / seconds:.2f}",
                    f"{total / seconds:,.0f}",
                    f"{total / raw_seconds:,.0f}",
                    f"{raw_seconds / seconds:.2f}",
                    extra,
                ]
            )
        counter.close()

    machine = f"{platform.machine()}, {os.cpu_count()} cores, {args.threads} threads, no GPU used"
    header = ["backend", "papers/s", "prompt tok/s (effective)", "raw prefill tok/s", "ratio", "notes"]
    lines = [
        f"Selector throughput — model {args.model} ({hf_how or 'GGUF'}), {n_pairs} pairs, "
        f"{total:,} prompt tokens ({total / n_pairs:.0f}/pair); {machine}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as fh:
            fh.write(text + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
