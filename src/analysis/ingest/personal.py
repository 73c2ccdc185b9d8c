"""Personal data in dossier exports: which columns carry it, the salted applicant key, redaction.

Exports from a province's dossier-handling system carry the applicant's name, ID number
(CCCD, 12 digits; old CMND, 9 digits), phone, address and e-mail. None of it may reach
``data/processed/``, a report or an error message. The importers therefore

- keep only the columns they know (an unknown column is dropped, since it may hold anything);
- drop the personal columns, except the ID number, which becomes ``applicant_key``: an
  HMAC-SHA256 of the normalised number under a per-user secret (the salt), so repeat applicants
  can be counted without anyone being able to look a person up (a plain hash of a 12-digit
  number is reversed by trying all 10^12 numbers; without the salt the key is useless);
- redact ID numbers, phone numbers, e-mail addresses (however they are grouped or spelled) and
  names introduced as a person's ("ông …", "người nộp: …") in the text they keep (agencies, unit
  names, procedure codes; procedure names only when the analyst asks for them) and in every value
  they show in a message;
- replace a dossier id that is, or holds, an ID or phone number by a keyed hash of it
  (:func:`dossier_key`).

The salt of both keys is a per-user secret outside the data tree (:func:`load_salt`): with a
copy of the data alone, no key can be tried against the ~2·10^10 plausible ID numbers.

The number and e-mail patterns run in Python (:func:`redact_text`), in DuckDB (:func:`redact_sql`)
and in pyarrow (``PERSONAL_ID_PATTERN``); they are written in the common subset of Python ``re``
and RE2.
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
from analysis.text import fold as text_fold

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

# Redaction, in the common subset of Python `re` (with re.ASCII) and RE2 (DuckDB, pyarrow), so
# every engine redacts the same text: no look-behind, ASCII `\b`, explicit [0-9].
# An e-mail address, local part and domain in any script ("trần.thị@công-ty.vn"): anything but
# blanks and the punctuation that ends an address in running text.
_ADDR = r"""[^\s@<>()\[\]{},;:"'/\\|]"""
_EMAIL = rf"{_ADDR}+@[^\s@<>()\[\]{{}},;:\"'/\\|.]+(?:\.[^\s@<>()\[\]{{}},;:\"'/\\|.]+)+"
# A phone is 0 and 9-10 digits (mobile 10, landline 11) or +84 and 9-10 digits, written whole
# or in groups split by a space, dot or dash: "0912 345 678", "091 234 5678", "0912 34 56 78",
# "0912 345678", "(091) 234 5678", "(024) 3825 1234", "+84 912.345.678", "(+84) 91 234 5678".
# Groups of 2-4 keep procedure codes ("1.001234.000.00.00.H26") and dates intact; `\b` keeps the
# zeros inside "10 000 000" apart. A phone without separators is a run of 9+ digits (_DIGITS).
_PHONE = "|".join(
    (
        r"\+84[0-9]{9,10}",
        r"(?:\+84|\(\+84\))[ .\-]?(?:\(0\)[ .\-]?)?[0-9]{1,3}(?:[ .\-][0-9]{2,4}){2,4}\b",
        r"\(0[0-9]{1,3}\)[ .\-]?[0-9]{3,4}(?:[ .\-]?[0-9]{3,4}){1,2}\b",
        r"\b0[0-9]{1,3}(?:[ .\-][0-9]{3,4}){2,3}\b",
        r"\b0[0-9]{2,3}(?:[ .\-][0-9]{2}){3,4}\b",
        r"\b0[0-9]{2,3}[ .\-][0-9]{6,8}\b",
    )
)
# An ID number (CCCD: 3 digits of the province, 1 of sex and century, 2 of the year of birth,
# 6 more; CMND: 9) in groups: "001 090 012 345", "001-090-012345", "001.0.90.012345",
# "0010 9001 2345", "123.456.789". It also takes amounts of a billion or more grouped in threes;
# procedure names rarely state them.
_ID_GROUPED = "|".join(
    (
        r"\b[0-9]{3}(?:[ .\-][0-9]{3}){2,3}\b",
        r"\b[0-9]{3}[ .\-][0-9]{3}[ .\-][0-9]{6}\b",
        r"\b[0-9]{3}[ .\-][0-9][ .\-]?[0-9]{2}[ .\-][0-9]{6}\b",
        r"\b[0-9]{4}[ .\-][0-9]{4}[ .\-][0-9]{4}\b",
        r"\b[0-9]{3}[ .\-][0-9]{9}\b",
    )
)
# Any run of 9 or more digits: CMND (9), CCCD (12), a phone without its leading 0, a tax code.
# No procedure name or agency has such a run, so over-redaction costs nothing.
_DIGITS = r"[0-9]{9,}"
# Alternatives are tried in this order at each position (leftmost-first in both engines): the
# digit run first, so a 12-digit CCCD starting with 0 is not cut short as a 10-digit phone.
REDACT_PATTERN = "|".join((_EMAIL, _DIGITS, _ID_GROUPED, _PHONE))
_REDACT = re.compile(REDACT_PATTERN, re.ASCII)

# A dossier id that is, or holds, a personal number or address: the whole id is then replaced by
# a keyed hash (:func:`dossier_key`). System codes ("000.00.12.H26-240605-0001", "2406050001234")
# are kept: a digit run counts only when it has 9 to 12 digits, the lengths of CMND, CCCD and
# phone numbers.
PERSONAL_ID_PATTERN = "|".join(
    (_EMAIL, r"(?:^|[^0-9])(?:\+84)?[0-9]{9,12}(?:[^0-9]|$)", _ID_GROUPED, _PHONE)
)
DOSSIER_KEY_PREFIX = "hs-"

# A person introduced by a form of address or a label ("cho ông Nguyễn Văn An", "chị Trần Thị
# Bích", "Người nộp: Lê Văn Cường"): the introduction is kept, the name (two to five capitalised
# words) redacted. Python only (RE2 and re.ASCII have no Vietnamese letter classes). A bare name
# is not taken: streets, wards and schools are named after people ("phường Nguyễn Thái Bình"), and
# places start with the same words capitalised ("Bà Rịa", "Cô Tô", "Bác Ái", "Cầu Ông Lãnh"), so
# a form of address counts in lower case only.
_UPPER = "A-ZÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
_NAME_WORD = rf"[{_UPPER}][^\s\d.,;:()\[\]/\\\-]*"
_ADDRESS_FORMS = "ông|bà|anh|chị|em|cháu|cụ|công dân"
_LABELS = "(?i:người nộp|người đứng tên|chủ hồ sơ|họ tên|họ và tên|applicant)"
_NAMED_PERSON = re.compile(
    rf"(?<![^\W\d_])((?:{_ADDRESS_FORMS})|{_LABELS})(\.?:?\s+)"
    rf"({_NAME_WORD}(?:\s+{_NAME_WORD}){{1,4}})"
)


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
    return re.sub(r"[^a-z0-9]+", "", text_fold(text))


PERSONAL_KEYS: dict[str, str] = {
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
    if key in PERSONAL_KEYS:
        return PERSONAL_KEYS[key]
    for kind, fragments in _PERSONAL_FRAGMENTS.items():
        if any(f in key for f in fragments):
            return kind
    return None


def redact_text(text: object) -> str:
    """Replace ID numbers, phone numbers, e-mail addresses and introduced names by ``<redacted>``.

    Numbers and addresses are found however they are grouped (see ``REDACT_PATTERN``); a name
    only when a form of address or a label introduces it ("ông", "chị", "người nộp"): a bare
    name cannot be told from the streets, wards and schools named after people.

    Examples
    --------
    >>> redact_text("gọi 0912 345 678 hoặc a.b@mail.vn, CCCD 001090012345")
    'gọi <redacted> hoặc <redacted>, CCCD <redacted>'
    >>> redact_text("(091) 234 5678, CCCD 001-090-012345, trần.thị@công-ty.vn")
    '<redacted>, CCCD <redacted>, <redacted>'
    >>> redact_text("Cấp bản sao cho chị Trần Thị Bích")
    'Cấp bản sao cho chị <redacted>'
    """
    text = _REDACT.sub(REDACTED, unicodedata.normalize("NFC", str(text)))
    return _NAMED_PERSON.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def redact_sql(expr: str) -> str:
    """DuckDB expression redacting numbers and e-mails in ``expr`` as :func:`redact_text` does.

    Introduced names are redacted in Python only (RE2 has no Vietnamese letter classes).
    """
    pattern = REDACT_PATTERN.replace("'", "''")
    return f"regexp_replace({expr}, '{pattern}', '{REDACTED}', 'g')"


def holds_personal_data(text: object) -> bool:
    """Whether a dossier id is, or holds, an ID number, a phone number or an e-mail address.

    Examples
    --------
    >>> holds_personal_data("000.00.12.H26-240605-0001"), holds_personal_data("0912345678")
    (False, True)
    """
    return (
        re.search(PERSONAL_ID_PATTERN, unicodedata.normalize("NFC", str(text)), re.ASCII)
        is not None
    )


def normalise_id(value: object) -> str:
    """An ID number as it is hashed: letters and digits only, upper case ("001 090-012.345")."""
    # ASCII only, stripped before upper-casing, exactly as applicant_key_sql does in DuckDB.
    return re.sub(r"[^0-9A-Za-z]", "", str(value)).upper()


SECRET_ENV = "WORKBENCH_SECRET"


def salt_path() -> Path:
    """Where this user's secret lives: ``$XDG_CONFIG_HOME/workbench/secret``.

    By default ``~/.config/workbench/secret``: outside the data tree, so a copy or a backup of
    the data never carries the key that would let anyone try every ID number against it.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "workbench" / "secret"


def _legacy_salt_path() -> Path:
    """Where earlier versions kept the salt: inside the data tree (``data/processed/.salt``)."""
    return config.PROCESSED_DIR / SALT_FILE_NAME


def _parse_secret(text: str, where: str) -> bytes:
    text = text.strip()
    if not re.fullmatch(f"[0-9a-fA-F]{{{2 * _SALT_BYTES}}}", text):
        raise WorkbenchError(
            f"the secret in {where} is not 64 hexadecimal digits",
            hint="restore it from a colleague or a backup; a new one "
            "(python -c 'import secrets; print(secrets.token_hex(32))') gives every "
            "applicant a new key",
        )
    return bytes.fromhex(text)


def _create(target: Path, content: str) -> None:
    """Write ``content`` to ``target`` with mode 600, unless the file appeared meanwhile."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".secret.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(content + "\n")
        os.chmod(tmp, 0o600)
        # link() fails if the file appeared meanwhile: two first imports at once keep one secret.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def load_salt(path: Path | str | None = None) -> bytes:
    """The secret (salt) of the keyed hashes, kept outside the data tree.

    In order: ``path`` when given; the environment variable ``WORKBENCH_SECRET`` (64 hex digits,
    for a shared server or colleagues who must join their imports: they set the same value);
    the file :func:`salt_path`, created with :mod:`secrets` and mode 600 on first use. A salt an
    earlier version left in ``data/processed/.salt`` is moved there, so keys stay the same and
    the data tree no longer holds it.

    Parameters
    ----------
    path : path-like, optional
        A secret file to use instead (created if absent).

    Returns
    -------
    bytes
        32 bytes.

    Raises
    ------
    WorkbenchError
        The secret is damaged, or its file can be read by other users.
    """
    if path is None:
        value = os.environ.get(SECRET_ENV)
        if value is not None:
            return _parse_secret(value, f"${SECRET_ENV}")
    target = Path(path) if path is not None else salt_path()
    if not target.exists():
        legacy = _legacy_salt_path()
        if path is None and legacy.is_file():
            # Moved, not copied: a salt beside the data is what made the keys reversible.
            _create(target, legacy.read_text(encoding="ascii", errors="replace").strip())
            legacy.unlink()
        else:
            _create(target, secrets.token_hex(_SALT_BYTES))
    mode = os.stat(target).st_mode
    if mode & 0o077:
        raise WorkbenchError(
            f"the secret {target} can be read by other users (mode {oct(mode & 0o777)[2:]})",
            hint=f"make it private: chmod 600 {target}",
        )
    return _parse_secret(target.read_text(encoding="ascii", errors="replace"), str(target))


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


def dossier_key(dossier_id: object, salt: bytes) -> str:
    """The id a dossier is stored under when its own id holds personal data.

    ``hs-`` and the first 32 hex digits (as a-p) of the HMAC-SHA256 of ``dossier_id:`` and the id
    as written, under ``salt``: the same id gets the same key, so repeats and duplicates are still
    found, and the key is never equal to an ``applicant_key`` of the same number.

    Examples
    --------
    >>> key = dossier_key("0912345678", bytes(32))
    >>> key.startswith("hs-") and len(key) == 35 and key == dossier_key("0912345678", bytes(32))
    True
    """
    message = b"dossier_id:" + unicodedata.normalize("NFC", str(dossier_id)).encode("utf-8")
    digest = hmac.new(salt, message, hashlib.sha256).hexdigest()
    return DOSSIER_KEY_PREFIX + digest[:KEY_HEX_DIGITS].translate(KEY_ALPHABET)


def hmac_pads(salt: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer keys (RFC 2104), so DuckDB can compute it with two sha256 calls.

    Parameters
    ----------
    salt : bytes
        The per-user secret.

    Returns
    -------
    (ipad, opad) : bytes
        64 bytes each, the key XOR 0x36 and XOR 0x5C.
    """
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
    ipad, opad = hmac_pads(salt)
    norm = f"upper(regexp_replace({expr}, '[^0-9A-Za-z]', '', 'g'))"  # as normalise_id
    sql = (
        f"CASE WHEN {norm} <> '' THEN translate(left(sha256(?::BLOB || unhex(sha256(?::BLOB "
        f"|| encode({norm})))), {KEY_HEX_DIGITS}), '0123456789abcdef', 'abcdefghijklmnop') END"
    )
    # Placeholders appear outer key first.
    return sql, [opad, ipad]
