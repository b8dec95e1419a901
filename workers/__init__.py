"""Example task modules. Copy one, change the body, and list your module in TASKHUB_IMPORTS."""

from . import documents, etl_pipeline, flaky, multistep, reports

__all__ = ["documents", "etl_pipeline", "flaky", "multistep", "reports"]
