from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "kamcrm.exchange"
    label = "exchange"
    verbose_name = _("Import and export")

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from kamcrm.exchange import export_customers  # noqa: F401  (registers accounts and contacts)

        # Later apps make their lists exportable in an `exports` module that calls export.register().
        autodiscover_modules("exports")
        # Importable entities live in each app's `import_entities` module (exchange/import_specs.py).
        autodiscover_modules("import_entities")
