"""Every route of the service desk and its client portal, for the app to mount in one line."""

from __future__ import annotations

from ninjait.portal import api as portal_api, views as portal_views
from ninjait.tickets import (
    api, board_views, collab_api, collab_views, contacts_views, desk_api, desk_views, fields_api, kb_api, mail_api,
    settings_api,
    settings_views, time_api, timesheet_views, views,
)

route_handlers = [
    *api.route_handlers, *fields_api.route_handlers, *kb_api.route_handlers, *mail_api.route_handlers,
    *settings_api.route_handlers, *time_api.route_handlers, *settings_views.route_handlers,
    *contacts_views.route_handlers, *board_views.route_handlers, *timesheet_views.route_handlers,
    *views.route_handlers, *collab_api.route_handlers, *collab_views.route_handlers,
    *portal_api.route_handlers, *portal_views.route_handlers,
    *desk_api.route_handlers, *desk_views.route_handlers,  # teams, queues, routing, macros, recurring tickets
]
