"""Example task modules. Copy one, change the body, and list your module in TASKHUB_IMPORTS."""

from . import documents, flaky, multistep, reports

__all__ = ["documents", "flaky", "multistep", "reports"]
