"""The API's own field classes write exactly what DRF's would."""
import pytest
from django.urls import set_script_prefix
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from kamcrm.core.api.serializers import DetailUrlField, DisplayField


@pytest.mark.parametrize("prefix", ["/", "/crm/"])
@pytest.mark.parametrize("host", ["testserver", "crm.example.cn:8443"])
def test_the_detail_url_is_the_one_drf_reverses(org, settings, prefix, host):
    settings.ALLOWED_HOSTS = ["testserver", "crm.example.cn"]
    # given: records of several routes, a request on some host, the site mounted under some prefix
    from kamcrm.sales import services as sales_services

    opportunity = sales_services.opportunity_create(account=org.acct, name="测试商机", owner=org.rep)
    request = Request(APIRequestFactory().get("/api/v1/", HTTP_HOST=host))
    records = [(org.acct, "api:account-detail"), (org.other, "api:account-detail"), (org.rep, "api:user-detail"),
               (org.east, "api:orgunit-detail"), (opportunity, "api:opportunity-detail")]
    set_script_prefix(prefix)
    try:
        for record, view_name in records:
            ours, drfs = DetailUrlField(view_name=view_name), serializers.HyperlinkedIdentityField(view_name=view_name)
            for field in (ours, drfs):
                field.bind("url", serializers.Serializer(context={"request": request}))
            # when / then
            assert ours.to_representation(record) == drfs.to_representation(record)
            assert ours.to_representation(record).startswith(f"http://{host}{prefix}api/v1/")
    finally:
        set_script_prefix("/")


def test_the_display_field_writes_the_records_text(org):
    field = DisplayField()
    field.bind("display", serializers.Serializer())
    assert field.to_representation(field.get_attribute(org.acct)) == str(org.acct) == "上海浦江制造有限公司"
