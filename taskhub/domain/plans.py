"""Plans: which features a workspace may use. Starter runs manual and triggered tasks;
Growth and Enterprise add scheduled tasks, dependencies and deadlines."""

from __future__ import annotations

from enum import StrEnum

from taskhub.domain.errors import PlanError
from taskhub.domain.records import Workspace


class Plan(StrEnum):
    STARTER = "starter"
    GROWTH = "growth"
    ENTERPRISE = "enterprise"


class Feature(StrEnum):
    SCHEDULED = "scheduled tasks"
    DEPENDENCIES = "dependencies"
    DEADLINES = "deadlines"


FEATURES: dict[Plan, frozenset[Feature]] = {
    Plan.STARTER: frozenset(),
    Plan.GROWTH: frozenset(Feature),
    Plan.ENTERPRISE: frozenset(Feature),
}


def allows(plan: Plan, feature: Feature) -> bool:
    return feature in FEATURES[plan]


def cheapest_with(feature: Feature) -> Plan:
    return next(plan for plan in Plan if feature in FEATURES[plan])


def require(workspace: Workspace, feature: Feature) -> None:
    """Raise ``PlanError`` unless the workspace's plan includes ``feature``."""
    plan = Plan(workspace.plan)
    if not allows(plan, feature):
        raise PlanError(feature.value, plan.value, cheapest_with(feature).value)
