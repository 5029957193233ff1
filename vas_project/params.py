"""Numbers in query parameters, strictly: ASCII digits only.

Python's int() and float() also take other scripts' digits ("٣"), underscores ("1_0") and
surrounding spaces, and str.isdigit() is true for "²", which int() then refuses. A query
parameter is a number when it is written as one in ASCII, and nothing else is.
"""

import re

WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
DECIMAL_NUMBER = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")


def parse_whole_number(raw: str) -> int | None:
    return int(raw) if WHOLE_NUMBER.fullmatch(raw) else None


def parse_decimal_number(raw: str) -> float | None:
    return float(raw) if DECIMAL_NUMBER.fullmatch(raw) else None
