"""API shapes of teams, queues, routing rules, canned responses, macros and recurring tickets."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

Priority = Literal["P1", "P2", "P3", "P4"]
Name = Annotated[str, Meta(max_length=200)]


class Team(Struct):
    id: int
    name: str
    strategy: Literal["manual", "round_robin", "least_open"]
    member_ids: list[int]
    last_assignee_id: int | None
    created_at: int


class TeamIn(Struct, forbid_unknown_fields=True):
    """`strategy`: how routing picks an assignee among the members (manual: it does not)."""
    name: Name
    member_ids: Annotated[list[int], Meta(max_length=200)] = []
    strategy: Literal["manual", "round_robin", "least_open"] = "manual"


class Queue(Struct):
    id: int
    name: str
    team_id: int | None
    created_at: int


class QueueIn(Struct, forbid_unknown_fields=True):
    """`team_id`: the default team of tickets put into this queue without one."""
    name: Name
    team_id: int | None = None


class RuleConditions(Struct, forbid_unknown_fields=True):
    """Every non-empty list must match (any of its values); keywords are looked for in subject and description."""
    organization_ids: list[int] = []
    categories: list[str] = []
    priorities: list[Priority] = []
    sources: list[str] = []
    keywords: list[str] = []


class RuleActions(Struct, forbid_unknown_fields=True):
    queue_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    priority: Priority | None = None
    tags: list[str] = []


class RoutingRule(Struct):
    id: int
    name: str
    position: int
    enabled: bool
    on_update: bool
    continue_after: bool
    conditions: RuleConditions
    actions: RuleActions
    created_at: int


class RoutingRuleIn(Struct, forbid_unknown_fields=True):
    """`continue_after`: a match does not stop the evaluation; `on_update`: also after each change of a ticket."""
    name: Name
    conditions: RuleConditions = field(default_factory=RuleConditions)
    actions: RuleActions = field(default_factory=RuleActions)
    enabled: bool = True
    on_update: bool = False
    continue_after: bool = False


class RuleOrder(Struct, forbid_unknown_fields=True):
    rule_ids: list[int]


class CannedResponse(Struct):
    id: int
    title: str
    body: str
    created_at: int


class CannedResponseIn(Struct, forbid_unknown_fields=True):
    """`body`: text with placeholders such as {{ ticket.number }}, {{ contact.name }}, {{ user.name }}."""
    title: Name
    body: Annotated[str, Meta(max_length=20000)]


class RenderedText(Struct):
    body: str


class MacroComment(Struct, forbid_unknown_fields=True):
    """Either a canned response or a text of its own (placeholders allowed)."""
    kind: Literal["reply", "note"] = "reply"
    body: Annotated[str, Meta(max_length=20000)] | None = None
    canned_response_id: int | None = None


class MacroActions(Struct, forbid_unknown_fields=True):
    status_id: int | None = None
    priority: Priority | None = None
    assignee_id: int | None = None
    unassign: bool = False
    team_id: int | None = None
    queue_id: int | None = None
    tags: list[str] = []
    comment: MacroComment | None = None


class Macro(Struct):
    id: int
    name: str
    actions: MacroActions
    created_at: int


class MacroIn(Struct, forbid_unknown_fields=True):
    name: Name
    actions: MacroActions = field(default_factory=MacroActions)


class RecurringTemplate(Struct, forbid_unknown_fields=True):
    subject: Annotated[str, Meta(max_length=200)]
    description: Annotated[str, Meta(max_length=20000)] = ""
    priority: Priority = "P3"
    category: Annotated[str, Meta(max_length=100)] = ""
    queue_id: int | None = None
    team_id: int | None = None
    assignee_id: int | None = None
    device_ids: Annotated[list[int], Meta(max_length=50)] = []


class RecurringTicket(Struct):
    id: int
    organization_id: int
    name: str
    template: RecurringTemplate
    frequency: Literal["daily", "weekly", "monthly"]
    weekdays: list[int]
    day_of_month: int
    time_of_day: int
    timezone: str
    paused: bool
    next_at: int | None
    last_occurrence: int | None
    last_ticket_id: int | None
    created_at: int


class RecurringTicketIn(Struct, forbid_unknown_fields=True):
    """`weekdays` (weekly): 0 = Monday; `day_of_month` (monthly): the last day in shorter months;
    `time_of_day`: local minutes after midnight in `timezone` (IANA)."""
    name: Name
    organization_id: int
    template: RecurringTemplate
    frequency: Literal["daily", "weekly", "monthly"]
    weekdays: list[int] = []
    day_of_month: int = 1
    time_of_day: int = 540
    timezone: str = "UTC"
