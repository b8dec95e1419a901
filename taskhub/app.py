"""The Celery entry point: ``celery -A taskhub.app worker`` (or ``beat``, or ``flower``).

Settings come from ``TASKHUB_*``; task modules from ``TASKHUB_IMPORTS`` (default ``workers``).
"""

from __future__ import annotations

from taskhub.hub import TaskHub

hub = TaskHub()
app = hub.celery
