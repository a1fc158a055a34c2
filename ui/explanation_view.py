"""An explanation as rich text for the detail pane: the abstract with its sentences shaded by how much
they move the score (green supports, red opposes), the question's words in bold, and a short summary.

Pure functions from an `Explanation` to the HTML subset QTextBrowser renders (no Qt import), so the
detail pane stays a thin view and the rendering is tested without a window.
"""

from __future__ import annotations

import html
import re

from engine.agent.explain import NOTABLE, Explanation, ExplanationKind, word_stem
from engine.models.score_meaning import CALIBRATED_GLOSS, CALIBRATED_SCORE

SUPPORT = (46, 160, 67)
OPPOSE = (214, 69, 65)
RGB = tuple[int, int, int]
# Strongest shade: a tint, so the text stays readable on light and dark themes.
MAX_TINT = 0.45
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def _blend(color: RGB, base: RGB, amount: float) -> str:
    r, g, b = (round(b0 + (c - b0) * amount) for c, b0 in zip(color, base, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _tint(effect: float, scale: float, base: RGB) -> str | None:
    """Background for a sentence with this effect; None when it is too small to mention."""
    if abs(effect) < NOTABLE or scale <= 0:
        return None
    amount = 0.12 + (MAX_TINT - 0.12) * min(1.0, abs(effect) / scale)
    return _blend(SUPPORT if effect > 0 else OPPOSE, base, amount)


def _bold_terms(text: str, stems: set[str]) -> str:
    """`text` escaped, with words whose stem is in `stems` in bold."""
    out: list[str] = []
    last = 0
    for match in _WORD.finditer(text):
        if word_stem(match.group(0).lower()) in stems:
            out.append(html.escape(text[last : match.start()]))
            out.append(f"<b>{html.escape(match.group(0))}</b>")
            last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def legend_html(base: RGB) -> str:
    good, bad = _blend(SUPPORT, base, MAX_TINT), _blend(OPPOSE, base, MAX_TINT)
    return (f"<span style='background-color:{good}'>&nbsp;supports&nbsp;</span> "
            f"<span style='background-color:{bad}'>&nbsp;opposes&nbsp;</span> "
            "<span style='color:gray'>the score (darker: a bigger change without the sentence) · "
            "</span><b>bold</b><span style='color:gray'>: words shared with your question</span>")


def abstract_html(explanation: Explanation, full_abstract: str, base: RGB) -> str:
    """The abstract with each sentence shaded by its effect; text the Selector did not read is greyed."""
    exp = explanation
    scale = max((abs(s.effect) for s in exp.sentences), default=0.0)
    stems = {word_stem(t.term) for t in exp.supporting_terms(12)}
    parts: list[str] = []
    last = 0
    for sentence in exp.sentences:
        parts.append(html.escape(exp.abstract[last : sentence.start]))
        body = _bold_terms(exp.abstract[sentence.start : sentence.end], stems)
        tint = _tint(sentence.effect, scale, base)
        if tint is None:
            parts.append(body)
        else:
            parts.append(f"<span style='background-color:{tint}' title='{sentence.effect:+.3f}'>{body}</span>")
        last = sentence.end
    parts.append(html.escape(exp.abstract[last:]))
    text = "".join(parts)
    rest = full_abstract[len(exp.abstract) :] if full_abstract.startswith(exp.abstract) else ""
    if rest.strip():
        text += (f"<span style='color:gray'>{html.escape(rest)}</span>"
                 "<br><i style='color:gray'>(The Selector reads the first "
                 f"{len(exp.abstract)} characters; the grey text was not scored.)</i>")
    # The legend sits on the highlighted text itself, where a reader needs it.
    return f"<p style='font-size:small'>{legend_html(base)}</p><p style='line-height:130%'>{text}</p>"


def _terms_html(exp: Explanation) -> str:
    rows = []
    good = exp.supporting_terms()
    if good:
        rows.append("Key terms: " + ", ".join(f"<b>{html.escape(t.term)}</b>&nbsp;{t.effect:+.2f}" for t in good))
    bad = exp.opposing_terms()
    if bad:
        rows.append("Shared words that lower it: "
                    + ", ".join(f"{html.escape(t.term)}&nbsp;{t.effect:+.2f}" for t in bad))
    if exp.missing_terms:
        rows.append("Not in the paper: " + html.escape(", ".join(exp.missing_terms[:8])))
    return "<br>".join(rows)


def _seconds(seconds: float) -> str:
    return "under 0.1 s" if seconds < 0.1 else f"{seconds:.1f} s"


def reason_html(explanation: Explanation, base: RGB) -> str:
    """The summary under the abstract: score, title effect, key terms and how it was measured."""
    exp = explanation
    if exp.kind is ExplanationKind.UNAVAILABLE:
        return f"<i>{html.escape(exp.reason)}</i>"
    if exp.kind is ExplanationKind.GENERATED:
        who = f"{html.escape(exp.model)}'s" if exp.model else "The model's"
        return (f"{html.escape(exp.reason)}<br><span style='color:gray'>{who} own words (generated in "
                f"{_seconds(exp.seconds)}; not checked against the abstract).</span>")
    head = f"<b>{CALIBRATED_SCORE} {exp.score:.2f}</b>" if exp.score is not None else ""
    if exp.title_effect is not None and abs(exp.title_effect) >= NOTABLE:
        head += f" · the title {'adds' if exp.title_effect > 0 else 'takes away'} {abs(exp.title_effect):.2f}"
    if not any(abs(s.effect) >= NOTABLE for s in exp.sentences):
        head += " · no single sentence moves the score by 0.01"
    idle = sum(1 for s in exp.sentences if s.effect == 0.0)
    if idle and len(exp.sentences) > 1:
        # Often the model's reading window: an encoder that reads the first N word pieces never sees the rest.
        head += f" · {idle} of {len(exp.sentences)} sentences change nothing"
    lines = [head, _terms_html(exp)]
    lines.append(f"<span style='color:gray'>Measured by scoring the paper again without each sentence, the "
                 f"title and each shared word ({_seconds(exp.seconds)}); the abstract above is shaded by it. "
                 f"{html.escape(CALIBRATED_GLOSS)}</span>")
    return "<br>".join(line for line in lines if line)
