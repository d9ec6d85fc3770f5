"""Shared test set-up: the database each run uses, personas in a small organisation, and a browser.

Personas (as healthchecks' Alice, Bob and Charlie), all with password PASSWORD:
  company HQ ─ branch East (region) ─ Sales East (department, head: dept_head) ─ Team E1 (manager, rep, peer)
             │                     └ Marketing East (marketing)
             ├ branch West (region) ─ Sales West (department) ─ Team W1 (outsider)
             │                     └ Service West (service)
             └ Partners (partner)
  exec (executive) and bizmgmt (business management) and admin (administrator) sit at HQ.
  rep owns account `acct`; outsider owns `other`.
"""
from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from django.db import connection

PASSWORD = "Kam-crm-test-2026"


def shared_datasets():
    """The public acceptance data sets (../shared/datasets beside the checkout, or KAMCRM_DATASETS)."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    for candidate in (os.environ.get("KAMCRM_DATASETS"), here.parent / "shared" / "datasets",
                      Path("/work/shared/datasets")):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return here.parent / "shared" / "datasets"


def pytest_configure(config):
    from django.conf import settings

    # Hashing cost matters in production, not in tests that create a dozen users each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Messages asserted in tests are English unless a test asks for another language (the product's
    # default is zh-hans; tests of Chinese pages send Accept-Language or the language cookie).
    settings.LANGUAGE_CODE = "en"
    from django.utils.translation import trans_real

    trans_real._default = None  # Django cached the fallback catalogue at set-up, in the old default language
    # The suite runs with production settings (DEBUG off) but over plain HTTP on 127.0.0.1.
    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    # Background tasks run at once in the caller (on commit), so a test sees the finished job.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    vendor = "PostgreSQL" if "postgresql" in db["ENGINE"] else "SQLite"
    return f"kamcrm: database = {vendor} ({db.get('HOST') or db['NAME']})"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from django.conf import settings

    vendor = "PostgreSQL" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "SQLite"
    terminalreporter.write_line(f"kamcrm: this run used {vendor}")


@pytest.fixture(autouse=True)
def _reset_language():
    """A request leaves its language active in the thread; start every test from the default."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _default_stages(request):
    """A transactional test (browser, kill/resume) flushes every table, the rows that data migrations
    seed included, so a later test would find no stage path. Before each test that uses the database,
    put the seed's stages back when they are missing (one cheap query otherwise)."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db", "live_server"}:
        return
    transactional = bool(marker is not None and marker.kwargs.get("transaction")) or bool(
        names & {"transactional_db", "live_server"})
    request.getfixturevalue("transactional_db" if transactional else "db")
    import importlib

    from django.apps import apps

    from kamcrm.sales.models import Stage

    if not Stage.objects.exists():
        importlib.import_module("kamcrm.sales.migrations.0002_default_stages").forwards(apps, None)


@pytest.fixture
def org(db):
    from kamcrm.customers import services as customer_services
    from kamcrm.org import services as org_services
    from kamcrm.org.choices import Role, UnitKind

    u = org_services.org_unit_create
    hq = u(name="总部", code="HQ", kind=UnitKind.COMPANY)
    east = u(name="华东分公司", code="EAST", kind=UnitKind.BRANCH, parent=hq)
    sales_east = u(name="华东销售部", code="EAST-SALES", kind=UnitKind.DEPARTMENT, parent=east)
    team_e1 = u(name="华东一组", code="EAST-T1", kind=UnitKind.TEAM, parent=sales_east)
    mkt_east = u(name="华东市场部", code="EAST-MKT", kind=UnitKind.DEPARTMENT, parent=east)
    west = u(name="西部分公司", code="WEST", kind=UnitKind.BRANCH, parent=hq)
    sales_west = u(name="西部销售部", code="WEST-SALES", kind=UnitKind.DEPARTMENT, parent=west)
    team_w1 = u(name="西部一组", code="WEST-T1", kind=UnitKind.TEAM, parent=sales_west)
    svc_west = u(name="西部客服部", code="WEST-SVC", kind=UnitKind.DEPARTMENT, parent=west)
    partners = u(name="合作伙伴", code="PARTNERS", kind=UnitKind.DEPARTMENT, parent=hq)

    def person(username, role, unit, manager=None, **extra):
        return org_services.user_create(username=username, password=PASSWORD, role=role, unit=unit,
                                        manager=manager, display_name=username, **extra)

    admin = person("admin", Role.ADMINISTRATOR, hq, is_staff=True, is_superuser=True)
    exec_ = person("exec", Role.EXECUTIVE, hq)
    bizmgmt = person("bizmgmt", Role.BUSINESS_MANAGEMENT, hq)
    dept_head = person("dept_head", Role.DEPARTMENT_HEAD, sales_east, manager=exec_)
    org_services.org_unit_update(unit=sales_east, data={"head": dept_head})
    manager = person("manager", Role.SALES_MANAGER, team_e1, manager=dept_head)
    rep = person("rep", Role.ACCOUNT_MANAGER, team_e1, manager=manager)
    peer = person("peer", Role.ACCOUNT_MANAGER, team_e1, manager=manager)
    outsider = person("outsider", Role.ACCOUNT_MANAGER, team_w1)
    marketing = person("marketing", Role.MARKETING, mkt_east)
    service = person("service", Role.SERVICE, svc_west)
    partner = person("partner", Role.PARTNER_USER, partners)

    acct = customer_services.account_create(name="上海浦江制造有限公司", short_name="浦江制造", region=east,
                                            owner=rep, tier="key", industry="manufacturing",
                                            credit_code="91310000MA1FL0XQ04")
    other = customer_services.account_create(name="成都天府物流集团", short_name="天府物流", region=west,
                                             owner=outsider, tier="strategic", industry="transport")
    return SimpleNamespace(**locals())


@pytest.fixture
def client_for(client):
    """Log a persona in: client_for(org.rep)."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def api_for():
    from rest_framework.test import APIClient

    def make(user):
        api = APIClient()
        api.force_authenticate(user)
        return api

    return make


@pytest.fixture
def chromium_path():
    path = os.environ.get("KAMCRM_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(path):
        if os.environ.get("KAMCRM_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests require Debian's chromium at {path}")
        pytest.skip(f"SKIPPED browser test: no chromium at {path} (apt-get install chromium)")
    return path


@pytest.fixture
def browser(chromium_path, monkeypatch):
    """Debian's chromium through Playwright (never a downloaded browser); sign in with
    kamcrm.core.tests.browser.sign_in."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def db_vendor(db):
    return connection.vendor
