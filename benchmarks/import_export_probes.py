"""Issue #16's import/export probes, run through the real `pasa` command line in a fresh data folder.

    .venv/bin/python benchmarks/import_export_probes.py [--entries 20000]

Prints one Markdown row per probe (probe | what happened now); RESULTS.md §2.1 puts them beside what
the same probe did before. Needs pdflatex, bibtex and biber for the two compile probes (else says so).
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pasa_desktop.export import bibtex  # noqa: E402
from pasa_desktop.export.record import Record  # noqa: E402
from tests.pasa_desktop.export.test_latex import HOSTILE, TOOLS, compile_both  # noqa: E402


def pasa(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASA_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "pasa_desktop.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        input=stdin,
        cwd=ROOT,
    )


def count(data: Path) -> int:
    out = pasa(data, "export", "-f", "csljson", "-o", "-").stdout
    return out.count('"id":')


def synthetic_bib(n: int) -> str:
    rows = []
    for i in range(n):
        kind = i % 4
        title = (
            f"Qwen{i // 4}.{i % 7} Technical Report",
            f"SemEval-{2000 + i % 25} Task {i}: Semantic Textual Similarity",
            f"Scaling Laws for {i}B Parameter Models",
            f"Part {i} of the Benchmark Suite, v{i % 3}",
        )[kind]
        year = "" if i % 3 == 0 else ", year = {2024}"
        author = "" if i % 5 == 0 else ", author = {Yang, An and Yang, Baosong}"
        rows.append(f"@misc{{s{i}, title = {{{title}}}{author}{year}, howpublished = {{arXiv}}}}")
    return "\n".join(rows) + "\n"


def compiled(recs: list[Record]) -> str:
    """The test suite's own check (tests/pasa_desktop/export/test_latex.py): pdflatex + bibtex, pdflatex + biber."""
    if not all(shutil.which(t) for t in TOOLS):
        return "pdflatex/bibtex/biber not installed: not run"
    try:
        compile_both(recs)
    except AssertionError as exc:
        return "FAILED: " + str(exc).strip().splitlines()[0][:200]
    return "bibtex exit 0, biber exit 0, pdflatex exit 0 after each, every key cited resolves"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="pasa-probes-") as folder:
        tmp = Path(folder)

        data = tmp / "d1"
        (tmp / "syn.bib").write_text(synthetic_bib(args.entries))
        start = time.perf_counter()
        run = pasa(data, "import", "--strict", str(tmp / "syn.bib"))
        seconds = time.perf_counter() - start
        rows.append(
            (
                f"{args.entries:,} distinct synthetic entries (versions, task numbers; years/authors often missing)",
                f"{count(data):,} papers, exit {run.returncode}, {seconds:.0f} s; `{run.stdout.splitlines()[0]}`",
            )
        )

        data = tmp / "d2"
        (tmp / "q.bib").write_text(
            "@article{q2, title={Qwen2 Technical Report}, author={Yang, An}, year=2024, journal={arXiv}}\n"
            "@article{q25, title={Qwen2.5 Technical Report}, author={Yang, An}, year=2024, journal={arXiv}}\n"
            "@inproceedings{t1, title={SemEval-2017 Task 1: STS}, author={Cer, Daniel}, year=2017, booktitle={SemEval}}\n"
            "@inproceedings{t2, title={SemEval-2017 Task 2: STS}, author={Cer, Daniel}, year=2017, booktitle={SemEval}}\n"
        )
        pasa(data, "import", str(tmp / "q.bib"))
        rows.append(
            ("Qwen2 / Qwen2.5 and SemEval Task 1 / Task 2 (same authors, year, venue)", f"{count(data)} papers")
        )

        (tmp / "a.bib").write_text("@article{x1, title={Deep Nets}, author={Lee, Ann}, year=2019, journal={J}}")
        (tmp / "b.bib").write_text("@article{y1, title={Deep nets.}, author={Lee, A.}, year=2019, journal={J}}")
        pasa(data, "import", str(tmp / "a.bib"))
        strict = pasa(data, "import", "--strict", str(tmp / "b.bib"))
        dup = pasa(data, "library", "duplicates").stdout.splitlines()
        rows.append(("`import --strict` of a merge backed by no identifier", f"exit {strict.returncode}"))
        rows.append(("`library duplicates` after that merge", f"`{dup[0]}` / `{dup[1].strip()}`"))
        record = dup[1].split()[1]
        undo = pasa(data, "library", "unmerge", record)
        rows.append(("`library unmerge RECORD`", f"exit {undo.returncode}: `{undo.stdout.strip()}`"))

        # A merge you make: paper 4 (tagged, with a note) into paper 3, then undone.
        papers = count(data)
        pasa(data, "library", "tag", "4", "-t", "mine")
        pasa(data, "library", "note", "4", "my own note")
        before = pasa(data, "library", "show", "4").stdout
        merged = pasa(data, "library", "merge", "3", "4")
        listed = [line.strip() for line in pasa(data, "library", "duplicates").stdout.splitlines() if "by you" in line]
        record = merged.stdout.rsplit("unmerge ", 1)[-1].rstrip(")\n")
        undo = pasa(data, "library", "unmerge", record)
        after = pasa(data, "library", "show", "4").stdout
        rows.append(
            (
                "`library merge 3 4` (4 tagged, with a note), `duplicates`, `unmerge RECORD`",
                f"`{merged.stdout.strip()}`; listed: `{listed[0] if listed else 'no'}`; `{undo.stdout.strip()}`; "
                f"paper 4 as before (tags, note, fields): {after == before}; papers {papers} → {count(data)}",
            )
        )

        out = tmp / "out"
        out.mkdir()
        target = out / "real.bib"
        target.write_text("old")
        target.chmod(0o600)
        (out / "link.bib").symlink_to(target)
        pasa(data, "export", "-o", str(out / "link.bib"))
        rows.append(
            (
                "`export -o` a symlink to a mode-600 file",
                f"link kept: {(out / 'link.bib').is_symlink()}, target updated: {target.read_text() != 'old'}, "
                f"mode {oct(stat.S_IMODE(target.stat().st_mode))}",
            )
        )
        for path in ("/dev/full", str(out), "/proc/x"):
            run = pasa(data, "export", "-o", path)
            leftovers = [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
            message = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
            rows.append(
                (
                    f"`export -o {path if path != str(out) else 'DIRECTORY'}` (as {'root' if os.getuid() == 0 else 'user'})",
                    f"exit {run.returncode}, traceback: {'Traceback' in run.stderr}, .tmp left: {len(leftovers)}; `{message}`",
                )
            )

        text = bibtex.dumps(HOSTILE)
        rows.append(
            (
                "unbalanced braces, `%` `&` `$` `#` `\\` `~`, math, `Smith, Jr., John`, `van der Berg, Jan`,"
                " DOI with `_` → BibTeX → real tools",
                compiled(HOSTILE),
            )
        )
        back = bibtex.loads(text).records[0]
        rows.append(
            (
                "the same entry read back",
                f"title `{back.title}`, authors {back.authors}, DOI `{back.doi}`; written DOI "
                f"`{'abc_def' if 'abc_def}' in text else 'escaped'}`",
            )
        )

        data = tmp / "d3"
        (tmp / "f.bib").write_text(
            '@string{foo = "Foo Journal"}\n'
            '@article{f1, title={Fields}, author={Knuth, Donald}, year=1998, journal=foo # " and more",'
            " volume={3}, number={2}, pages={101--117}, publisher={Addison-Wesley}, isbn={978-0-306-40615-7},"
            " url={https://example.org/x}}\n"
            "@article{b1, title={Ends badly}}}, author={Doe, Jane}, year={2021}}\n"
        )
        pasa(data, "import", str(tmp / "f.bib"))
        exported = pasa(data, "export", "-o", "-").stdout
        kept = [f for f in ("volume", "number", "pages", "publisher", "isbn", "url") if f"{f} = " in exported]
        rows.append(("volume, number, pages, publisher, ISBN, URL through import → export", f"kept: {', '.join(kept)}"))
        rows.append(
            (
                '`journal = foo # " and more"` with `@string{foo = …}`',
                f"venue written: `{'Foo Journal and more' in exported}`",
            )
        )
        rows.append(
            (
                "title ending in `}}}` followed by author and year",
                f"author kept: {'Doe, Jane' in exported}, year kept: {'2021' in exported}",
            )
        )

        garbage = tmp / "garbage.ris"
        garbage.write_bytes(os.urandom(2_000_000).replace(b"\x00", b"x"))
        run = pasa(tmp / "d4", "import", "--strict", str(garbage))
        rows.append(
            (
                "2 MB of random bytes as `.ris`, `--strict`",
                f"exit {run.returncode}, {len(run.stdout.splitlines())} output lines; `{run.stdout.splitlines()[0]}`",
            )
        )
        deep = tmp / "deep.json"
        deep.write_text("[" * 100_000 + "]" * 100_000)
        run = pasa(tmp / "d4", "import", str(deep))
        rows.append(
            (
                "JSON nested 100,000 levels deep",
                f"exit {run.returncode}, traceback: {'Traceback' in run.stderr}; `{run.stdout.strip().splitlines()[-1].strip()}`",
            )
        )
        (tmp / "evil.json").write_text(
            '[{"id": "e1", "title": "Evil \\u001b]0;owned\\u0007 \\u009b31m", "issued": {"date-parts": [[2020]]}}]'
        )
        pasa(tmp / "d5", "import", str(tmp / "evil.json"))
        ris_out = pasa(tmp / "d5", "export", "-f", "ris", "-o", "-").stdout
        raw = sum(1 for ch in ris_out if (ord(ch) < 0x20 and ch != "\n") or 0x7F <= ord(ch) <= 0x9F)
        rows.append(("a title with ESC/BEL/CSI exported to RIS on stdout", f"{raw} raw control characters"))

    for probe, after in rows:
        print(f"| {probe} | {after} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
