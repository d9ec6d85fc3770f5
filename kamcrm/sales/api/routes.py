"""The sales app's API routes, registered on the v1 router by kamcrm/api/urls.py: (prefix, viewset, basename)."""
from kamcrm.sales.api.views import FunnelRuleViewSet, FunnelViewSet, OpportunityViewSet, StageViewSet

ROUTES: list = [
    ("stages", StageViewSet, "stage"),
    ("opportunities", OpportunityViewSet, "opportunity"),
    ("funnel", FunnelViewSet, "funnel"),
    ("funnel-rules", FunnelRuleViewSet, "funnelrule"),
]
