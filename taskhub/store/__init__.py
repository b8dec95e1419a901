"""The store: the database, and the only package that imports SQLAlchemy or Alembic.

Engine and migrations (``db``), tables, row mappers, one repository per aggregate (``tasks``,
``runs``, ``hooks``, ``accounts``, ``notifications``), the read queries of lists and feeds
(``queries``), the recovery sweep's queries (``recovery``) and the statements a worker runs
per execution (``execution``). It imports only :mod:`taskhub.domain`; the worker, services and
the composition root import it.
"""
