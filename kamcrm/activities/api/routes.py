"""The activities app's API routes, registered on the v1 router by kamcrm/api/urls.py."""
from kamcrm.activities.api.views import FunnelAlertViewSet, SalesPlanViewSet, TaskViewSet, VisitViewSet

ROUTES: list = [
    ("tasks", TaskViewSet, "task"),
    ("visits", VisitViewSet, "visit"),
    ("sales-plans", SalesPlanViewSet, "salesplan"),
    ("funnel-alerts", FunnelAlertViewSet, "funnelalert"),
]
