"""Top-level routes: each app mounts its own urls.py; the API lives under /api/v1/."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("kamcrm.core.urls")),
    path("accounts/", include("kamcrm.customers.urls")),
    path("org/", include("kamcrm.org.urls")),
    path("sales/manage/", include("kamcrm.sales.manage_urls")),
    path("sales/", include("kamcrm.sales.urls")),
    path("tasks/", include("kamcrm.activities.urls")),
    path("receivables/", include("kamcrm.receivables.urls")),
    path("products/", include("kamcrm.products.urls")),
    path("agreements/", include("kamcrm.agreements.urls")),
    path("analytics/", include("kamcrm.analytics.urls")),
    path("targets/", include("kamcrm.targets.urls")),
    path("poa/", include("kamcrm.poa.urls")),
    path("notifications/", include("kamcrm.notifications.urls")),
    path("exchange/", include("kamcrm.exchange.urls")),
    path("integrations/", include("kamcrm.integrations.urls")),
    path("webhooks/", include("kamcrm.webhooks.urls")),
    path("attachments/", include("kamcrm.attachments.urls")),
    path("api/v1/", include("kamcrm.attachments.api.urls")),  # /api/v1/<owner>/<id>/attachments/
    path("api/v1/", include("kamcrm.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
