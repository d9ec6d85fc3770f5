"""model_update: the one generic write of a few fields, and validation_error_dict for forms and the API."""
import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kamcrm.audit.models import ObjectChange
from kamcrm.core.services import model_update, validation_error_dict
from kamcrm.customers.models import Account, AccountTeamMember


def changes_of(obj) -> int:
    return ObjectChange.objects.filter(object_id=obj.pk, content_type__model=obj._meta.model_name).count()


def test_it_saves_the_listed_fields_that_changed(org):
    # given
    before = Account.objects.get(pk=org.acct.pk).updated_at
    # when
    account, changed = model_update(instance=org.acct, fields=["name", "phone"], data={"phone": "021-5555 0101"})
    # then
    assert changed is True
    row = Account.objects.get(pk=org.acct.pk)
    assert row.phone == "021-5555 0101"
    assert row.name == "上海浦江制造有限公司"
    assert row.updated_at > before


def test_it_ignores_fields_that_are_not_listed(org):
    model_update(instance=org.acct, fields=["phone"], data={"phone": "1", "name": "改名", "tier": "normal"})
    row = Account.objects.get(pk=org.acct.pk)
    assert (row.phone, row.name, row.tier) == ("1", "上海浦江制造有限公司", "key")


def test_it_writes_nothing_when_nothing_changed(org, django_assert_num_queries):
    account = Account.objects.select_related("owner").get(pk=org.acct.pk)
    audit_rows = changes_of(account)
    with django_assert_num_queries(0):
        _, changed = model_update(instance=account, fields=["name", "owner", "tier"],
                                  data={"name": account.name, "owner": org.rep, "tier": "key"})
    assert changed is False
    assert changes_of(account) == audit_rows


def test_an_equal_value_spelled_differently_is_no_change(org):
    # given a team membership with dates, as an import would send them again (strings)
    member = AccountTeamMember.objects.create(account=org.acct, user=org.peer, valid_from=dt.date(2025, 1, 1))
    updated_at = AccountTeamMember.objects.get(pk=member.pk).updated_at
    # when
    _, changed = model_update(instance=member, fields=["valid_from", "access"],
                              data={"valid_from": "2025-01-01", "access": "read"})
    # then
    assert changed is False
    assert AccountTeamMember.objects.get(pk=member.pk).updated_at == updated_at


def test_it_converts_input_on_a_real_change(org):
    member = AccountTeamMember.objects.create(account=org.acct, user=org.peer)
    model_update(instance=member, fields=["valid_to"], data={"valid_to": "2026-06-30"})
    assert member.valid_to == dt.date(2026, 6, 30)
    assert AccountTeamMember.objects.get(pk=member.pk).valid_to == dt.date(2026, 6, 30)


def test_it_sets_foreign_keys_by_instance(org):
    model_update(instance=org.acct, fields=["region"], data={"region": org.west})
    assert Account.objects.get(pk=org.acct.pk).region_id == org.west.pk


def test_it_refuses_bad_input_by_field_and_changes_nothing(org):
    # given
    account = Account.objects.get(pk=org.acct.pk)
    audit_rows = changes_of(account)
    # when
    with pytest.raises(ValidationError) as excinfo:
        model_update(instance=account, fields=["name", "tier", "credit_code"],
                     data={"name": "新名字", "tier": "platinum", "credit_code": "91310000MA1FL0XQ05"})
    # then: every bad field is named, the row and the audit log are as they were
    assert set(excinfo.value.message_dict) == {"tier", "credit_code"}
    row = Account.objects.get(pk=org.acct.pk)
    assert (row.name, row.tier, row.credit_code) == ("上海浦江制造有限公司", "key", "91310000MA1FL0XQ04")
    assert changes_of(account) == audit_rows
    # and so is the instance, so a later save cannot write the refused values
    assert (account.name, account.tier, account.credit_code) == ("上海浦江制造有限公司", "key", "91310000MA1FL0XQ04")


def test_it_saves_only_its_fields_so_concurrent_edits_survive(org):
    # given two copies of the same row, as two requests would hold them
    first = Account.objects.get(pk=org.acct.pk)
    second = Account.objects.get(pk=org.acct.pk)
    # when each changes a different field
    model_update(instance=first, fields=["phone"], data={"phone": "021-1"})
    model_update(instance=second, fields=["website"], data={"website": "https://pujiang.example.cn"})
    # then both changes are kept
    row = Account.objects.get(pk=org.acct.pk)
    assert (row.phone, row.website) == ("021-1", "https://pujiang.example.cn")


def test_validation_error_dict_keys_messages_by_field():
    exc = ValidationError({"credit_code": ["bad"], "attributes.size": ["too big", "not a number"]})
    assert validation_error_dict(exc) == {"credit_code": ["bad"], "attributes.size": ["too big", "not a number"]}


def test_validation_error_dict_puts_other_errors_under_all():
    assert validation_error_dict(ValidationError("nope")) == {"__all__": ["nope"]}
    assert validation_error_dict(ValidationError(["a", "b"])) == {"__all__": ["a", "b"]}


def test_validation_error_dict_fills_in_params():
    exc = ValidationError({"n": [ValidationError("has %(n)d", params={"n": 3})]})
    assert validation_error_dict(exc) == {"n": ["has 3"]}
