"""The services: what the SDK, the CLI, the REST API and the dashboard call.

Tasks (submit, read, act), accounts and plans, triggers, outbound webhooks, the notification
inbox. Each service is given its parts (store, publisher, settings) when built; none reaches for
the composition root. It imports :mod:`taskhub.domain`, :mod:`taskhub.store` and
:mod:`taskhub.worker`; the API, the CLI and :class:`taskhub.TaskHub` import it.
"""
