"""structlog set up once per process; every line carries order and workflow ids when known."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False


def _temporal_context(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Merge the ids of the running activity (workflow id, activity, attempt) into the line."""
    try:
        from temporalio import activity
    except ImportError:  # pragma: no cover
        return event_dict
    if activity.in_activity():
        info = activity.info()
        event_dict.setdefault("workflow_id", info.workflow_id)
        event_dict.setdefault("activity", info.activity_type)
        event_dict.setdefault("attempt", info.attempt)
    return event_dict


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and stdlib logging: JSON when not a TTY, pretty in a terminal."""
    global _configured
    if _configured:
        return
    _configured = True
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _temporal_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        # Plain tracebacks: rich's pretty ones render every local and can take minutes.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
