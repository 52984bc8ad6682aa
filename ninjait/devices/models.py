"""API shapes of device records, tags, groups, custom fields, saved views and bulk actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

CustomValue = str | int | float | None  # None (or "") clears the value
Hostname = Annotated[str, Meta(min_length=1, max_length=253)]
DateText = Annotated[str, Meta(max_length=10)]  # YYYY-MM-DD, or "" for none
Tags = Annotated[list[Annotated[str, Meta(max_length=50)]], Meta(max_length=50)]


class DeviceIn(Struct, forbid_unknown_fields=True):
    """POST creates a pre-registered asset (no agent yet); PUT replaces every editable field."""

    hostname: Hostname
    site_id: int
    purchase_date: DateText = ""
    warranty_end: DateText = ""
    owner: Annotated[str, Meta(max_length=200)] = ""
    notes: Annotated[str, Meta(max_length=10000)] = ""
    tags: Tags = []
    custom_fields: dict[str, CustomValue] = {}


class DevicePatch(Struct, forbid_unknown_fields=True):
    """Only the fields present change; custom_fields merges (a null value clears that field)."""

    hostname: Hostname | UnsetType = UNSET
    site_id: int | UnsetType = UNSET
    purchase_date: DateText | UnsetType = UNSET
    warranty_end: DateText | UnsetType = UNSET
    owner: Annotated[str, Meta(max_length=200)] | UnsetType = UNSET
    notes: Annotated[str, Meta(max_length=10000)] | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    custom_fields: dict[str, CustomValue] | UnsetType = UNSET


class GroupRef(Struct):
    id: int
    name: str
    kind: str


class BulkCommand(Struct, forbid_unknown_fields=True):
    kind: Literal["run_script", "refresh_inventory", "reboot"]
    payload: dict[str, Any] = {}
    not_before: int | None = None  # epoch seconds: delivered at the first check-in after this time
    expires_in_seconds: Annotated[int, Meta(ge=60, le=604800)] = 3600


class BulkIn(Struct, forbid_unknown_fields=True):
    ids: Annotated[list[int], Meta(min_length=1, max_length=1000)]
    action: Literal["add_tag", "remove_tag", "move_to_site", "add_to_group", "remove_from_group", "queue_command"]
    tag: Annotated[str, Meta(max_length=50)] = ""
    site_id: int | None = None
    group_id: int | None = None
    command: BulkCommand | None = None


class Refusal(Struct):
    id: int
    reason: str


class BulkResult(Struct):
    action: str
    succeeded: list[int]
    refused: list[Refusal]
    commands: dict[str, int] = {}  # device id -> command id, for queue_command


class GroupIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    kind: Literal["static", "dynamic"] = "static"
    rules: dict[str, Any] | None = None  # required for dynamic groups, refused for static ones
    description: Annotated[str, Meta(max_length=1000)] = ""


class GroupUpdate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    rules: dict[str, Any] | None = None
    description: Annotated[str, Meta(max_length=1000)] = ""


class Group(Struct):
    id: int
    name: str
    kind: str
    rules: dict[str, Any] | None
    description: str
    members: int
    created_at: int
    updated_at: int


class RulesIn(Struct, forbid_unknown_fields=True):
    rules: dict[str, Any]


class Preview(Struct):
    count: int
    sample: list[str]


class CustomFieldIn(Struct, forbid_unknown_fields=True):
    key: Annotated[str, Meta(min_length=1, max_length=40)]
    label: Annotated[str, Meta(min_length=1, max_length=100)]
    type: Literal["text", "number", "date", "choice"]
    choices: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=100)] = []
    required: bool = False


class CustomFieldUpdate(Struct, forbid_unknown_fields=True):
    """The key and type stay: stored values and group rules depend on them."""

    label: Annotated[str, Meta(min_length=1, max_length=100)]
    choices: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(max_length=100)] = []
    required: bool = False


class CustomField(Struct):
    id: int
    key: str
    label: str
    type: str
    choices: list[str]
    required: bool
    created_at: int


class SavedViewIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    query: Annotated[str, Meta(max_length=2000)]  # the device list's query string, e.g. "tag=servers&sort=-last_seen"


class SavedView(Struct):
    id: int
    name: str
    query: str
    created_at: int


class TagCount(Struct):
    tag: str
    devices: int
