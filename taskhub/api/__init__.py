"""The REST API (FastAPI): the only HTTP surface. Routes call the service layer, nothing else."""

from taskhub.api.app import create_app

__all__ = ["create_app"]
