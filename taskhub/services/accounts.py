"""Who is asking: workspaces with a plan, and API keys stored as SHA-256 hashes.

A key is ``thk_`` + 43 random URL-safe characters (256 bits), shown once at creation. Being
random and long, it is hashed with plain SHA-256 (no salt or stretching needed); lookups are by
hash, so the key never sits in the database nor in a log.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from taskhub.domain.clock import now
from taskhub.domain.errors import AuthError, NotFoundError, ValidationError
from taskhub.domain.plans import Plan
from taskhub.domain.records import ApiKey, Workspace
from taskhub.store.accounts import AccountStore

KEY_PREFIX = "thk_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_plan(plan: str) -> Plan:
    try:
        return Plan(plan)
    except ValueError:
        choices = ", ".join(p.value for p in Plan)
        raise ValidationError("plan", f"must be one of {choices}, got {plan!r}") from None


class Accounts:
    """Workspaces and their API keys."""

    def __init__(self, store: AccountStore) -> None:
        self._store = store

    def create_workspace(self, name: str, plan: str = "starter") -> Workspace:
        if not name.strip() or len(name) > 200:
            raise ValidationError("name", "must be 1-200 characters")
        return self._store.create_workspace(name.strip(), check_plan(plan).value, now())

    def create_key(self, workspace_id: str, name: str = "default") -> tuple[ApiKey, str]:
        """A new key for the workspace; the plaintext is returned here and never again."""
        plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(str(uuid.uuid4()), workspace_id, name, plaintext[:12], now(), None)
        self._store.insert_key(key, hash_key(plaintext))
        return key, plaintext

    def authenticate(self, plaintext: str | None) -> Workspace:
        return self.identify(plaintext)[0]

    def identify(self, plaintext: str | None) -> tuple[Workspace, str]:
        """The key's workspace and the key's id (``AuthError`` if it is unknown or revoked)."""
        if not plaintext:
            raise AuthError("an API key is required: Authorization: Bearer <key>")
        found = self._store.by_hash(hash_key(plaintext))
        if found is None:
            raise AuthError("the API key is not valid (unknown or revoked)")
        return found

    def by_key_id(self, key_id: str) -> Workspace:
        """The workspace of a key still live (a signed-in session names its key by id)."""
        workspace = self._store.by_key_id(key_id)
        if workspace is None:
            raise AuthError("the API key of this session was revoked")
        return workspace

    def workspaces(self) -> list[tuple[Workspace, int]]:
        """Every workspace (the operator's view), by name, with its number of live keys."""
        return self._store.workspaces()

    def workspace_named(self, name: str) -> Workspace:
        return self._store.workspace(name=name)

    def list_keys(self, workspace_id: str) -> list[ApiKey]:
        """The workspace's keys, oldest first, revoked ones included (never the key itself)."""
        return self._store.keys(workspace_id)

    def key_id_of(self, workspace_id: str, ref: str) -> str:
        """The id of the workspace's one key whose id starts with ``ref`` (``key list`` shows
        8 characters); ``NotFoundError`` if none, ``ValidationError`` if several."""
        ids = [key.id for key in self._store.keys(workspace_id) if key.id.startswith(ref)]
        if not ref or not ids:
            raise NotFoundError("api key", ref)
        if len(ids) > 1:
            raise ValidationError("key_id", f"{ref!r} is ambiguous: {', '.join(ids)}")
        return ids[0]

    def revoke_key(self, workspace_id: str, key_id: str) -> None:
        """Revoke a live key of the workspace; ``NotFoundError`` if it has none with that id."""
        self._store.revoke_key(workspace_id, key_id, now())
