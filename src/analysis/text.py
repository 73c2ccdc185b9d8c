"""Text rules shared by every layer: the one Vietnamese ASCII fold.

Matching a name or a header typed by hand must not depend on diacritics, tone-mark placement,
case or Unicode normal form; :func:`fold` is that rule, written once. Callers add what their
matching needs on top (collapsed spaces, letters and digits only).
"""

from __future__ import annotations

import unicodedata


def fold(text: object) -> str:
    """Lowercase ASCII of a text: NFC, case folded, đ -> d, every diacritic dropped.

    Parameters
    ----------
    text : object
        Anything; it is read as ``str(text)``.

    Returns
    -------
    str
        Punctuation and spaces are kept as they are.

    Examples
    --------
    >>> fold("Đắk Lắk")
    'dak lak'
    >>> fold("50.000 đ")
    '50.000 d'
    """
    text = unicodedata.normalize("NFC", str(text)).casefold().replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
