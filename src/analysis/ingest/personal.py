"""Personal data in dossier exports: which columns carry it, the salted applicant key, redaction.

Exports from a province's dossier-handling system carry the applicant's name, ID number
(CCCD, 12 digits; old CMND, 9 digits), phone, address and e-mail. None of it may reach
``data/processed/``, a report or an error message. The importers therefore

- keep only the columns they know (an unknown column is dropped, since it may hold anything);
- drop the personal columns, except the ID number, which becomes ``applicant_key``: an
  HMAC-SHA256 of the normalised number under a per-installation salt, so repeat applicants
  can be counted without anyone being able to look a person up (a plain hash of a 12-digit
  number is reversed by trying all 10^12 numbers; without the salt the key is useless);
- redact ID numbers, phone numbers and e-mail addresses found in the free text they keep
  (procedure names, agencies, unit names) and in every value they show in a message.

The same redaction pattern runs in Python (:func:`redact_text`) and in DuckDB
(:func:`redact_sql`); it is written in the common subset of Python ``re`` and RE2.
The same key is computed in Python (:func:`applicant_key`) and in DuckDB
(:func:`applicant_key_sql`); a test checks that they agree.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import unicodedata
from pathlib import Path

from analysis import config
from analysis.errors import WorkbenchError

REDACTED = "<redacted>"

# Hex digits of the HMAC kept in `applicant_key`: 128 bits cannot collide among the 10^8 dossiers
# a country receives in a year, and halve the column's size.
KEY_HEX_DIGITS = 32
# The key is written with the letters a-p for the hex digits 0-f: a hex string often holds a run
# of 9 or 12 decimal digits, which a scan for ID or phone numbers would rightly flag.
KEY_ALPHABET = str.maketrans("0123456789abcdef", "abcdefghijklmnop")

SALT_FILE_NAME = ".salt"
_SALT_BYTES = 32

# Personal columns by kind: the header spellings of real exports, folded by `fold`.
PERSONAL_HEADERS: dict[str, tuple[str, ...]] = {
    "applicant_name": (
        "applicant",
        "applicant name",
        "name",
        "full name",
        "họ tên",
        "họ và tên",
        "tên người nộp",
        "người nộp",
        "người nộp hồ sơ",
        "tên người nộp hồ sơ",
        "chủ hồ sơ",
        "tên chủ hồ sơ",
        "tên công dân",
        "người đứng tên",
        "tên tổ chức cá nhân",
        "tổ chức cá nhân",
    ),
    "id_number": (
        "id number",
        "national id",
        "citizen id",
        "cccd",
        "cmnd",
        "cccd cmnd",
        "cmnd cccd",
        "số cccd",
        "số cmnd",
        "số cccd cmnd",
        "số cmnd cccd",
        "căn cước công dân",
        "số căn cước",
        "số căn cước công dân",
        "số định danh",
        "số định danh cá nhân",
        "số giấy tờ",
        "số giấy tờ tùy thân",
        "hộ chiếu",
        "số hộ chiếu",
        "passport",
    ),
    "phone": (
        "phone",
        "phone number",
        "mobile",
        "telephone",
        "điện thoại",
        "số điện thoại",
        "sđt",
        "di động",
        "số di động",
    ),
    "address": (
        "address",
        "địa chỉ",
        "địa chỉ thường trú",
        "địa chỉ liên hệ",
        "nơi cư trú",
        "nơi ở",
        "chỗ ở hiện nay",
    ),
    "email": ("email", "e mail", "mail", "thư điện tử", "địa chỉ email", "địa chỉ thư điện tử"),
}

# Fragments that mark a header as personal even in a spelling not listed above. Only used to
# name what was dropped: unknown columns are dropped anyway.
_PERSONAL_FRAGMENTS: dict[str, tuple[str, ...]] = {
    "id_number": ("cccd", "cmnd", "cancuoc", "dinhdanh", "hochieu", "giaytotuythan"),
    "phone": ("dienthoai", "sdt", "didong"),
    "address": ("diachi", "address", "cutru"),
    "email": ("email",),
    "applicant_name": ("hoten", "hovaten", "nguoinop", "chuhoso"),
}

# Redaction, in the common subset of Python `re` (with re.ASCII) and RE2 (DuckDB), so both
# engines redact the same text: no look-behind, ASCII `\b`, explicit [0-9].
_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
# +84 and 9-10 digits, or 0 / +84 then digits in groups of 3-4 split by single spaces, dots or
# dashes ("0912 345 678", "091 234 5678", "+84 912.345.678"). Groups of 3-4 keep procedure codes
# ("1.001234.000.00.00.H26") and dates intact; `\b` keeps the zeros inside "10 000 000" apart.
# A phone without separators is a run of 9+ digits, taken by _DIGITS.
_PHONE = r"\+84[0-9]{9,10}|(?:\+84[ .\-]?|\b0)[0-9]{1,3}(?:[ .\-][0-9]{3,4}){2,3}\b"
# An ID number written in groups of three ("001 090 012 345", "123.456.789"). It also takes
# amounts of a billion or more written the same way; procedure names rarely state them.
_ID_GROUPED = r"\b[0-9]{3}(?:[ .][0-9]{3}){2,3}\b"
# Any run of 9 or more digits: CMND (9), CCCD (12), a phone without its leading 0, a tax code.
# No procedure name or agency has such a run, so over-redaction costs nothing.
_DIGITS = r"[0-9]{9,}"
# Alternatives are tried in this order at each position (leftmost-first in both engines): the
# digit run first, so a 12-digit CCCD starting with 0 is not cut short as a 10-digit phone.
REDACT_PATTERN = "|".join((_EMAIL, _DIGITS, _ID_GROUPED, _PHONE))
_REDACT = re.compile(REDACT_PATTERN, re.ASCII)


def fold(text: object) -> str:
    """Matching key of a header or a category word: ASCII letters and digits only.

    NFC, lowercase, diacritics dropped (đ -> d), everything but a-z and 0-9 removed, so that
    "Số CCCD/CMND", "so cccd cmnd" and "SoCCCD_CMND" share one key.

    Examples
    --------
    >>> fold("Ngày tiếp nhận")
    'ngaytiepnhan'
    >>> fold("Số CCCD/CMND")
    'socccdcmnd'
    """
    text = unicodedata.normalize("NFC", str(text)).casefold().replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "", text)


_PERSONAL_KEYS: dict[str, str] = {
    fold(alias): kind for kind, aliases in PERSONAL_HEADERS.items() for alias in aliases
}


def personal_kind(header: str) -> str | None:
    """The kind of personal data a column header announces, or None.

    Parameters
    ----------
    header : str
        A column header as written.

    Returns
    -------
    str or None
        One of ``PERSONAL_HEADERS``' keys (``"applicant_name"``, ``"id_number"``, ``"phone"``,
        ``"address"``, ``"email"``).

    Examples
    --------
    >>> personal_kind("Số CCCD/CMND người nộp")
    'id_number'
    >>> personal_kind("Ngày tiếp nhận") is None
    True
    """
    key = fold(header)
    if key in _PERSONAL_KEYS:
        return _PERSONAL_KEYS[key]
    for kind, fragments in _PERSONAL_FRAGMENTS.items():
        if any(f in key for f in fragments):
            return kind
    return None


def redact_text(text: object) -> str:
    """Replace ID numbers, phone numbers and e-mail addresses in ``text`` by ``<redacted>``.

    Names and addresses cannot be recognised in free text; they are kept out by dropping their
    columns instead.

    Examples
    --------
    >>> redact_text("gọi 0912 345 678 hoặc a.b@mail.vn, CCCD 001090012345")
    'gọi <redacted> hoặc <redacted>, CCCD <redacted>'
    """
    return _REDACT.sub(REDACTED, unicodedata.normalize("NFC", str(text)))


def redact_sql(expr: str) -> str:
    """DuckDB expression redacting ``expr`` as :func:`redact_text` does."""
    return f"regexp_replace({expr}, '{REDACT_PATTERN}', '{REDACTED}', 'g')"


def normalise_id(value: object) -> str:
    """An ID number as it is hashed: letters and digits only, upper case ("001 090-012.345")."""
    # ASCII only, stripped before upper-casing, exactly as applicant_key_sql does in DuckDB.
    return re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()


def salt_path() -> Path:
    """Where the installation's salt lives: ``data/processed/.salt`` (read at call time)."""
    return config.PROCESSED_DIR / SALT_FILE_NAME


def load_salt(path: Path | str | None = None) -> bytes:
    """The installation's salt, created with :mod:`secrets` on first use.

    The salt is never written anywhere else. Deleting it changes every ``applicant_key`` from
    then on, so repeat applicants can no longer be matched with earlier imports.

    Parameters
    ----------
    path : path-like, optional
        Default :func:`salt_path`.

    Returns
    -------
    bytes
        32 random bytes.
    """
    target = Path(path) if path is not None else salt_path()
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".salt.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(_SALT_BYTES) + "\n")
            os.chmod(tmp, 0o600)
            # link() fails if the file appeared meanwhile: two first imports at once keep one salt.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    text = target.read_text(encoding="ascii", errors="replace").strip()
    if not re.fullmatch(f"[0-9a-f]{{{2 * _SALT_BYTES}}}", text):
        raise WorkbenchError(
            f"the salt file {target} is damaged",
            hint="restore it from a backup; deleting it gives every applicant a new key",
        )
    return bytes.fromhex(text)


def applicant_key(id_number: object, salt: bytes) -> str | None:
    """HMAC-SHA256 of the normalised ID number under ``salt``: its first 32 hex digits, as a-p.

    Parameters
    ----------
    id_number : object
        As written in the export; None or blank gives None.
    salt : bytes
        From :func:`load_salt`.

    Returns
    -------
    str or None
    """
    if id_number is None:
        return None
    text = normalise_id(id_number)
    if not text:
        return None
    digest = hmac.new(salt, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:KEY_HEX_DIGITS].translate(KEY_ALPHABET)


def _pads(salt: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keys (RFC 2104), so DuckDB can compute it with two sha256 calls."""
    key = hashlib.sha256(salt).digest() if len(salt) > 64 else salt
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def applicant_key_sql(expr: str, salt: bytes) -> tuple[str, list[bytes]]:
    """DuckDB expression computing :func:`applicant_key` of the VARCHAR ``expr``.

    Parameters
    ----------
    expr : str
        SQL expression of the ID number as written.
    salt : bytes

    Returns
    -------
    sql : str
        The expression, with two ``?`` placeholders.
    params : list of bytes
        The inner and outer HMAC keys, to bind to the placeholders in order. They stay in the
        query's memory: nothing derived from the salt but the key itself is ever stored.
    """
    ipad, opad = _pads(salt)
    norm = f"upper(regexp_replace({expr}, '[^0-9A-Za-z]', '', 'g'))"  # as normalise_id
    sql = (
        f"CASE WHEN {norm} <> '' THEN translate(left(sha256(?::BLOB || unhex(sha256(?::BLOB "
        f"|| encode({norm})))), {KEY_HEX_DIGITS}), '0123456789abcdef', 'abcdefghijklmnop') END"
    )
    # Placeholders appear outer key first.
    return sql, [opad, ipad]
