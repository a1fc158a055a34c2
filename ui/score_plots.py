"""Live selector-score plots: a histogram with the run's selection threshold, and counts over time.

The histogram's x axis is the Selector's probability. For a calibrated Selector it says how many of the
scored papers would likely be cited for the question (the sum of their probabilities; what that number is,
and is not, is engine/models/score_meaning.py); for one that is not calibrated (an
LLM's P(True)) it says so instead of a count, since then neither the sum nor the bars' position means that.
A run that had no Selector (the default one still being prepared) shows no axis scale or threshold, and
says why in the caption: nothing was scored.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from engine.models.score_meaning import CALIBRATED_MEANING, CALIBRATED_SCORE, expected_cited_text
from pasa_desktop.selector_setup import NOT_SCORED
from ui import colors
from ui.crawl_state import CrawlState

BINS = np.linspace(0.0, 1.0, 21)


def not_scored_reason(state: CrawlState) -> str:
    """The Notice text of a run that had no Selector ("" for a run that had one)."""
    return next((n.message for n in state.notices if n.source == "selector" and n.message.startswith(NOT_SCORED)), "")



def threshold_text(value: float) -> str:
    """Two decimals, or three where two would round the real threshold (0.125 is not "0.12")."""
    exact = f"{value:.3f}".rstrip("0")
    return exact if len(exact.split(".")[-1]) > 2 else f"{value:.2f}"


class ScorePlots(QWidget):
    def __init__(self, state: CrawlState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self.histogram = pg.PlotWidget()
        colors.style_plot(self.histogram, "Score histogram")
        self.histogram.setMenuEnabled(False)
        self.histogram.setMouseEnabled(x=False, y=False)
        self.histogram.setLabel("left", "papers")
        self.histogram.setXRange(0, 1, padding=0.02)
        centres = (BINS[:-1] + BINS[1:]) / 2
        self._centres = centres
        self._bars = pg.BarGraphItem(x=centres, height=np.zeros(len(centres)), width=0.045)
        self.histogram.addItem(self._bars)
        dash = pg.QtCore.Qt.PenStyle.DashLine
        self._threshold = pg.InfiniteLine(
            pos=state.threshold, angle=90, pen=pg.mkPen((120, 120, 120), width=2, style=dash),
            label="", labelOpts={"position": 0.93, "color": colors.plot_colors()[1], "anchors": [(0, 0), (0, 0)]},
        )
        self.histogram.addItem(self._threshold)
        # What the bars add up to, in words: "about N of these are likely relevant" or why there is no N.
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        # (threshold, rule, calibrated, unscored, started) as drawn
        self._scale: tuple[float, str, bool, bool, bool] | None = None

        self.timeline = pg.PlotWidget()
        colors.style_plot(self.timeline, "Found · scored · selected over time")
        self.timeline.setMenuEnabled(False)
        self.timeline.setLabel("bottom", "seconds")
        self.timeline.addLegend(offset=(8, 8), labelTextColor=colors.plot_colors()[1])
        self.timeline.setLabel("left", "papers")
        self._curves = {
            "found": self.timeline.plot(name="found", pen=pg.mkPen(colors.QUERY, width=2)),
            "scored": self.timeline.plot(name="scored", pen=pg.mkPen(colors.SECTION, width=2)),
            "selected": self.timeline.plot(name="selected", pen=pg.mkPen(colors.score_color(1.0), width=2)),
        }
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(2)
        left.addWidget(self.histogram, 1)
        left.addWidget(self.caption)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left)
        layout.addWidget(self.timeline)
        self.redraw()

    def reset(self, state: CrawlState) -> None:
        self._state = state
        self._scale = None
        self.redraw()

    def _apply_scale(self) -> None:
        """Axis, threshold line and bar colours for this run's rule; redone only when the rule changes."""
        state = self._state
        # Before any search no rule is known: the app's default threshold would not be the Selector's.
        unscored = bool(not_scored_reason(state)) or not state.started
        scale = (state.threshold, state.select_rule, state.calibrated, unscored, state.started)
        if scale == self._scale:
            return
        self._scale = scale
        by_threshold = state.select_rule != "top_unrejected" and not unscored
        colors.set_threshold(state.threshold if by_threshold else None)
        if not state.started:
            self.histogram.setLabel("bottom", "score (no search yet)")
        elif unscored:
            self.histogram.setLabel("bottom", "score (none in this run)")
        elif state.calibrated:
            # "P(cited)" alone: the pane is narrow at 1024×700, and the caption's tooltip says it is calibrated.
            self.histogram.setLabel("bottom", CALIBRATED_SCORE)
        else:
            self.histogram.setLabel("bottom", "P(True), not calibrated")
        self._threshold.setVisible(by_threshold)
        if by_threshold:
            self._threshold.setValue(state.threshold)
            self._threshold.label.setFormat(f"select > {threshold_text(state.threshold)}")
        brushes = [pg.mkBrush(colors.score_color(float(c))) for c in self._centres]
        self._bars.setOpts(brushes=brushes)

    def caption_text(self) -> str:
        """One short line under the histogram (it shares a small pane at 1024×700); details in the tooltip."""
        state = self._state
        scored = len(state.scores)
        unscored = not_scored_reason(state)
        if not state.started:
            self.caption.setToolTip("")
            return "No search yet: scores appear as the Selector reads papers."
        if unscored:
            # The Notice's first part ("Not scored: the relevance Selector is being prepared: embedding
            # papers (…, 60%).") fits the pane; the whole of it, with what the search did instead, is the tooltip.
            self.caption.setToolTip(unscored)
            return unscored.split(" Until it is ready")[0]
        if state.select_rule == "top_unrejected":
            # engine/agent/ranking.rank picks the best select_k by rank (retrieval fused with the Selector),
            # skipping only papers the Selector clearly rejects: not the highest scores.
            rule = f"Selects the best {state.select_k} by rank (no threshold)."
        else:
            rule = f"Selected: score above {state.threshold:.2f}"
            rule += f", and at least the best {state.select_min}." if state.select_min > 0 else "."
        expected = state.expected_cited()
        if expected is None:
            self.caption.setToolTip(f"{rule} An uncalibrated score (an LLM's P(True)) orders papers; its values "
                                    "do not say how likely each one is to be relevant, so they are not summed.")
            text = "Scores are not calibrated (no count)."
            return f"{text} Best {state.select_k} selected." if state.select_rule == "top_unrejected" else text
        self.caption.setToolTip(f"The sum of the calibrated probabilities of the {scored} scored papers: the "
                                f"number of them to expect among the papers cited for such a question. "
                                f"{CALIBRATED_MEANING} {rule}")
        if not scored:
            return rule
        return expected_cited_text(expected, scored)

    def histogram_counts(self) -> list[int]:
        counts, _ = np.histogram(np.array(list(self._state.scores.values()), dtype=float), bins=BINS)
        return [int(c) for c in counts]

    def timeline_series(self) -> dict[str, list[int]]:
        points = self._state.timeline
        return {
            "found": [p.found for p in points],
            "scored": [p.scored for p in points],
            "selected": [p.selected for p in points],
        }

    def redraw(self) -> None:
        self._apply_scale()
        self.caption.setText(self.caption_text())
        counts = self.histogram_counts()
        self._bars.setOpts(height=np.array(counts, dtype=float))
        self.histogram.setYRange(0, max(1, max(counts)) * 1.3, padding=0)
        points = self._state.timeline
        t = np.array([p.seconds for p in points], dtype=float)
        # Step lines: counts hold their value until the next event.
        for name, series in self.timeline_series().items():
            self._curves[name].setData(t, np.array(series, dtype=float), stepMode="left")
        if len(points) < 2:  # before a search: sensible empty axes rather than ±0.5 around nothing
            self.timeline.setXRange(0, 10, padding=0)
            self.timeline.setYRange(0, 10, padding=0)
        else:
            self.timeline.enableAutoRange()
