from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProductsConfig(AppConfig):
    name = "kamcrm.products"
    label = "products"
    verbose_name = _("Products")

    def ready(self):
        from kamcrm.audit.registry import register
        from kamcrm.products.models import Product, ProductLine, ProductPlan

        register(ProductLine)
        register(Product)
        register(ProductPlan)
