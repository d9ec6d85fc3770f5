"""The zh-Hans catalogue: complete, compiled, in the glossary's words, and used by the key pages.

The .po file is read with a small parser (standard library only); msgfmt is used when it is
installed, and the checks that need it skip cleanly when it is not.
"""
from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from conftest import PASSWORD

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"
CONTEXT_SEPARATOR = "\x04"


# ---- a small .po reader -------------------------------------------------------------------------

def _unquote(token: str) -> str:
    token = token.strip()
    assert token.startswith('"') and token.endswith('"'), token
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
    return re.sub(r'\\(.)', lambda m: escapes[m.group(1)], token[1:-1])


def read_po(path: Path = PO_FILE) -> list[dict]:
    """Entries as dicts: ctx, id, plural, strs ({None: str} or {0: str, ...}), flags, line."""
    entries: list[dict] = []
    entry: dict | None = None
    field: tuple | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, field = None, None
            continue
        if entry is None:
            entry = {"ctx": None, "id": None, "plural": None, "strs": {}, "flags": set(), "line": number}
            entries.append(entry)
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            field, entry["ctx"] = ("ctx",), _unquote(line[8:])
        elif line.startswith("msgid_plural "):
            field, entry["plural"] = ("plural",), _unquote(line[13:])
        elif line.startswith("msgid "):
            field, entry["id"] = ("id",), _unquote(line[6:])
        elif line.startswith("msgstr["):
            index, rest = re.match(r"msgstr\[(\d+)\]\s+(.*)", line).groups()
            field = ("strs", int(index))
            entry["strs"][int(index)] = _unquote(rest)
        elif line.startswith("msgstr "):
            field = ("strs", None)
            entry["strs"][None] = _unquote(line[7:])
        elif line.startswith('"'):
            if field[0] == "strs":
                entry["strs"][field[1]] += _unquote(line)
            else:
                entry[field[0]] += _unquote(line)
        else:
            raise AssertionError(f"{path}:{number}: cannot read {raw!r}")
    return [e for e in entries if e["id"] is not None]


def catalogue_of(entries: list[dict]) -> dict:
    """The message table as gettext.GNUTranslations holds it (its `_catalog`); like msgfmt, fuzzy and
    untranslated entries are left out."""
    table: dict = {}
    for e in entries:
        if e["id"] and ("fuzzy" in e["flags"] or not all(e["strs"].values())):
            continue
        key = f"{e['ctx']}{CONTEXT_SEPARATOR}{e['id']}" if e["ctx"] is not None else e["id"]
        if e["plural"] is None:
            table[key] = e["strs"][None]
        else:
            for index, text in e["strs"].items():
                table[(key, index)] = text
    return table


def placeholders(text: str) -> list[str]:
    python = re.findall(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]", text)
    brace = re.findall(r"\{[a-z_]+\}", text)
    return sorted(p for p in python + brace if p != "%%")


def load_mo(path: Path) -> dict:
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)


@pytest.fixture(scope="module")
def entries():
    return read_po()


@pytest.fixture(scope="module")
def messages(entries):
    return [e for e in entries if e["id"] != ""]


@pytest.fixture(autouse=True)
def _no_language_left_behind():
    # A request activates its language in this thread; leave the next test the suite's default.
    yield
    translation.deactivate()


# ---- (a) the catalogue is complete ----------------------------------------------------------------

def test_it_has_a_catalogue_with_one_plural_form(entries):
    header = entries[0]
    assert header["id"] == "" and "fuzzy" not in header["flags"]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["strs"][None]
    assert "Language: zh_Hans" in header["strs"][None]


def test_it_translates_every_entry_and_leaves_nothing_fuzzy(messages):
    assert len(messages) > 500
    untranslated = [e["id"] for e in messages if not all(s.strip() for s in e["strs"].values())]
    fuzzy = [e["id"] for e in messages if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_it_gives_plural_entries_exactly_one_form(messages):
    plurals = [e for e in messages if e["plural"] is not None]
    assert plurals
    assert [e["id"] for e in plurals if set(e["strs"]) != {0}] == []


def test_it_keeps_every_placeholder(messages):
    wrong = []
    for e in messages:
        wanted = placeholders(e["id"])
        for text in e["strs"].values():
            if placeholders(text) != wanted:
                wrong.append((e["id"], text))
    assert wrong == []


def test_msgfmt_accepts_the_catalogue():
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("SKIPPED: msgfmt (gettext) is not installed; the pure-Python checks above still ran")
    result = subprocess.run([msgfmt, "--check", "--statistics", "-o", "/dev/null", str(PO_FILE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr


# ---- (b) the committed .mo is the compiled .po ----------------------------------------------------

def test_the_committed_mo_holds_exactly_the_po_messages(entries):
    # Works without gettext installed: the .po as read here against the .mo as Python reads it.
    committed = load_mo(MO_FILE)
    expected = catalogue_of(entries)
    assert {k: v for k, v in committed.items() if k != ""} == {k: v for k, v in expected.items() if k != ""}


def test_the_committed_mo_equals_a_fresh_compile(tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("SKIPPED: msgfmt (gettext) is not installed; compared against the .po text instead")
    fresh = tmp_path / "django.mo"
    subprocess.run([msgfmt, "--check", "-o", str(fresh), str(PO_FILE)], check=True)
    committed, compiled = load_mo(MO_FILE), load_mo(fresh)
    assert committed.keys() == compiled.keys(), "django.mo is stale: run `manage.py compilemessages`"
    assert committed == compiled, "django.mo is stale: run `manage.py compilemessages`"


# ---- glossary and fixed choices ---------------------------------------------------------------------

GLOSSARY = {
    (None, "key account"): "大客户",
    (None, "strategic account"): "战略客户",
    (None, "group customer"): "集团客户",
    (None, "account manager"): "客户经理",
    (None, "Account team"): "客户服务团队",
    (None, "organisation unit"): "组织单元",
    (None, "contact"): "联系人",
    (None, "decision role"): "决策角色",
    (None, "decision maker"): "决策者",
    (None, "influencer"): "影响者",
    ("decision role", "user"): "使用者",
    (None, "gatekeeper"): "把关者",
    (None, "audit log"): "操作日志",
    (None, "custom attribute"): "自定义属性",
    (None, "unified social credit code"): "统一社会信用代码",
    (None, "business management"): "业务管理",
    (None, "Import"): "导入",
    (None, "tier"): "客户等级",
    (None, "History"): "变更记录",  # the browser test looks for it on the 360 page
    (None, "Accounts"): "客户",
}


def test_it_uses_the_glossary_words(entries):
    table = {(e["ctx"], e["id"]): e["strs"].get(None) for e in entries}
    assert {key: table.get(key) for key in GLOSSARY} == GLOSSARY


def test_role_and_unit_kind_labels_are_words_the_org_importer_accepts():
    from kamcrm.org.choices import Role, UnitKind
    from kamcrm.org.importers import ROLE_WORDS, UNIT_KIND_WORDS

    with translation.override("zh-hans"):
        roles = {value: str(label) for value, label in Role.choices}
        kinds = {value: str(label) for value, label in UnitKind.choices}
    assert {value: ROLE_WORDS.get(label) for value, label in roles.items()} == {v: v for v in roles}
    assert {value: UNIT_KIND_WORDS.get(label) for value, label in kinds.items()} == {v: v for v in kinds}


# ---- (c) the key pages in both languages --------------------------------------------------------------

class VisibleText(HTMLParser):
    """The text a reader sees (and hears: title, placeholder, aria-label), without scripts or markup."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [value for name, value in attrs if name in ("title", "placeholder", "aria-label") and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(" ".join(data.split()))


def visible_text(response) -> str:
    parser = VisibleText()
    parser.feed(response.content.decode())
    return " | ".join(parser.parts)


def english_words(text: str) -> set[str]:
    """Words in Latin letters, leaving out upper-case codes such as unit codes ("EAST-SALES")."""
    return {w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", text) if not re.fullmatch(r"[A-Z][A-Z-]*", w)}


# Words a zh-Hans page may show besides upper-case codes: the language switch, the brand and the
# personas' user names.
ALLOWED_ENGLISH = {"English", "kamcrm", "rep", "peer", "manager", "dept", "head", "outsider", "admin"}

# (page, labels a zh-Hans reader must see, the same labels in English)
PAGES = {
    "account_list": (["客户", "新建客户", "客户等级", "客户经理", "退出登录", "筛选"],
                     ["Accounts", "New account", "Tier", "Account manager", "Log out", "Filter"]),
    "account": (["基本信息", "统一社会信用代码", "客户服务团队", "时间线", "变更记录", "集团层级", "大客户"],
                ["Profile", "Unified social credit code", "Account team", "Timeline", "History", "Group hierarchy",
                 "key account"]),
    "search": (["搜索客户和联系人", "在客户列表中打开", "联系人"],
               ["Search accounts and contacts", "Open in the account list", "Contacts"]),
    "unit_list": (["组织架构", "组织单元", "人员", "共享规则", "负责人", "分公司", "部门", "小组"],
                  ["Organisation", "Organisation units", "People", "Sharing rules", "Head", "branch", "department",
                   "team"]),
    "login": (["登录您的账号", "登录", "用户名", "密码"], ["Log in to your account", "Log in", "Username", "Password"]),
}
ENGLISH_ONLY = ["Accounts", "Log out", "Contacts", "Organisation", "History", "Edit", "Search", "Filter",
                "Profile", "Timeline", "Log in"]


def page_url(name: str, org) -> str:
    return {
        "account_list": reverse("customers:account_list"),
        "account": reverse("customers:account", args=[org.acct.pk]),
        "search": reverse("search") + "?q=浦江",
        "unit_list": reverse("org:unit_list"),
        "login": reverse("login"),
    }[name]


def get_page(client, org, name: str, how: str, language: str):
    if name != "login":
        client.force_login(org.rep)
    headers = {}
    if how == "header":
        headers["HTTP_ACCEPT_LANGUAGE"] = language
    else:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(page_url(name, org), **headers)
    assert response.status_code == 200
    return response


@pytest.fixture
def lived_in(org):
    """The rep's account with a contact, a team member and an edit, so that every card has content."""
    from kamcrm.customers import services

    services.contact_create(account=org.acct, name="张三", title="总经理", decision_role="decision_maker")
    services.team_member_add(account=org.acct, user=org.peer)
    services.account_update(account=org.acct, data={"short_name": "浦江"})
    return org


@pytest.mark.parametrize("how", ["header", "cookie"])
@pytest.mark.parametrize("name", list(PAGES))
def test_key_pages_speak_chinese_to_a_chinese_reader(client, lived_in, name, how):
    # given: a reader who asked for zh-Hans (browser header or the language switch's cookie)
    # when
    response = get_page(client, lived_in, name, how, "zh-hans")
    text = visible_text(response)
    # then: Chinese labels, no English ones, and no English word beyond names and codes
    assert '<html lang="zh-hans">' in response.content.decode()
    zh, en = PAGES[name]
    assert [label for label in zh if label not in text] == []
    shown = [label for label in [*en, *ENGLISH_ONLY] if re.search(rf"(?<![A-Za-z]){re.escape(label)}(?![A-Za-z])", text)]
    assert shown == []
    assert english_words(text) - ALLOWED_ENGLISH == set()


@pytest.mark.parametrize("how", ["header", "cookie"])
@pytest.mark.parametrize("name", list(PAGES))
def test_key_pages_speak_english_to_an_english_reader(client, lived_in, name, how):
    # when
    response = get_page(client, lived_in, name, how, "en")
    text = visible_text(response)
    # then: English labels and none of the Chinese ones
    assert '<html lang="en">' in response.content.decode()
    zh, en = PAGES[name]
    assert [label for label in en if label not in text] == []
    chinese_labels = {"客户经理", "退出登录", "联系人", "组织架构", "变更记录", "编辑", "搜索", "筛选", "登录",
                      "组织单元", "客户等级", "基本信息"}
    assert sorted(label for label in chinese_labels if label in text) == []


def test_the_product_default_is_chinese(client, org, settings):
    # given: the product's own default (the suite runs with LANGUAGE_CODE "en")
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(org.rep)
    # when: a browser that states no language
    text = visible_text(client.get(reverse("customers:account_list")))
    # then
    assert "退出登录" in text and "Log out" not in text


def test_the_language_switch_changes_the_pages(client, org):
    # given: a Chinese session
    client.post(reverse("login"), {"username": "rep", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "退出登录" in visible_text(client.get(reverse("customers:account_list"), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    # when: the reader presses "English"
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("customers:account_list")},
                           HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 302
    # then: the cookie wins over the browser's header
    text = visible_text(client.get(reverse("customers:account_list"), HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "Log out" in text and "退出登录" not in text


def test_validation_messages_follow_the_language():
    from django.core.exceptions import ValidationError

    from kamcrm.core.validators import validate_credit_code

    for language, expected in (("zh-hans", "统一社会信用代码应为 18 位"), ("en", "has 18 characters")):
        with translation.override(language):
            with pytest.raises(ValidationError) as refused:
                validate_credit_code("123")
            assert expected in " ".join(refused.value.messages)


def test_api_errors_follow_the_language(org, api_for):
    api = api_for(org.rep)
    zh = api.get("/api/v1/accounts/?sort=nonsense", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    en = api.get("/api/v1/accounts/?sort=nonsense", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "未知的排序方式" in " ".join(zh["errors"]["sort"])
    assert "Unknown sort" in " ".join(en["errors"]["sort"])
