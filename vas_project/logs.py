"""Structured logs: fields that say which request, user, camera, snapshot or job a line is about.

log_context(request_id=...) adds its fields to every line logged inside it, in this thread or
task (contextvars); LogContextFilter copies them onto each record, and the formatters show them:
PlainFormatter appends " [request_id]", JsonFormatter writes one JSON object per line
(VAS_LOG_FORMAT=json). Only the FIELDS below are ever written, each as a string (a duration as a
number): never a record's arguments or other extras, which may be a camera with its password.
"""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# api_key_prefix: the prefix of the API key a request came with, never the key.
FIELDS = ("request_id", "user_id", "api_key_prefix", "device_id", "snapshot_id", "job_id", "code", "duration_ms")

# None outside any log_context: log_context_add then has no scope to add to.
_context: ContextVar[dict[str, Any] | None] = ContextVar("log_context", default=None)


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every line logged inside carries these fields (inner ones win over outer ones)."""
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def log_context_add(**fields: Any) -> None:
    """Add fields to the innermost log_context until it ends, e.g. the user once a view has
    authenticated them; outside any log_context, nothing."""
    current = _context.get()
    if current is not None:
        _context.set({**current, **fields})


def current_request_id() -> str:
    """The request id of the request (or job) this code runs for; "" outside one."""
    return str((_context.get() or {}).get("request_id") or "")


class LogContextFilter(logging.Filter):
    """Copies the log context onto each record; a field passed in extra= is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        for field, value in (_context.get() or {}).items():
            if field in FIELDS and not hasattr(record, field):
                setattr(record, field, value)
        return True


def _fields(record: logging.LogRecord) -> dict[str, str | int | float]:
    found: dict[str, str | int | float] = {}
    for field in FIELDS:
        value = getattr(record, field, None)
        if value is None or value == "":
            continue
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        found[field] = value if field == "duration_ms" and is_number else str(value)
    return found


class PlainFormatter(logging.Formatter):
    """The usual line, with " [request_id]" after the message when there is one."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = _fields(record).get("request_id")
        return f"{line} [{request_id}]" if request_id else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line. An exception is named by its type only: its message and a
    traceback's locals may hold what was being connected to, credentials included."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str | int | float] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__qualname__
        return json.dumps(entry)


@contextmanager
def console_quiet_below(level: int) -> Iterator[None]:
    """While inside, the log lines written to a terminal (standard error's handlers, not a log
    file's) are only those at level or above: a command's own output is what its user reads."""
    root = logging.getLogger()
    handlers = [
        handler
        for handler in root.handlers
        if type(handler) is logging.StreamHandler and handler.stream.isatty()  # type: ignore[attr-defined]
    ]
    levels = [handler.level for handler in handlers]
    for handler in handlers:
        handler.setLevel(max(handler.level, level))
    try:
        yield
    finally:
        for handler, before in zip(handlers, levels, strict=True):
            handler.setLevel(before)


class OneWarningLine(logging.Filter):
    """Makes a record one WARNING line without its traceback: for what a client got wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True
