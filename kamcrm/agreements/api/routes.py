"""The agreements app's API routes, registered on the v1 router by kamcrm/api/urls.py: (prefix, viewset, basename)."""
from kamcrm.agreements.api.views import AgreementViewSet, OrderViewSet

ROUTES: list = [
    ("agreements", AgreementViewSet, "agreement"),
    ("orders", OrderViewSet, "order"),
]
