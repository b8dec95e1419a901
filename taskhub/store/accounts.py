"""Workspaces and API keys: every query about who is asking."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from taskhub.domain.errors import ConflictError, NotFoundError, StoreError
from taskhub.domain.records import ApiKey, Workspace
from taskhub.store import tables as m
from taskhub.store.tasks import Store

W, K = m.workspaces, m.api_keys


class AccountStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create_workspace(self, name: str, plan: str, now: datetime) -> Workspace:
        workspace = Workspace(str(uuid.uuid4()), name, plan, now)
        try:
            with self.store.begin() as c:
                c.execute(insert(W).values(asdict(workspace)))
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise ConflictError(f"a workspace named {name!r} exists already") from None
            raise
        return workspace

    def workspace(self, *, ident: str | None = None, name: str | None = None) -> Workspace:
        where = W.c.id == ident if ident is not None else W.c.name == name
        with self.store.read() as c:
            row = c.execute(select(W).where(where)).one_or_none()
        if row is None:
            raise NotFoundError("workspace", ident or name or "")
        return Workspace(**row._mapping)

    def workspaces(self) -> list[tuple[Workspace, int]]:
        """Every workspace by name, with how many live (unrevoked) keys it has."""
        live = and_(K.c.workspace_id == W.c.id, K.c.revoked_at.is_(None))
        keys = select(func.count()).where(live).scalar_subquery()
        with self.store.read() as c:
            rows = c.execute(select(W, keys.label("live_keys")).order_by(W.c.name))
            return [(_workspace(r._mapping), int(r.live_keys)) for r in rows]

    def insert_key(self, key: ApiKey, key_hash: str) -> None:
        with self.store.begin() as c:
            c.execute(insert(K).values(key_hash=key_hash, **_key_values(key)))

    def by_hash(self, key_hash: str) -> tuple[Workspace, str] | None:
        """The workspace and id of a live (unrevoked) key with this hash."""
        query = (
            select(W, K.c.id.label("key_id"))
            .join(K, K.c.workspace_id == W.c.id)
            .where(K.c.key_hash == key_hash, K.c.revoked_at.is_(None))
        )
        with self.store.read() as c:
            row = c.execute(query).one_or_none()
        return _workspace_and_key(row._mapping) if row else None

    def by_key_id(self, key_id: str) -> Workspace | None:
        """The workspace of the live (unrevoked) key with this id."""
        query = (
            select(W)
            .join(K, K.c.workspace_id == W.c.id)
            .where(K.c.id == key_id, K.c.revoked_at.is_(None))
        )
        with self.store.read() as c:
            row = c.execute(query).one_or_none()
        return Workspace(**row._mapping) if row else None

    def keys(self, workspace_id: str) -> list[ApiKey]:
        query = select(K).where(K.c.workspace_id == workspace_id).order_by(K.c.created_at)
        with self.store.read() as c:
            return [_key(row._mapping) for row in c.execute(query)]

    def revoke_key(self, workspace_id: str, key_id: str, now: datetime) -> None:
        where = (K.c.id == key_id, K.c.workspace_id == workspace_id, K.c.revoked_at.is_(None))
        with self.store.begin() as c:
            if not c.execute(update(K).where(*where).values(revoked_at=now)).rowcount:
                raise NotFoundError("api key", key_id)


def _key_values(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "workspace_id": key.workspace_id,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
    }


def _key(r: RowMapping) -> ApiKey:
    return ApiKey(
        r["id"], r["workspace_id"], r["name"], r["prefix"], r["created_at"], r["revoked_at"]
    )


def _workspace(r: RowMapping) -> Workspace:
    return Workspace(r["id"], r["name"], r["plan"], r["created_at"])


def _workspace_and_key(r: RowMapping) -> tuple[Workspace, str]:
    workspace = Workspace(r["id"], r["name"], r["plan"], r["created_at"])
    return workspace, r["key_id"]
