"""The receivables app's API routes, registered on the v1 router by kamcrm/api/urls.py: (prefix, viewset, basename)."""
from kamcrm.receivables.api.views import InvoiceViewSet, PaymentViewSet, ReceivablesViewSet

ROUTES: list = [
    ("invoices", InvoiceViewSet, "invoice"),
    ("payments", PaymentViewSet, "payment"),
    ("receivables", ReceivablesViewSet, "receivables"),
]
