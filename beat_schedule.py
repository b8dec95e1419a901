"""Code-defined schedules. Each entry fires a task on a 5-field cron expression (UTC).

Celery beat runs them (``taskhub dev`` starts it; in production the Procfile's ``beat``);
each firing creates one ``scheduled`` task record, once per fire time.
"""

SCHEDULE = {
    "daily-sales-us": {
        "task": "reports.daily_sales",
        "cron": "0 2 * * *",
        "input": {"region": "US"},
        "name": "Daily Sales Report – US Region",
    },
}
