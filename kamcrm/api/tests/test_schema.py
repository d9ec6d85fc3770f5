"""The OpenAPI schema is valid and generates without warnings; the doc page works offline."""
import re

from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

PATHS = ["/api/v1/org-units/", "/api/v1/users/", "/api/v1/accounts/", "/api/v1/accounts/{id}/timeline/",
         "/api/v1/accounts/{id}/history/", "/api/v1/accounts/by-external-id/{source_system}/{external_id}/",
         "/api/v1/contacts/", "/api/v1/contacts/by-external-id/{source_system}/{external_id}/",
         "/api/v1/account-teams/", "/api/v1/attribute-definitions/", "/api/v1/auth/token/"]


def test_it_serves_a_valid_openapi_3_schema(anon_api, db):
    response = anon_api.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    assert schema["openapi"].startswith("3.")
    assert set(PATHS) <= set(schema["paths"])
    assert {"cookieAuth", "tokenAuth"} <= set(schema["components"]["securitySchemes"])
    # filters of the shared FilterSet and the keyset pagination are described
    params = {p["name"] for p in schema["paths"]["/api/v1/accounts/"]["get"]["parameters"]}
    assert {"q", "tier", "region", "owner", "cursor", "page_size", "sort", "brief"} <= params


def test_the_schema_generates_without_warnings(tmp_path, db):
    # the same as `manage.py spectacular --validate --fail-on-warn`; raises on any warning
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    assert "/api/v1/accounts/" in (tmp_path / "schema.yml").read_text()


def test_the_doc_page_references_only_local_files(anon_api, db):
    # when
    page = anon_api.get("/api/v1/docs/")
    # then
    assert page.status_code == 200
    html = page.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), f"{url} is not a local static file"
    assert "<script>" not in html  # the start-up script is a separate file (CSP without inline scripts)
    assert "http://" not in html and "https://" not in html
    # the start-up script names no other host either (no online validator)
    script_url = next(u for u in urls if "script" in u and "static" not in u)
    script = anon_api.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    js = script.content.decode()
    assert "SwaggerUIBundle" in js
    assert "http://" not in js and "https://" not in js
    assert '"validatorUrl": null' in js
