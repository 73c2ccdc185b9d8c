"""HTML blocks escape every string that comes from data or parameters."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.documents.blocks import Bullets, Chart, Paragraph, Section, Table, column_widths

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


def test_table_columns_share_the_width_by_their_text():
    # Widths worked out by hand: "Tỉnh" column's longest cell is "Thái Nguyên" (11 characters),
    # "Điểm" holds "72,6" (4) under a 4-letter header; a 60-character cell counts as 40 (it
    # wraps) and a 1-character column as 3 (the narrowest). Shares in whole percent: 11/15 and
    # 4/15 are 73 and 27; 40/43 and 3/43 are 93 and 7.
    frame = pd.DataFrame({"Tỉnh": ["Huế", "Thái Nguyên"], "Điểm": ["9", "72,6"]})
    assert column_widths(frame) == [73, 27]
    wide = pd.DataFrame({"a": ["x" * 60], "b": ["1"]})
    assert column_widths(wide) == [93, 7]
    # Three equal columns round to 33 each; the widest (the first) takes the rest.
    assert column_widths(pd.DataFrame({"a": ["xyz"], "b": ["xyz"], "c": ["xyz"]})) == [34, 33, 33]
    html = Table(frame, caption="c")._repr_html_()
    assert '<colgroup><col style="width: 73%"><col style="width: 27%"></colgroup>' in html
