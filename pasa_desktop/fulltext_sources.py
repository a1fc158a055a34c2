"""Which full-text sources a search can read for citation expansion, decided from the settings.

Expansion reads a paper's full text, picks sections and follows their citations; without a full-text
source it cannot run, and the presets' tooltips, `--help`, the wizard and Settings say so. The app
supports two kinds (the same ones `SearchService` and `OnlineStack` build):

- offline: unarXive-format full texts (`PASA_FULLTEXT`, else Settings → paths.fulltext); the unarXive
  sample beside the clone (../shared/data/fixtures/unarXive_data_sample.tar.gz) is offered by default,
  as run.sh does;
- online: arXiv HTML → ar5iv → the PDF (engine/fulltext/online.py), used when an online source is
  enabled or `sources.fulltext_online` is set.
"""

from __future__ import annotations

from pathlib import Path

from pasa_desktop.settings import Settings

ONLINE_FULLTEXT_LABEL = "arXiv HTML, ar5iv and PDFs (online)"
SAMPLE_NAME = "unarXive_data_sample.tar.gz"


def sample_fulltext_path() -> Path | None:
    """The unarXive sample beside the clone (../shared/data/fixtures), when it is there."""
    repo = Path(__file__).resolve().parents[1]
    candidate = repo.parent / "shared" / "data" / "fixtures" / SAMPLE_NAME
    return candidate if candidate.is_file() else None


def offline_fulltext_path(settings: Settings) -> Path | None:
    """The configured offline full texts when the path exists (what SearchService.fulltext opens)."""
    # Imported here: the search service brings the whole engine, and tooltips need only this answer.
    from pasa_desktop.search_service import default_fulltext_path

    path = default_fulltext_path(settings)
    return path if path is not None and path.exists() else None


def online_fulltext(settings: Settings, sources: list[str] | None = None) -> bool:
    """True when a search fetches full texts online (`sources`: the request's, else the settings')."""
    enabled = settings.sources.enabled if sources is None else sources
    return settings.sources.fulltext_online or any(name != "local" for name in enabled)


def fulltext_available(settings: Settings, sources: list[str] | None = None) -> bool:
    """Whether citation expansion has a full-text source to read."""
    return offline_fulltext_path(settings) is not None or online_fulltext(settings, sources)


def fulltext_summary(settings: Settings, sources: list[str] | None = None) -> str:
    """One line for Settings and the wizard: what expansion will read, or why it will not run."""
    parts: list[str] = []
    offline = offline_fulltext_path(settings)
    if offline is not None:
        parts.append(f"unarXive full texts in {offline.name} (offline)")
    if online_fulltext(settings, sources):
        parts.append(ONLINE_FULLTEXT_LABEL)
    if not parts:
        return ("No full-text source: citation expansion will not run. Choose the unarXive full texts or "
                "tick the online full texts.")
    return "Citation expansion reads " + " and ".join(parts) + "."
