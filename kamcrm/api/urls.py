"""API v1, mounted at /api/v1/ (namespace "api"): one ViewSet per model, plus auth, schema and docs."""
from django.urls import path
from rest_framework.routers import DefaultRouter

import kamcrm.core.api.schema  # noqa: F401  (registers the OpenAPI extensions)
from kamcrm.activities.api.routes import ROUTES as ACTIVITY_ROUTES
from kamcrm.agreements.api.routes import ROUTES as AGREEMENT_ROUTES
from kamcrm.api.views import ApiDocsView, ApiSchemaView, TokenObtainView
from kamcrm.core.api.views import AttributeDefinitionViewSet
from kamcrm.customers.api.views import AccountTeamMemberViewSet, AccountViewSet, ContactViewSet
from kamcrm.exchange.export_api import ExportApi
from kamcrm.exchange.import_api import ImportJobViewSet, ImportMappingViewSet
from kamcrm.integrations.api import schema as _integrations_schema  # noqa: F401  (bearer auth in OpenAPI)
from kamcrm.integrations.api.views import InboundEventView
from kamcrm.org.api.views import OrgUnitViewSet, UserViewSet
from kamcrm.products.api.routes import ROUTES as PRODUCT_ROUTES
from kamcrm.receivables.api.routes import ROUTES as RECEIVABLE_ROUTES
from kamcrm.sales.api.routes import ROUTES as SALES_ROUTES
from kamcrm.targets.api.routes import ROUTES as TARGET_ROUTES

app_name = "api"

router = DefaultRouter()
router.register("org-units", OrgUnitViewSet, basename="orgunit")
router.register("users", UserViewSet, basename="user")
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("account-teams", AccountTeamMemberViewSet, basename="accountteammember")
router.register("attribute-definitions", AttributeDefinitionViewSet, basename="attributedefinition")
router.register("imports", ImportJobViewSet, basename="importjob")
router.register("import-mappings", ImportMappingViewSet, basename="importmapping")
for _prefix, _viewset, _basename in [*PRODUCT_ROUTES, *SALES_ROUTES, *ACTIVITY_ROUTES, *AGREEMENT_ROUTES,
                                       *RECEIVABLE_ROUTES, *TARGET_ROUTES]:
    router.register(_prefix, _viewset, basename=_basename)

urlpatterns = [
    path("auth/token/", TokenObtainView.as_view(), name="token_obtain"),
    path("events/", InboundEventView.as_view(), name="inbound_event"),
    path("schema/", ApiSchemaView.as_view(), name="schema"),
    path("docs/", ApiDocsView.as_view(), name="docs"),
    path("exports/<slug:entity>.<slug:fmt>", ExportApi.as_view(), name="export"),
    path("imports/<int:pk>/errors.csv", ImportJobViewSet.as_view({"get": "errors_csv"}), name="importjob-errors-csv"),
    *router.urls,
]
