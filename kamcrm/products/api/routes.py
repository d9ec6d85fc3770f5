"""The products app's API routes, registered on the v1 router by kamcrm/api/urls.py: (prefix, viewset, basename)."""
from kamcrm.products.api.views import ProductLineViewSet, ProductPlanViewSet, ProductViewSet

ROUTES: list = [
    ("product-lines", ProductLineViewSet, "productline"),
    ("products", ProductViewSet, "product"),
    ("product-plans", ProductPlanViewSet, "productplan"),
]
