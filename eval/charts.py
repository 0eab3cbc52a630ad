"""PNG charts for the evaluation report (matplotlib, Agg: no display on a server or in CI).

Labels are English so a chart reads the same on a machine without a CJK font; when
"Noto Sans CJK SC" is installed (Debian: fonts-noto-cjk) it is put first so that any Chinese
label — a question type 单选/判断/多选 — renders instead of showing boxes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported: no display on a server or in CI
import matplotlib.pyplot as plt
from matplotlib import font_manager

CJK_FONT = "Noto Sans CJK SC"
COLOURS = ("#1f5fa8", "#6fa8dc", "#e69138", "#999999", "#6aa84f", "#cc4125")


def has_cjk_font() -> bool:
    try:
        font_manager.findfont(CJK_FONT, fallback_to_default=False)
    except ValueError:
        return False
    return True


def _style() -> None:
    families = [CJK_FONT, "DejaVu Sans"] if has_cjk_font() else ["DejaVu Sans"]
    plt.rcParams.update({"font.family": "sans-serif", "font.sans-serif": families, "axes.unicode_minus": False,
                         "figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False})


def grouped_bars(path: Path, title: str, groups: Sequence[str], series: Mapping[str, Sequence[float]],
                 ylabel: str = "score", counts: Sequence[int] | None = None) -> Path:
    """Bars for each group (x axis), one colour per series, each bar labelled with its value.

    ``counts`` (questions per group) are appended to the group labels: a 1.000 on 11
    questions and on 51 should not look equally solid.
    """
    _style()
    n = max(len(series), 1)
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) * (1 + n / 3)), 4.2))
    for i, (name, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, values, width * 0.95, label=name, color=COLOURS[i % len(COLOURS)])
        ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1, rotation=90 if n > 2 else 0)
    labels = [f"{g}\n(n={c})" for g, c in zip(groups, counts, strict=True)] if counts else list(groups)
    ax.set_xticks(range(len(groups)), labels, fontsize=9)
    ax.set_ylim(0, 1.18)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8, ncol=min(n, 4), loc="upper center", bbox_to_anchor=(0.5, -0.16 if counts else -0.1),
                  frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def horizontal_bars(path: Path, title: str, values: Mapping[str, float], note: str = "") -> Path:
    """One bar per metric, labelled with its value: for a list of unrelated figures."""
    _style()
    names = list(values)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(names) + 1.4))
    bars = ax.barh(range(len(names)), [values[k] for k in names], color=COLOURS[0])
    ax.bar_label(bars, labels=[f"{values[k]:.3f}" for k in names], fontsize=8, padding=2)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    if note:
        fig.text(0.01, 0.01, note, fontsize=7, color="#555555")
    fig.tight_layout(rect=(0, 0.04 if note else 0, 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path
