"""Who is asking: workspaces with a plan, and API keys stored as SHA-256 hashes.

A key is ``thk_`` + 43 random URL-safe characters (256 bits), shown once at creation. Being
random and long, it is hashed with plain SHA-256 (no salt or stretching needed); lookups are by
hash, so the key never sits in the database nor in a log.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import TYPE_CHECKING

from taskhub.domain.clock import now
from taskhub.domain.errors import AuthError, PlanError, ValidationError
from taskhub.domain.plans import Feature, Plan, allows, cheapest_with
from taskhub.domain.records import ApiKey, Workspace

if TYPE_CHECKING:
    from taskhub.hub import TaskHub

KEY_PREFIX = "thk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_plan(plan: str) -> Plan:
    try:
        return Plan(plan)
    except ValueError:
        choices = ", ".join(p.value for p in Plan)
        raise ValidationError("plan", f"must be one of {choices}, got {plan!r}") from None


def create_workspace(hub: TaskHub, name: str, plan: str = "starter") -> Workspace:
    if not name.strip() or len(name) > 200:
        raise ValidationError("name", "must be 1-200 characters")
    return hub.accounts.create_workspace(name.strip(), check_plan(plan).value, now())


def create_key(hub: TaskHub, workspace_id: str, name: str = "default") -> tuple[ApiKey, str]:
    """A new key for the workspace; the plaintext is returned here and never again."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(str(uuid.uuid4()), workspace_id, name, plaintext[:12], now(), None)
    hub.accounts.insert_key(key, hash_key(plaintext))
    return key, plaintext


def authenticate(hub: TaskHub, plaintext: str | None) -> Workspace:
    if not plaintext:
        raise AuthError("an API key is required: Authorization: Bearer <key>")
    workspace = hub.accounts.by_hash(hash_key(plaintext))
    if workspace is None:
        raise AuthError("the API key is not valid (unknown or revoked)")
    return workspace


def require(workspace: Workspace, feature: Feature) -> None:
    """Raise ``PlanError`` unless the workspace's plan includes ``feature``."""
    plan = Plan(workspace.plan)
    if not allows(plan, feature):
        raise PlanError(feature.value, plan.value, cheapest_with(feature).value)


def workspace_named(hub: TaskHub, name: str) -> Workspace:
    return hub.accounts.workspace(name=name)


def list_keys(hub: TaskHub, workspace_id: str) -> list[ApiKey]:
    """The workspace's keys, oldest first, revoked ones included (never the key itself)."""
    return hub.accounts.keys(workspace_id)


def revoke_key(hub: TaskHub, workspace_id: str, key_id: str) -> None:
    """Revoke a live key of the workspace; ``NotFoundError`` if it has none with that id."""
    hub.accounts.revoke_key(workspace_id, key_id, now())
