"""REST API of alerts: list with filters, one alert with its history, acknowledge, resolve, bulk."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.status_codes import HTTP_204_NO_CONTENT
import msgspec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from ninjait.alerts import actions, escalation, event_rules, incidents, maintenance, service
from ninjait.alerts.models import (
    Alert, AlertAction, AlertActionIn, AlertBulk, EventRule, EventRuleIn, AlertBulkResult, AlertCount, AlertDetail, AlertNote, EscalationPolicy, EscalationPolicyIn,
    Incident, MaintenanceWindow, MaintenanceWindowIn, OncallRotation, OncallRotationIn,
)
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "alerts.read"}, {"permission": "alerts.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class AlertController(Controller):
    path = "/api/v1/alerts"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req, alert_state: Annotated[str, QueryParameter(name="state")] = "open", severity: FromQuery[str] = "",
              organization_id: FromQuery[int | None] = None, device_id: FromQuery[int | None] = None,
              max_age_hours: FromQuery[int | None] = None, incident_id: FromQuery[int | None] = None,
              page: FromQuery[int] = 1, per_page: FromQuery[int] = 50) -> Response[list[Alert]]:
        """`state`: open (default: triggered or acknowledged), triggered, acknowledged, resolved, all. Critical
        first, then the most recent. `max_age_hours` keeps alerts first raised within that many hours. The
        total is in `X-Total-Count`."""
        rows, total = service.list_alerts(rt(request), principal_of(request), state=alert_state, severity=severity,
                                          organization_id=organization_id, device_id=device_id,
                                          max_age_hours=max_age_hours, incident_id=incident_id, page=page,
                                          per_page=per_page)
        return Response(convert(rows, list[Alert]), headers={"X-Total-Count": str(total)})  # type: ignore[arg-type]

    @get("/count", opt=READ, sync_to_thread=True)
    def count(self, request: Req) -> AlertCount:
        """Alerts nobody has acknowledged yet (the header's counter)."""
        return AlertCount(triggered=service.open_count(rt(request), principal_of(request)))

    @get("/{alert_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, alert_id: FromPath[int]) -> AlertDetail:
        """The alert and every transition: triggered, escalated, acknowledged, resolved (who, when, note)."""
        p = principal_of(request)
        alert = service.get_alert(rt(request), p, alert_id)
        return convert({**alert, "acknowledgement": escalation.ack_report(rt(request), p, alert)}, AlertDetail)  # type: ignore[return-value]

    @post("/{alert_id:int}/acknowledge", opt=WRITE, sync_to_thread=True, status_code=200)
    def acknowledge(self, request: Req, alert_id: FromPath[int], data: JSONBody[AlertNote]) -> Alert:
        """409 when it is already acknowledged or resolved."""
        row = service.acknowledge(rt(request), principal_of(request), actor_of(request), alert_id, data.note)
        return convert(row, Alert)  # type: ignore[return-value]

    @post("/{alert_id:int}/resolve", opt=WRITE, sync_to_thread=True, status_code=200)
    def resolve(self, request: Req, alert_id: FromPath[int], data: JSONBody[AlertNote]) -> Alert:
        """Resolve by hand, with a note; 409 when it is already resolved. If the condition still holds, the next
        occurrence opens a new alert."""
        row = service.resolve(rt(request), principal_of(request), actor_of(request), alert_id, data.note)
        return convert(row, Alert)  # type: ignore[return-value]

    @post("/bulk", opt=WRITE, sync_to_thread=True, status_code=200)
    def bulk(self, request: Req, data: JSONBody[AlertBulk]) -> AlertBulkResult:
        """Acknowledge or resolve many; each alert is checked on its own and refusals say why."""
        result = service.bulk(rt(request), principal_of(request), actor_of(request), data.ids, data.action, data.note)
        return convert(result, AlertBulkResult)  # type: ignore[return-value]


class MaintenanceWindowController(Controller):
    path = "/api/v1/maintenance-windows"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[MaintenanceWindow]:
        """Every window of the tenant, newest first; `open_now` says whether it holds notifications back now."""
        return convert(maintenance.list_windows(rt(request), principal_of(request)), list[MaintenanceWindow])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[MaintenanceWindowIn]) -> MaintenanceWindow:
        """Alerts raised while a window covers their device are recorded, marked `in_maintenance` and not sent."""
        row = maintenance.create_window(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, MaintenanceWindow)  # type: ignore[return-value]

    @get("/{window_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, window_id: FromPath[int]) -> MaintenanceWindow:
        return convert(maintenance.get_window(rt(request), principal_of(request), window_id), MaintenanceWindow)  # type: ignore[return-value]

    @delete("/{window_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, window_id: FromPath[int]) -> None:
        maintenance.delete_window(rt(request), principal_of(request), actor_of(request), window_id)


class EscalationPolicyController(Controller):
    path = "/api/v1/escalation-policies"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[EscalationPolicy]:
        return convert(escalation.list_policies(rt(request), principal_of(request)), list[EscalationPolicy])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[EscalationPolicyIn]) -> EscalationPolicy:
        """Steps fire in order while nobody acknowledges a new alert of at least `min_severity`; acknowledging
        (or resolving) stops them. `ack_target_minutes` is the promised time to acknowledge."""
        body = msgspec.to_builtins(data)
        body["steps"] = [{k: v for k, v in step.items() if v is not None} for step in body["steps"]]
        row = escalation.create_policy(rt(request), principal_of(request), actor_of(request), body)
        return convert(row, EscalationPolicy)  # type: ignore[return-value]

    @get("/{policy_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, policy_id: FromPath[int]) -> EscalationPolicy:
        return convert(escalation.get_policy(rt(request), principal_of(request), policy_id), EscalationPolicy)  # type: ignore[return-value]

    @delete("/{policy_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, policy_id: FromPath[int]) -> None:
        escalation.delete_policy(rt(request), principal_of(request), actor_of(request), policy_id)


class OncallRotationController(Controller):
    path = "/api/v1/oncall-rotations"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[OncallRotation]:
        """Each rotation and who is on call now (hand-over every 7 days from `starts_at`)."""
        return convert(escalation.list_rotations(rt(request), principal_of(request)), list[OncallRotation])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[OncallRotationIn]) -> OncallRotation:
        row = escalation.create_rotation(rt(request), principal_of(request), actor_of(request), data.name,
                                         list(data.user_ids), data.starts_at)
        return convert(row, OncallRotation)  # type: ignore[return-value]

    @get("/{rotation_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, rotation_id: FromPath[int]) -> OncallRotation:
        return convert(escalation.get_rotation(rt(request), principal_of(request), rotation_id), OncallRotation)  # type: ignore[return-value]

    @delete("/{rotation_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, rotation_id: FromPath[int]) -> None:
        escalation.delete_rotation(rt(request), principal_of(request), actor_of(request), rotation_id)


class AlertActionController(Controller):
    path = "/api/v1/alert-actions"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[AlertAction]:
        return convert(actions.list_actions(rt(request), principal_of(request)), list[AlertAction])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[AlertActionIn]) -> AlertAction:
        """Self-healing: the script is queued on the alert's device, signed like any command. Needs alerts.write
        and devices.write for every organization."""
        row = actions.create_action(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, AlertAction)  # type: ignore[return-value]

    @get("/{action_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, action_id: FromPath[int]) -> AlertAction:
        return convert(actions.get_action(rt(request), principal_of(request), action_id), AlertAction)  # type: ignore[return-value]

    @delete("/{action_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, action_id: FromPath[int]) -> None:
        actions.delete_action(rt(request), principal_of(request), actor_of(request), action_id)


@get("/api/v1/incidents", opt=READ, tags=["alerts"], sync_to_thread=True)
def incidents_index(request: Req) -> list[Incident]:
    """The same rule firing on several devices of one organization within 10 minutes: one incident, newest
    first, with its member alerts (only the first member is notified)."""
    return convert(incidents.list_incidents(rt(request), principal_of(request)), list[Incident])  # type: ignore[return-value]


@get("/api/v1/incidents/{incident_id:int}", opt=READ, tags=["alerts"], sync_to_thread=True)
def incident_show(request: Req, incident_id: FromPath[int]) -> Incident:
    return convert(incidents.get_incident(rt(request), principal_of(request), incident_id), Incident)  # type: ignore[return-value]


class EventRuleController(Controller):
    path = "/api/v1/alert-event-rules"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[EventRule]:
        return convert(event_rules.list_rules(rt(request), principal_of(request)), list[EventRule])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[EventRuleIn]) -> EventRule:
        """Any domain event but alert.* (e.g. agent.revoked, command.finished, device.deleted)."""
        row = event_rules.create_rule(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, EventRule)  # type: ignore[return-value]

    @get("/{rule_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, rule_id: FromPath[int]) -> EventRule:
        return convert(event_rules.get_rule(rt(request), principal_of(request), rule_id), EventRule)  # type: ignore[return-value]

    @delete("/{rule_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, rule_id: FromPath[int]) -> None:
        event_rules.delete_rule(rt(request), principal_of(request), actor_of(request), rule_id)


route_handlers = [incidents_index, incident_show, EventRuleController, AlertController, MaintenanceWindowController, EscalationPolicyController, OncallRotationController,
                  AlertActionController]
