"""HTML blocks escape every string that comes from data or parameters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.report.blocks import Bullets, Chart, Paragraph, Section, Table

EVIL = "<script>alert(1)</script>"


def test_strings_from_data_are_escaped():
    html = "".join(
        b._repr_html_()
        for b in (
            Section(EVIL),
            Paragraph(EVIL, lead=EVIL),
            Bullets((EVIL,)),
            Table(pd.DataFrame({EVIL: [EVIL]}), caption=EVIL, note=EVIL),
        )
    )
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") == 8  # section 1, paragraph 2, list 1, table 4


def test_chart_is_deterministic_and_escapes_caption():
    def make():
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3], [1, 4, 9])
        ax.set_title("Tỷ lệ hồ sơ")
        return Chart.from_figure(fig, EVIL)

    a, b = make(), make()
    assert a.svg == b.svg
    assert "<script>" not in a._repr_html_()
