"""drf-spectacular: describe the bearer authentication of integration tokens (loaded by kamcrm.api.urls)."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    target_class = "kamcrm.integrations.auth.IntegrationTokenAuthentication"
    name = "integrationToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration's API token (`Authorization: Bearer kam_...`), with scopes "
                           "read, write, import and events and a rate limit per minute.",
        }
