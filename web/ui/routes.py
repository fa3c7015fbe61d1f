"""Every page of the UI, gathered for the application."""

from __future__ import annotations

from starlette.routing import BaseRoute

from web.ui import (
    admin_accounts,
    admin_categories,
    admin_groups,
    admin_organisations,
    admin_pages,
    analytics_kb,
    analytics_pages,
    analytics_report,
    call_pages,
    desk_pages,
    history_pages,
    incident_pages,
    kb_pages,
    me_pages,
    notification_pages,
    oversight_pages,
    quality_pages,
    release_pages,
    requester_pages,
    session_pages,
    ticket_pages,
    unsubscribe_pages,
)

routes: list[BaseRoute] = [
    *session_pages.routes,
    *me_pages.routes,
    *desk_pages.routes,
    *call_pages.routes,
    *incident_pages.routes,
    *history_pages.routes,
    *ticket_pages.routes,
    *requester_pages.routes,
    *kb_pages.routes,
    *oversight_pages.routes,
    *admin_pages.routes,
    *admin_accounts.routes,
    *admin_groups.routes,
    *admin_categories.routes,
    *admin_organisations.routes,
    *analytics_pages.routes,
    *analytics_kb.routes,
    *analytics_report.routes,
    *quality_pages.routes,
    *release_pages.routes,
    *notification_pages.routes,
    *unsubscribe_pages.routes,
]
