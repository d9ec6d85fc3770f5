"""The name search index (customers/search.py): the triggers keep the grams on every write path, and a
search through the index finds exactly what "name contains q" finds, for rare and for common terms."""
import random

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamcrm.customers import search, selectors, services
from kamcrm.customers.models import Account, AccountSearchGram, Contact, ContactSearchGram


def stored(model, key: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for gram, pk in model.objects.values_list("gram", key):
        out.setdefault(pk, set()).add(gram)
    return out


def expected_accounts() -> dict[int, set[str]]:
    out = {}
    for pk, name, short in Account.objects.values_list("pk", "name", "short_name"):
        grams = search.grams(name) | search.grams(short)
        if grams:
            out[pk] = grams
    return out


def expected_contacts() -> dict[int, set[str]]:
    return {pk: search.grams(name) for pk, name in Contact.objects.values_list("pk", "name") if name}


def assert_index_holds() -> None:
    assert stored(AccountSearchGram, "account_id") == expected_accounts()
    assert stored(ContactSearchGram, "contact_id") == expected_contacts()


def test_grams_pair_neighbours_and_pad_the_last_character():
    assert search.grams("华信") == {"华信", "信" + search.END}
    assert search.grams("ACME") == {"ac", "cm", "me", "e" + search.END}
    assert search.grams("") == set()


def test_every_write_path_keeps_the_index(org):
    # services (Model.save) — the org fixture's two accounts
    assert_index_holds()
    # a rename through the service
    services.account_update(account=org.acct, data={"name": "上海浦江精密制造股份公司", "short_name": "浦江精密"})
    assert_index_holds()
    # QuerySet.update(), bulk_create() and bulk_update() bypass save(): the triggers still see them
    Account.objects.filter(pk=org.other.pk).update(short_name="Tianfu Logistics")
    created = Account.objects.bulk_create([
        Account(name=f"批量导入客户{i}号", short_name=f"批量{i}", region=org.east, owner=org.rep,
                owner_unit=org.rep.unit) for i in range(3)])
    assert_index_holds()
    for a in created:
        a.name = a.name.replace("批量", "Bulk ")
    Account.objects.bulk_update(created, ["name"])
    contact = services.contact_create(account=org.acct, name="王小明")
    Contact.objects.filter(pk=contact.pk).update(name="Wang Xiaoming")
    assert_index_holds()
    # deletes take their grams with them (no foreign key on the gram table: the trigger does it)
    Contact.objects.filter(pk=contact.pk).delete()
    created[0].delete()
    assert_index_holds()
    assert not AccountSearchGram.objects.filter(account_id=created[0].pk).exists()


def test_rebuild_gives_back_what_the_triggers_wrote(org):
    services.contact_create(account=org.other, name="李雷")
    before = stored(AccountSearchGram, "account_id"), stored(ContactSearchGram, "contact_id")
    AccountSearchGram.objects.all().delete()
    search.rebuild()
    assert (stored(AccountSearchGram, "account_id"), stored(ContactSearchGram, "contact_id")) == before


def test_suspended_triggers_write_nothing_until_the_rebuild(org):
    search.suspend()
    assert not search.installed()
    Account.objects.filter(pk=org.acct.pk).update(name="改名之后的客户")
    assert AccountSearchGram.objects.filter(account_id=org.acct.pk, gram="改名").count() == 0
    search.resume()
    assert search.installed()
    assert_index_holds()


NAME_CHARS = "华信电通北京上海有限公司集团ACMEacme 科技"


# each example starts by deleting what the previous one added, so the fixture may be shared
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(alphabet=NAME_CHARS, min_size=1, max_size=12), min_size=1, max_size=25),
       q=st.text(alphabet=NAME_CHARS, min_size=1, max_size=4), cap=st.sampled_from([1, 3, search.CAP]))
def test_search_through_the_index_finds_what_contains_finds(org, names, q, cap):
    """Rare terms (candidates under the rarest gram) and common ones (cap reached: the plain condition)
    both give exactly the accounts and contacts whose name contains q, as the executive and as a rep."""
    q = q.strip() or "华"
    Account.objects.exclude(pk__in=[org.acct.pk, org.other.pk]).delete()
    Contact.objects.all().delete()
    owners = [org.rep, org.outsider]
    rnd = random.Random(len(names))
    accounts = Account.objects.bulk_create([
        Account(name=n, short_name=n[:3], region=org.east, owner=(o := rnd.choice(owners)), owner_unit=o.unit)
        for n in names])
    Contact.objects.bulk_create([Contact(account=a, name=a.name[-3:]) for a in accounts])
    old = search.CAP
    search.CAP = cap
    try:
        for user in (org.exec_, org.rep):
            found = selectors.global_search(user=user, q=q, limit=100)
            want_accounts = {a.pk for a in selectors.account_queryset(user=user).filter(search.contains(search.ACCOUNTS, q))}
            want_contacts = {c.pk for c in selectors.contact_queryset(user=user).filter(name__icontains=q)}
            assert {a.pk for a in found.accounts} == want_accounts
            assert {c.pk for c in found.contacts} >= want_contacts  # plus mobile / e-mail prefix matches
            listed = selectors.account_queryset(user=user, filters={"q": q})
            assert set(listed.values_list("pk", flat=True)) >= want_accounts
    finally:
        search.CAP = old


def test_a_rare_term_reads_candidates_not_the_table(org):
    # given many accounts that share a common word and one with a rare one
    Account.objects.bulk_create([Account(name=f"通用电信服务{i:03d}有限公司", region=org.east, owner=org.rep,
                                         owner_unit=org.rep.unit) for i in range(60)])
    rare = services.account_create(name="罕见琥珀科技有限公司", region=org.east, owner=org.rep, tier="normal")
    old = search.CAP
    search.CAP = 50  # "电信" has 60 rows here: common; "琥珀" one: rare
    try:
        with CaptureQueriesContext(connection) as ctx:
            found = selectors.global_search(user=org.exec_, q="琥珀", limit=10)
        assert [a.pk for a in found.accounts] == [rare.pk]
        account_sql = [x["sql"] for x in ctx.captured_queries if 'FROM "customers_account"' in x["sql"]]
        assert account_sql and "customers_accountsearchgram" in account_sql[0]
        # a common term needs no candidates: the name index is walked with the condition
        with CaptureQueriesContext(connection) as ctx:
            found = selectors.global_search(user=org.exec_, q="电信", limit=10)
        assert len(found.accounts) == 10
        account_sql = [x["sql"] for x in ctx.captured_queries if 'FROM "customers_account"' in x["sql"]]
        assert account_sql and "customers_accountsearchgram" not in account_sql[0]
    finally:
        search.CAP = old


def test_one_character_finds_it_anywhere_in_the_name(org):
    # the last character too (it pairs with the end marker), and in the short name
    found = selectors.global_search(user=org.exec_, q="司", limit=10)
    assert org.acct in found.accounts  # 上海浦江制造有限公司
    found = selectors.global_search(user=org.exec_, q="团", limit=10)
    assert org.other in found.accounts  # 成都天府物流集团


@pytest.mark.parametrize("term", ["ACME", "acme", "AcMe"])
def test_latin_names_match_in_any_case(org, term):
    a = services.account_create(name="Acme Corporation", region=org.east, owner=org.rep, tier="normal")
    assert selectors.global_search(user=org.exec_, q=term, limit=10).accounts == [a]
