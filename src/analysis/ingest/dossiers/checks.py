"""The row checks of a dossier import (``CHECKS``): one bit of a row's mask each."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.ingest.dossiers.schema import (
    BOOLEAN_FIELDS,
    DATE_FIELDS,
    DATE_HINT,
    MAX_PLAUSIBLE_NUMBER,
    YEAR_RANGE,
)


@dataclass(frozen=True)
class Check:
    """One validation, one bit of a row's problem mask.

    ``message`` and ``hint`` may name {received}, {n}, {first}, {province_message} and
    {province_hint}; ``reason`` is the message without them, for the rejected-rows file.
    """

    key: str
    kind: str
    field: str
    message: str
    hint: str
    reason: str = ""

    @property
    def short(self) -> str:
        return self.reason or self.message


_YES_NO_HINT = "write 1/0, có/không, true/false, or x for yes and leave it empty for no"
_LEVEL_HINT = "write tỉnh, huyện or xã (province, district, commune)"


def _make_checks() -> tuple[Check, ...]:
    lo, hi = YEAR_RANGE
    checks = [
        Check(
            "missing:dossier_id",
            "missing_value",
            "dossier_id",
            "empty",
            "every dossier needs its code (mã hồ sơ)",
        ),
        Check(
            "missing:province",
            "missing_value",
            "province",
            "empty",
            "write the province of the handling agency",
        ),
        Check(
            "unknown_province",
            "unknown_province",
            "province",
            "{province_message}",
            "{province_hint}",
            reason="unknown province",
        ),
        Check(
            "option_mismatch:province",
            "option_mismatch",
            "province",
            "not the province given by --province",
            "drop --province, or import the other provinces' dossiers without it",
        ),
        Check("missing:level", "missing_value", "level", "empty", _LEVEL_HINT),
        Check("unknown_level", "unknown_level", "level", "not a level", _LEVEL_HINT),
        Check(
            "district_after_reform",
            "unknown_level",
            "level",
            "district level after 1 July 2025, when districts were abolished",
            "dossiers from that day belong to the province or a commune",
        ),
        Check(
            "missing:procedure",
            "missing_value",
            "procedure",
            "empty",
            "every dossier needs its procedure (mã thủ tục or tên thủ tục)",
        ),
    ]
    for f in DATE_FIELDS:
        if f != "finished_date":
            checks.append(Check(f"missing:{f}", "missing_value", f, "empty", DATE_HINT))
        checks.append(
            Check(f"bad_date:{f}", "bad_date", f, "not a date", f"{DATE_HINT}; years {lo}–{hi}")
        )
    for f in ("received_date", "finished_date"):
        checks.append(
            Check(
                f"future:{f}",
                "future_date",
                f,
                "in the future (today is {today})",
                "check the year and the day/month order (dd/mm/yyyy)",
                reason="in the future",
            )
        )
    checks += [
        Check(
            "due_before_received",
            "due_before_received",
            "due_date",
            "before the received date {received}",
            "the due date is the received date plus the procedure's time limit",
            reason="before the received date",
        ),
        Check(
            "finished_before_received",
            "finished_before_received",
            "finished_date",
            "before the received date {received}",
            "check the day/month order; leave it empty if the dossier is not finished",
            reason="before the received date",
        ),
        Check(
            "missing:channel",
            "missing_value",
            "channel",
            "empty",
            "write the channel: trực tiếp, trực tuyến or bưu chính (or 1, 2, 3)",
        ),
        Check(
            "unknown_channel",
            "unknown_channel",
            "channel",
            "not a channel",
            "write trực tiếp, trực tuyến or bưu chính, or the codes 1, 2, 3",
        ),
        Check(
            "bad_number:supplement_requests",
            "bad_number",
            "supplement_requests",
            "not a whole number",
            "write a whole number of requests: 0, 1, 2…",
        ),
        Check(
            "negative:supplement_requests",
            "negative_number",
            "supplement_requests",
            "negative",
            "the number of supplement requests is 0 or more",
        ),
        Check(
            "bad_number:fee_vnd",
            "bad_number",
            "fee_vnd",
            "not a whole number of đồng",
            "write the fee as 50000 or 50.000 (dots group thousands)",
        ),
        Check(
            "negative:fee_vnd",
            "negative_fee",
            "fee_vnd",
            "negative",
            "the fee is 0 or more đồng; a refund is not a fee",
        ),
    ]
    checks += [
        Check(
            f"implausible:{f}",
            "personal_number",
            f,
            f"{MAX_PLAUSIBLE_NUMBER:,} or more: a phone or ID number in the wrong column?",
            "check the column; personal numbers are never stored",
        )
        for f in ("supplement_requests", "fee_vnd")
    ]
    checks += [
        Check(f"bad_boolean:{f}", "bad_boolean", f, "not yes or no", _YES_NO_HINT)
        for f in BOOLEAN_FIELDS
    ]
    checks += [
        Check(
            "unknown_rating",
            "unknown_rating",
            "rating",
            "not a rating",
            "write hài lòng, bình thường or không hài lòng, or leave it empty",
        ),
        Check(
            "inconsistent:fully_online",
            "inconsistent_flags",
            "fully_online",
            "fully online, but the channel is not online",
            "a fully online dossier is submitted online (channel 2)",
        ),
        Check(
            "inconsistent:paid_online",
            "inconsistent_flags",
            "paid_online",
            "paid online, but the fee is 0",
            "check the fee, or the payment flag",
        ),
        Check(
            "inconsistent:e_result",
            "inconsistent_flags",
            "e_result",
            "an electronic result for a procedure marked as issuing no result",
            "check the column 'procedure issues a result'",
        ),
        # Set in DuckDB once all rows are in: they compare rows with each other.
        Check(
            "duplicate_id",
            "duplicate_id",
            "dossier_id",
            "the same dossier id is on {n} rows with different values (first at row {first})",
            "keep one row per dossier: the export may mix two versions of it",
            reason="the same dossier id on several rows with different values",
        ),
        Check(
            "repeated_row",
            "repeated_row",
            "dossier_id",
            "repeats row {first} exactly",
            "delete the repeated row",
            reason="repeats an earlier row exactly",
        ),
        # Set in DuckDB against the dossiers already imported into the same folder from other
        # files: `score` reads them all, so a dossier in two files would count twice.
        Check(
            "in_other_file",
            "duplicate_across_files",
            "dossier_id",
            "already imported from {other} (row {other_row} there)",
            "import each dossier once: the exports overlap, or one is the other saved again; "
            "delete the older dossiers/<file>.parquet to replace it",
            reason="already imported from another file",
        ),
    ]
    if len(checks) > 62:  # one bit each of a BIGINT
        raise ValueError("too many checks for the mask")
    return tuple(checks)


CHECKS = _make_checks()
BIT = {c.key: 1 << i for i, c in enumerate(CHECKS)}
