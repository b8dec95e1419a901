"""The registry: a name belongs to one function, checked at import, and a body must be able to
take its input by key from JSON."""

from __future__ import annotations

import importlib
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from taskhub import DuplicateTaskError, Settings, task
from taskhub.domain import registry, submissions
from taskhub.domain.clock import now
from taskhub.domain.errors import DefinitionError
from taskhub.domain.submissions import Submission

from .. import tasks  # noqa: F401 - registers tests.echo, which the duplicate test reuses


def test_a_body_that_cannot_take_input_by_key_is_refused_at_import() -> None:
    with pytest.raises(DefinitionError, match="takes the context first"):

        @task(name="tests.no_context")
        def no_context() -> None: ...

    with pytest.raises(DefinitionError, match="'region' is positional-only"):

        @task(name="tests.positional")
        def positional(ctx: object, region: str, /) -> None: ...

    with pytest.raises(DefinitionError, match="JSON input cannot hold"):

        @task(name="tests.unholdable")
        def unholdable(ctx: object, conn: httpx.Client) -> None: ...


@pytest.fixture
def own_registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, registry.TaskDefinition]:
    """The registry as it is, in a copy this test may change."""
    copy = dict(registry.REGISTRY)
    monkeypatch.setattr(registry, "REGISTRY", copy)
    return copy


def test_two_functions_registering_one_name_fail_at_import_naming_both(
    own_registry: dict[str, registry.TaskDefinition],
) -> None:
    before = own_registry["tests.echo"]
    with pytest.raises(DuplicateTaskError) as raised:

        @task(name="tests.echo")
        def impostor(ctx: object) -> None: ...

    assert raised.value.registered == "tests.tasks.echo"
    assert raised.value.new.endswith("<locals>.impostor")
    assert raised.value.registered in str(raised.value) and raised.value.new in str(raised.value)
    assert own_registry["tests.echo"] is before


def test_reloading_a_module_registers_its_tasks_again(
    own_registry: dict[str, registry.TaskDefinition],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = f"reloaded_{uuid.uuid4().hex[:8]}"
    source = (
        f"from taskhub import task\n\n@task(name='{module}.job')\ndef job(ctx):\n    return 1\n"
    )
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    first = importlib.import_module(module)

    again = importlib.reload(first)

    assert own_registry[f"{module}.job"] is again.job
    sys.modules.pop(module)


def test_the_default_display_name_is_the_docstrings_summary_line() -> None:
    @task(name=f"tests.documented_{uuid.uuid4().hex[:8]}")
    def documented(ctx: object) -> None:
        """Rebuild the search index of one workspace, dropping entries of deleted
        documents first.

        Runs for minutes on a large workspace. Safe to retry: every step is idempotent.
        """

    @task(name=f"tests.chatty_{uuid.uuid4().hex[:8]}")
    def chatty(ctx: object) -> None:
        """Sync the ledger. Reads every account, then writes the totals back.
        Called nightly by beat."""

    try:
        assert documented.description.endswith("every step is idempotent.")  # kept whole
        assert documented.title == (
            "Rebuild the search index of one workspace, dropping entries of deleted"
            " documents first."
        )
        assert chatty.title == "Sync the ledger."
        new = submissions.build(
            documented, {}, Submission(), settings=Settings(), workspace_id="w", now=now()
        )
        assert new.name == documented.title
        assert registry.summary("word " * 100, limit=20) == "word word word word…"
        assert registry.summary("") == ""
    finally:
        registry.REGISTRY.pop(documented.name)
        registry.REGISTRY.pop(chatty.name)
