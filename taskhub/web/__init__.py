"""The dashboard: server-rendered pages for people, served by the API process at ``/``.

Beside :mod:`taskhub.api` in the layers: it calls the services through the hub (never the
store), renders Jinja2 templates from ``templates/`` and serves ``static/`` (htmx 2, vendored).
"""

from taskhub.web.routes import install

__all__ = ["install"]
