"""Code-defined schedules, in Celery's own ``beat_schedule`` style.

When beat starts (``taskhub dev`` starts it; in production the Procfile's ``beat``) these are
synced into the database as schedules with ``source="code"``: created or updated, never
duplicated, and an entry removed from here is disabled. From then on they fire like the ones
made through the service, in a time zone (``timezone``, default UTC), into the workspace
``workspace`` (per entry), else ``TASKHUB_SCHEDULE_WORKSPACE`` below, else the settings'
``workspace``. ``schedule`` is a 5-field cron string or a Celery ``crontab``; ``kwargs`` is
the task's input; ``options`` take ``priority``, ``timeout_s``, ``retries`` and
``deadline_offset_s``. Each firing creates one ``scheduled`` task record per fire time, if the
workspace's plan includes scheduled tasks (Growth or Enterprise: ``taskhub workspace create
NAME --plan growth``); on Starter each firing is skipped, and the schedule's trail says why.
"""

TASKHUB_SCHEDULE_WORKSPACE = None  # None: the settings' workspace (TASKHUB_WORKSPACE)

beat_schedule = {
    "daily-sales-us": {
        "task": "reports.daily_sales",
        "schedule": "0 2 * * *",
        "kwargs": {"region": "US"},
        "name": "Daily Sales Report – US Region",
    },
}
