"""Configuration: one pydantic-settings model, read from ``TASKHUB_*`` environment variables.

Unset, taskhub runs on its embedded default: a SQLite file and kombu's filesystem transport
under ``./.taskhub/``, so nothing needs a server. Set ``TASKHUB_DATABASE_URL`` to Postgres and
``TASKHUB_BROKER_URL`` to Redis for production.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from taskhub.domain.retention import MAX_BATCH_SIZE

PROCESS_SECRET = secrets.token_urlsafe(32)  # the default secret_key: this process's own


class Settings(BaseSettings):
    """Everything configurable, named once, units in the names."""

    model_config = SettingsConfigDict(env_prefix="TASKHUB_", extra="ignore")

    home: Path = Field(Path(".taskhub"), description="Folder for the embedded default's files.")
    database_url: str = Field("", description="SQLAlchemy URL; empty means SQLite under home.")
    broker_url: str = Field("", description="Celery broker URL; empty means the filesystem broker.")
    broker_connect_timeout_s: float = Field(
        1.0, gt=0, description="A Redis broker not connected in this long counts as down."
    )
    imports: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["workers"], description="Modules that define tasks."
    )
    workspace: str = Field("default", description="Workspace used by the local SDK and CLI.")
    default_queue: str = "taskhub"
    worker_concurrency: int = Field(2, ge=1)
    task_events: bool = Field(
        False,
        description="Workers send Celery task events from the start. Off, as in Celery: "
        "Flower (or `celery control enable_events`) turns them on while it watches.",
    )
    sent_events: bool = Field(
        True, description="Submitting sends Celery's task-sent event: Flower sees queued tasks."
    )
    heartbeat_interval_s: float = Field(5.0, gt=0)
    heartbeat_timeout_s: float = Field(30.0, gt=0, description="A running task is lost after this.")
    sweep_interval_s: float = Field(
        10.0, gt=0, description="How often beat runs the recovery sweep."
    )
    schedule_tick_s: float = Field(
        1.0, gt=0, description="How often beat looks for due schedules in the database."
    )
    retention_days: float = Field(
        0.0,
        ge=0,
        description="Finished tasks (completed, failed, cancelled) whose finished_at is older "
        "than this many days are deleted, with their steps, attempts, outputs and "
        "notifications, by beat every retention_interval_s (and by `taskhub prune`). 0 (the "
        "default: deleting is opt-in) keeps every task. Global: the same for every workspace.",
    )
    retention_batch_size: int = Field(
        1000, ge=1, le=MAX_BATCH_SIZE, description="Tasks deleted per transaction when pruning."
    )
    retention_interval_s: float = Field(
        3600.0, gt=0, description="How often beat prunes the tasks past retention_days."
    )
    retention_pause_s: float = Field(
        0.01, ge=0, description="Rest between two pruning batches: writers go first."
    )
    pipeline_max_nodes: int = Field(
        10_000, ge=1, description="The most nodes one pipeline may have."
    )
    lost_message_after_s: float = Field(
        30.0,
        gt=0,
        description="A pending task published this long ago is published again when its "
        "queue in the broker is empty: its message was lost (a broker restarted empty, a "
        "refused write, a killed embedded worker). A duplicate message runs nothing.",
    )
    lost_message_busy_after_s: float = Field(
        600.0,
        gt=0,
        description="The same, whatever its queue holds (a message lost behind a backlog).",
    )
    worker_lost_min_attempts: int = Field(
        2,
        ge=1,
        description="A task whose worker vanished (killed, OOM) runs again within its retry "
        "budget, and at least this many attempts in all; then it fails as 'worker lost'.",
    )
    dispatch_grace_s: float = Field(5.0, ge=0, description="Undispatched records older are resent.")
    cancel_grace_s: float = Field(30.0, ge=0, description="Running task is terminated after this.")
    hard_timeout_grace_s: float = Field(10.0, ge=0, description="Hard limit = timeout + this.")
    default_timeout_s: float = Field(3600.0, gt=0)
    max_retry_delay_s: float = Field(3600.0, gt=0)
    max_output_bytes: int = Field(1_000_000, gt=0)
    metrics_count_limit: int = Field(
        100_000,
        ge=1,
        description="/metrics counts at most this many tasks per status (a bounded scan).",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object each (with task_id)."
    )
    tracing: bool = Field(
        False,
        description="OpenTelemetry traces of submit, publish and run (the [otel] extra; "
        "OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT unless a tracer provider is set).",
    )
    api_max_body_bytes: int = Field(1_000_000, gt=0, description="Larger request bodies get 413.")
    secret_key: SecretStr = Field(
        default_factory=lambda: SecretStr(PROCESS_SECRET),
        description="Signs the dashboard's session cookies. Unset: a random secret made at "
        "process start, so sessions end when the process restarts and are not shared by "
        "several API processes; set it for those.",
    )
    flower_url: str = Field(
        "http://127.0.0.1:5555",
        description="Where Flower serves (the dashboard links to it for the Celery view).",
    )
    plan_max_running: dict[str, int] = Field(
        default_factory=dict, description='Running tasks per workspace, by plan: {"starter": 5}.'
    )
    filesystem_polling_interval_s: float = Field(
        0.02,
        gt=0,
        description="How often an idle embedded worker looks for new messages: half of it is "
        "the mean wait before a task submitted to an idle worker starts (~0.6% of a core idle "
        "at 0.02 s, 1% at 0.01 s). A busy worker takes the next message as soon as it acks one.",
    )
    webhook_max_attempts: int = Field(5, ge=1, description="Outbound webhook tries, then failed.")
    webhook_retry_delay_s: float = Field(
        10.0, ge=0, description="Outbound webhook backoff: the first delay, doubled each try."
    )
    webhook_timeout_s: float = Field(5.0, gt=0, description="Timeout of one outbound webhook POST.")
    webhook_cache_s: float = Field(
        5.0, ge=0, description="How long a process remembers if a workspace has subscriptions."
    )
    webhook_allow_private: bool = Field(
        False,
        description="Outbound webhooks may reach loopback, private and link-local addresses "
        "(local development, tests); off, they are refused (SSRF).",
    )
    webhook_recover_after_s: float = Field(
        60.0,
        ge=0,
        description="The sweep queues again a webhook delivery overdue by this much, and "
        "creates the deliveries a notification this old is missing.",
    )

    @field_validator("imports", mode="before")
    @classmethod
    def _split_imports(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home.resolve() / 'taskhub.db'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def is_embedded_broker(self) -> bool:
        return self.resolved_broker_url.startswith("filesystem://")

    @property
    def broker_folder(self) -> Path:
        return self.home.resolve() / "broker"


def display_url(url: str) -> str:
    """``url`` for people to read: its password, if any, shown as ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
