"""The dependency rules hold at run time, not just on paper: the engine runs a search with Qt, the ORM
and torch made unimportable, and the import-linter contracts in pyproject.toml pass."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BLOCKED = (
    "PySide6",
    "qasync",
    "pyqtgraph",
    "sqlmodel",
    "sqlalchemy",
    "torch",
    "transformers",
    "pasa_desktop",
    "ui",
    "training",
)


def test_engine_searches_without_qt_orm_torch_or_app(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, json, sys
        from pathlib import Path

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BLOCKED!r}:
                    raise ImportError(f"engine must not import {{name}}")
                return None

        sys.meta_path.insert(0, Blocker())
        from engine.agent.search import SearchDeps, run_search
        from engine.agent.settings import AgentSettings
        from pasa_testing.scripted import ScriptedModel
        from engine.sources.local_index import LocalIndex, build_index
        import engine.fulltext.unarxive, engine.references, engine.eval.metrics, engine.models.llamacpp  # noqa

        corpus = Path(sys.argv[1]) / "c.jsonl"
        corpus.write_text(json.dumps({{"id": "p1", "title": "Gradient coding against stragglers", "abstract": "x"}}) + "\\n")
        build_index(corpus, Path(sys.argv[1]) / "i.sqlite")
        model = ScriptedModel(["[Search] gradient coding[StopSearch]"], lambda p: 0.9)
        deps = SearchDeps(crawler_model=model, selector_model=model, sources=[LocalIndex(Path(sys.argv[1]) / "i.sqlite")])

        async def main():
            events = [e async for e in run_search("stragglers", AgentSettings(expand_layers=0), deps)]
            print(events[-1].status.value, len(events[-1].results))

        asyncio.run(main())
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r})
        assert not loaded, loaded
        """
    )
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["done", "1"]


def test_import_contracts() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
