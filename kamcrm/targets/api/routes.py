"""The targets app's API routes, registered on the v1 router by kamcrm/api/urls.py: (prefix, viewset, basename)."""
from kamcrm.targets.api.views import CompletionViewSet, MetricViewSet, PlanViewSet, RankingViewSet

ROUTES: list = [
    ("target-metrics", MetricViewSet, "targetmetric"),
    ("target-plans", PlanViewSet, "targetplan"),
    ("target-completion", CompletionViewSet, "targetcompletion"),
    ("target-ranking", RankingViewSet, "targetranking"),
]
