"""The worker side: the only package that imports Celery or kombu.

The Celery app and task binding, the signal receivers that move records, the task context and
heartbeat, the completion writer, the publisher of every message, the recovery sweep, and the
broker transports. It imports :mod:`taskhub.domain` and :mod:`taskhub.store`; services and the
composition root import it. What it must call above itself (announcing an outcome, running a
service as a system task) it is handed as a callable.
"""
