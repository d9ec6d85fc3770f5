"""CSV import of the organisation: organisation units and people, all or nothing.

Two files, each optional (at least one is needed):

units (组织单元)
    =================  ===============  ========================================  ==================
    column             zh-Hans header   also accepted                              value
    =================  ===============  ========================================  ==================
    code               代码             编码, 单元代码                              required, unique
    name               名称             单元名称                                    required
    kind               类型             单元类型                                    required: a code (company, branch, region,
                                                                                   department, team) or its label in English
                                                                                   or Chinese (公司/总公司, 分公司, 区域, 部门,
                                                                                   小组/团队)
    parent_code        上级代码         上级单元代码                                optional; empty = a root unit
    head_username      负责人用户名     负责人                                      optional; a user in the system or in the
                                                                                   people file
    =================  ===============  ========================================  ==================

users (人员)
    =================  ===============  ========================================  ==================
    username           用户名           登录名, 账号                                required, unique
    display_name       姓名             显示名称                                    required
    email              邮箱             电子邮箱, 电子邮件                          optional
    unit_code          单元代码         所属单元代码, 组织单元代码, 所属单元        required: a unit in the system or the units file
    manager_username   上级用户名       直属上级用户名, 直属上级, 上级              optional; a user in the system or this file
    role               角色                                                        required: a code (account_manager …) or its
                                                                                   label in English or Chinese (高管, 业务管理,
                                                                                   部门负责人, 销售经理, 客户经理, 市场, 服务,
                                                                                   合作伙伴用户, 管理员; see ROLE_WORDS)
    phone              电话             手机, 联系电话                              optional
    password           密码                                                        optional; used only when the person is created
    =================  ===============  ========================================  ==================

Headers are matched case-insensitively, ignoring spaces, hyphens and underscores, in either language
(they may be mixed). Files are UTF-8 (with or without BOM) or GB18030 (what Excel and WPS save on a
Chinese Windows).

Rules
  * Upsert by `code` (units) and `username` (people). A column left out of the header leaves that field
    alone on existing records; a column that is present is applied, and an empty cell clears an optional
    field (e.g. an empty `manager_username` removes the manager). Passwords are never changed by an import.
  * Validation runs first over both files and reports EVERY problem with its line (as a spreadsheet shows
    it: the header is line 1), column (as written in the file) and reason: missing column or value,
    unknown kind/role, unknown parent/unit/manager/head, a code or username twice in the file, field
    format (length, e-mail, username characters, weak password), and parent or manager cycles (counting
    what is already in the system, so moving a unit under its own sub-unit is a cycle too).
  * A parent or manager may appear later in the file than the rows that refer to it: rows are written
    in topological order (parents and managers first).
  * All or nothing: if anything is wrong nothing is written. A dry run does every step, including the
    writes, inside a transaction it then rolls back, so its counts are exact.
  * Only what differs is written, so importing the same file again changes nothing and logs nothing.
    A head who is created by the people file is set on their unit once they exist (so that unit gets
    a second audit entry the first time).
  * Errors about a whole file (not UTF-8/GB18030, empty) carry line 0.
  * Writes go through org.services and run as channel "import" with a job id, so the audit log shows
    which import made each change.
"""
from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kamcrm.core.context import Channel, change_context
from kamcrm.core.services import validation_error_dict
from kamcrm.org import services
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.models import OrgUnit, User

__all__ = [
    "ROLE_WORDS",
    "UNIT_KIND_WORDS",
    "USER_COLUMNS",
    "UNIT_COLUMNS",
    "ImportResult",
    "RowError",
    "org_import",
    "org_import_template",
]

UNITS = "units"
USERS = "users"


@dataclass(frozen=True)
class Column:
    name: str  # canonical (English) header and the field it feeds
    zh: str  # the zh-Hans header the template uses
    aliases: tuple[str, ...] = ()
    required: bool = False  # the column must be present and every row must have a value


UNIT_COLUMNS = (
    Column("code", "代码", ("编码", "单元代码"), required=True),
    Column("name", "名称", ("单元名称",), required=True),
    Column("kind", "类型", ("单元类型",), required=True),
    Column("parent_code", "上级代码", ("上级单元代码",)),
    Column("head_username", "负责人用户名", ("负责人",)),
)
USER_COLUMNS = (
    Column("username", "用户名", ("登录名", "账号"), required=True),
    Column("display_name", "姓名", ("显示名称",), required=True),
    Column("email", "邮箱", ("电子邮箱", "电子邮件")),
    Column("unit_code", "单元代码", ("所属单元代码", "组织单元代码", "所属单元"), required=True),
    Column("manager_username", "上级用户名", ("直属上级用户名", "直属上级", "上级")),
    Column("role", "角色", (), required=True),
    Column("phone", "电话", ("手机", "联系电话")),
    Column("password", "密码", ()),
)
COLUMNS = {UNITS: UNIT_COLUMNS, USERS: USER_COLUMNS}

# Chinese words accepted besides the codes and the translated labels (GLOSSARY.md words first).
UNIT_KIND_WORDS = {
    "公司": UnitKind.COMPANY, "总公司": UnitKind.COMPANY, "总部": UnitKind.COMPANY,
    "分公司": UnitKind.BRANCH, "区域": UnitKind.REGION, "部门": UnitKind.DEPARTMENT,
    "小组": UnitKind.TEAM, "团队": UnitKind.TEAM,
}
ROLE_WORDS = {
    "高管": Role.EXECUTIVE, "高层领导": Role.EXECUTIVE, "公司领导": Role.EXECUTIVE,
    "业务管理": Role.BUSINESS_MANAGEMENT, "业务管理部": Role.BUSINESS_MANAGEMENT,
    "部门负责人": Role.DEPARTMENT_HEAD, "部门经理": Role.DEPARTMENT_HEAD,
    "销售经理": Role.SALES_MANAGER,
    "客户经理": Role.ACCOUNT_MANAGER,
    "市场": Role.MARKETING, "市场人员": Role.MARKETING,
    "服务": Role.SERVICE, "客服": Role.SERVICE, "客户服务": Role.SERVICE,
    "合作伙伴用户": Role.PARTNER_USER, "合作伙伴": Role.PARTNER_USER,
    "管理员": Role.ADMINISTRATOR, "系统管理员": Role.ADMINISTRATOR,
}


@dataclass(frozen=True)
class RowError:
    file: str  # "units" or "users"
    line: int  # 1 is the header; 0 is the file as a whole
    column: str  # the header as written in the file, or the canonical name when the column is missing
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dry_run: bool = False
    job_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors


def _norm(text: str) -> str:
    return "".join(ch for ch in str(text).strip().lower() if ch not in " _-\u3000\ufeff")


def _header_table(columns: Iterable[Column]) -> dict[str, str]:
    table: dict[str, str] = {}
    for col in columns:
        for word in (col.name, col.zh, *col.aliases):
            table[_norm(word)] = col.name
    return table


def _choice_table(choices_cls, words: dict[str, str]) -> dict[str, str]:
    table: dict[str, str] = {}
    for value, label in choices_cls.choices:
        table[_norm(value)] = value
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                table[_norm(str(label))] = value
    for word, value in words.items():
        table[_norm(word)] = value
    return table


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    line: int
    values: dict[str, str]  # canonical column -> stripped cell (only the columns the file has)


@dataclass
class ParsedFile:
    kind: str
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> header as written
    rows: list[Row] = field(default_factory=list)
    fatal: bool = False  # the header is unusable: rows were not read

    def has(self, column: str) -> bool:
        return column in self.headers

    def col(self, column: str) -> str:
        return self.headers.get(column, column)


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _parse(kind: str, data: bytes, errors: list[RowError]) -> ParsedFile:
    parsed = ParsedFile(kind)
    try:
        text = _decode(data)
    except UnicodeDecodeError:
        errors.append(RowError(kind, 0, "", _("The file is neither UTF-8 nor GB18030 text; save it as CSV (UTF-8).")))
        parsed.fatal = True
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
    except csv.Error as exc:
        errors.append(RowError(kind, reader.line_num, "", _("The file is not valid CSV: %(e)s") % {"e": exc}))
        parsed.fatal = True
        return parsed
    if header is None:
        errors.append(RowError(kind, 0, "", _("The file is empty; the first line must name the columns.")))
        parsed.fatal = True
        return parsed

    header_line = reader.line_num
    table = _header_table(COLUMNS[kind])
    positions: list[tuple[int, str]] = []
    for index, raw in enumerate(header):
        label = raw.strip().lstrip("\ufeff")
        if not label:
            continue  # spreadsheets add empty trailing columns
        canonical = table.get(_norm(label))
        if canonical is None:
            expected = ", ".join(c.name for c in COLUMNS[kind])
            errors.append(RowError(kind, header_line, label,
                                   _("Unknown column; the columns are: %(cols)s.") % {"cols": expected}))
            continue
        if canonical in parsed.headers:
            errors.append(RowError(kind, header_line, label,
                                   _("Column “%(c)s” appears twice.") % {"c": canonical}))
            continue
        parsed.headers[canonical] = label
        positions.append((index, canonical))
    for col in COLUMNS[kind]:
        if col.required and col.name not in parsed.headers:
            errors.append(RowError(kind, header_line, col.name,
                                   _("The required column “%(c)s” (%(zh)s) is missing.") % {"c": col.name, "zh": col.zh}))
            parsed.fatal = True

    width = len(header)
    last_line = header_line
    try:
        for cells in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > width and any(c.strip() for c in cells[width:]):
                errors.append(RowError(kind, line, "", _("This row has %(n)d cells but the header names %(m)d columns.")
                                       % {"n": len(cells), "m": width}))
                continue
            values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in positions}
            parsed.rows.append(Row(line, values))
    except csv.Error as exc:
        errors.append(RowError(kind, reader.line_num, "", _("The file is not valid CSV: %(e)s") % {"e": exc}))
        parsed.fatal = True
    return parsed


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


def _choice_hint(choices_cls) -> str:
    """"sales_manager", or "sales_manager (销售经理)" where the label says more than the code."""
    return ", ".join(code if _norm(label) == _norm(code) else f"{code} ({label})" for code, label in choices_cls.choices)


def _find_cycles(starts: Iterable[str], parent_of: Callable[[str], str | None]) -> list[list[str]]:
    """Cycles in a graph where each node has at most one parent."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []
    for start in starts:
        path: list[str] = []
        node: str | None = start
        while node is not None and node not in state:
            state[node] = 1
            path.append(node)
            node = parent_of(node)
        if node is not None and state.get(node) == 1:
            cycles.append(path[path.index(node):])
        for n in path:
            state[n] = 2
    return cycles


def _depths(nodes: Iterable[str], parent_of: Callable[[str], str | None]) -> dict[str, int]:
    depth: dict[str, int] = {}
    for start in nodes:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node not in depth:
            chain.append(node)
            node = parent_of(node)
        base = depth[node] if node is not None else -1
        for n in reversed(chain):
            base += 1
            depth[n] = base
    return depth


def _field_errors(instance, fields: dict[str, str], parsed: ParsedFile, line: int, errors: list[RowError]) -> None:
    """Run the model's own field validation (lengths, formats, choices) on the given fields."""
    exclude = [f.name for f in instance._meta.fields if f.name not in fields]
    try:
        instance.clean_fields(exclude=exclude)
    except ValidationError as exc:
        for name, messages in validation_error_dict(exc).items():
            column = parsed.col(fields.get(name, name))
            for message in messages:
                errors.append(RowError(parsed.kind, line, column, message))


class _Plan:
    """Everything the validation pass learns, reused by the writing pass."""

    def __init__(self, units: ParsedFile | None, users: ParsedFile | None):
        self.units = units
        self.users = users
        self.errors: list[RowError] = []
        self.unit_rows: dict[str, Row] = {}
        self.user_rows: dict[str, Row] = {}
        self.kind_of: dict[str, str] = {}  # unit code -> kind code
        self.role_of: dict[str, str] = {}  # username -> role code
        # What the system holds now.
        self.db_units: dict[str, dict[str, Any]] = {}
        self.db_users: dict[str, dict[str, Any]] = {}
        self.db_manager_of: dict[str, str | None] = {}
        # The final graphs (file over system), set by the validators.
        self.unit_parent_of: Callable[[str], str | None] = lambda code: None
        self.manager_of: Callable[[str], str | None] = lambda username: None
        self.unit_status: dict[str, str] = {}  # unit code -> created / updated / unchanged

    def err(self, parsed: ParsedFile, line: int, column: str, message: str) -> None:
        self.errors.append(RowError(parsed.kind, line, parsed.col(column) if column else "", message))


def _load_units(plan: _Plan) -> None:
    for code, name, kind, parent_code, head_username in OrgUnit.objects.values_list(
        "code", "name", "kind", "parent__code", "head__username"
    ):
        plan.db_units[code] = {"name": name, "kind": kind, "parent_code": parent_code, "head_username": head_username}


def _load_users(plan: _Plan, usernames: set[str]) -> None:
    """The named users and, level by level, their manager chains (for cycle checks)."""
    wanted = {u for u in usernames if u}
    rows = User.objects.filter(username__in=wanted).values_list(
        "username", "display_name", "email", "unit__code", "manager__username", "role", "phone"
    )
    for username, display_name, email, unit_code, manager_username, role, phone in rows:
        plan.db_users[username] = {"display_name": display_name, "email": email, "unit_code": unit_code,
                                   "manager_username": manager_username, "role": role, "phone": phone}
        plan.db_manager_of[username] = manager_username
    frontier = {m for m in plan.db_manager_of.values() if m and m not in plan.db_manager_of}
    while frontier:
        found = dict(User.objects.filter(username__in=frontier).values_list("username", "manager__username"))
        plan.db_manager_of.update(found)
        frontier = {m for m in found.values() if m and m not in plan.db_manager_of} - set(found)


def _validate_units(plan: _Plan, file_usernames: set[str]) -> None:
    parsed = plan.units
    if parsed is None:
        return
    kinds = _choice_table(UnitKind, UNIT_KIND_WORDS)
    for row in parsed.rows:
        v = row.values
        code = v.get("code", "")
        if code:
            if code in plan.unit_rows:
                plan.err(parsed, row.line, "code", _("Code “%(v)s” already appears on line %(line)d.")
                         % {"v": code, "line": plan.unit_rows[code].line})
            else:
                plan.unit_rows[code] = row
    if parsed.fatal:
        return
    user_keys_known = plan.users is None or plan.users.has("username")
    for row in parsed.rows:
        v = row.values
        for col in UNIT_COLUMNS:
            if col.required and not v.get(col.name):
                plan.err(parsed, row.line, col.name, _("A value is required."))
        kind = v.get("kind", "")
        if kind:
            resolved = kinds.get(_norm(kind))
            if resolved is None:
                plan.err(parsed, row.line, "kind", _("“%(v)s” is not a unit kind; use one of: %(c)s.")
                         % {"v": kind, "c": _choice_hint(UnitKind)})
            else:
                plan.kind_of[v.get("code", "")] = resolved
        fields = {"code": "code", "name": "name"}
        probe = OrgUnit(code=v.get("code", ""), name=v.get("name", ""))
        _field_errors(probe, {k: f for k, f in fields.items() if v.get(f)}, parsed, row.line, plan.errors)
        parent = v.get("parent_code", "")
        if parent and parent not in plan.unit_rows and parent not in plan.db_units:
            plan.err(parsed, row.line, "parent_code",
                     _("Unknown parent unit “%(v)s”: it is neither in this file nor in the organisation.") % {"v": parent})
        head = v.get("head_username", "")
        if head and head not in plan.db_users and head not in file_usernames and user_keys_known:
            plan.err(parsed, row.line, "head_username",
                     _("Unknown user “%(v)s”: they are neither in the people file nor in the organisation.") % {"v": head})

    def parent_of(code: str) -> str | None:
        row = plan.unit_rows.get(code)
        if row is not None and "parent_code" in row.values:
            parent = row.values["parent_code"] or None
        else:
            parent = (plan.db_units.get(code) or {}).get("parent_code")
        return parent if parent in plan.unit_rows or parent in plan.db_units else None

    for cycle in _find_cycles(plan.unit_rows, parent_of):
        loop = " → ".join([*cycle, cycle[0]])
        for code in cycle:
            row = plan.unit_rows.get(code)
            if row is not None:
                plan.err(parsed, row.line, "parent_code",
                         _("The parent units form a loop: %(loop)s (a unit cannot sit under itself or its own sub-unit).")
                         % {"loop": loop})
    plan.unit_parent_of = parent_of


def _validate_users(plan: _Plan) -> None:
    parsed = plan.users
    if parsed is None:
        return
    roles = _choice_table(Role, ROLE_WORDS)
    for row in parsed.rows:
        username = row.values.get("username", "")
        if username:
            if username in plan.user_rows:
                plan.err(parsed, row.line, "username", _("Username “%(v)s” already appears on line %(line)d.")
                         % {"v": username, "line": plan.user_rows[username].line})
            else:
                plan.user_rows[username] = row
    if parsed.fatal:
        return
    unit_keys_known = plan.units is None or plan.units.has("code")
    for row in parsed.rows:
        v = row.values
        username = v.get("username", "")
        for col in USER_COLUMNS:
            if col.required and not v.get(col.name):
                plan.err(parsed, row.line, col.name, _("A value is required."))
        role = v.get("role", "")
        resolved = None
        if role:
            resolved = roles.get(_norm(role))
            if resolved is None:
                plan.err(parsed, row.line, "role", _("“%(v)s” is not a role; use one of: %(c)s.")
                         % {"v": role, "c": _choice_hint(Role)})
            else:
                plan.role_of[username] = resolved
        fields = {"username": "username", "display_name": "display_name", "email": "email", "phone": "phone"}
        fields = {k: f for k, f in fields.items() if v.get(f)}
        probe = User(username=username, display_name=v.get("display_name", ""), email=v.get("email", ""),
                     phone=v.get("phone", ""))
        _field_errors(probe, fields, parsed, row.line, plan.errors)
        unit = v.get("unit_code", "")
        if unit and unit not in plan.db_units and unit not in plan.unit_rows and unit_keys_known:
            plan.err(parsed, row.line, "unit_code",
                     _("Unknown unit “%(v)s”: it is neither in the units file nor in the organisation.") % {"v": unit})
        manager = v.get("manager_username", "")
        if manager and manager not in plan.user_rows and manager not in plan.db_manager_of:
            plan.err(parsed, row.line, "manager_username",
                     _("Unknown manager “%(v)s”: they are neither in this file nor in the organisation.") % {"v": manager})
        password = v.get("password", "")
        if password and username and username not in plan.db_users:
            try:
                password_validation.validate_password(password, user=probe)
            except ValidationError as exc:
                for message in exc.messages:
                    plan.err(parsed, row.line, "password", message)

    def manager_of(username: str) -> str | None:
        row = plan.user_rows.get(username)
        if row is not None and "manager_username" in row.values:
            manager = row.values["manager_username"] or None
        else:
            manager = plan.db_manager_of.get(username)
        return manager if manager in plan.user_rows or manager in plan.db_manager_of else None

    for cycle in _find_cycles(plan.user_rows, manager_of):
        loop = " → ".join([*cycle, cycle[0]])
        for username in cycle:
            row = plan.user_rows.get(username)
            if row is not None:
                plan.err(parsed, row.line, "manager_username",
                         _("The managers form a loop: %(loop)s (nobody can manage themselves, even indirectly).")
                         % {"loop": loop})
    plan.manager_of = manager_of


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


class _RowFailed(Exception):
    def __init__(self, error: RowError):
        self.error = error


def _service_errors(parsed: ParsedFile, row: Row, exc: ValidationError, columns: dict[str, str]) -> RowError:
    items = list(validation_error_dict(exc).items())
    name, messages = items[0]
    column = parsed.col(columns.get(name, name)) if name in columns else ""
    return RowError(parsed.kind, row.line, column, "; ".join(messages))


UNIT_FIELD_COLUMNS = {"code": "code", "name": "name", "kind": "kind", "parent": "parent_code", "head": "head_username"}
USER_FIELD_COLUMNS = {"username": "username", "display_name": "display_name", "email": "email", "unit": "unit_code",
                      "manager": "manager_username", "role": "role", "phone": "phone", "password": "password"}


def _write_units(plan: _Plan) -> list[tuple[str, str]]:
    """Create or update the units, parents first; returns the heads to set once the people exist."""
    parsed = plan.units
    deferred: list[tuple[str, str]] = []
    if parsed is None:
        return deferred
    order = _depths(plan.unit_rows, plan.unit_parent_of)
    status = plan.unit_status
    for code in sorted(plan.unit_rows, key=lambda c: (order[c], plan.unit_rows[c].line)):
        row = plan.unit_rows[code]
        v = row.values
        wanted: dict[str, Any] = {"name": v["name"], "kind": plan.kind_of[code]}
        if "parent_code" in v:
            wanted["parent_code"] = v["parent_code"] or None
        head_username = v.get("head_username") or None
        if "head_username" in v:
            if head_username and head_username not in plan.db_users:
                deferred.append((code, head_username))  # a person the people file creates
            else:
                wanted["head_username"] = head_username
        current = plan.db_units.get(code)
        try:
            if current is None:
                parent = OrgUnit.objects.get(code=wanted["parent_code"]) if wanted.get("parent_code") else None
                head = User.objects.get(username=wanted["head_username"]) if wanted.get("head_username") else None
                services.org_unit_create(name=wanted["name"], code=code, kind=wanted["kind"], parent=parent, head=head)
                status[code] = "created"
                continue
            changed = [k for k, value in wanted.items() if current.get(k) != value]
            if not changed:
                status[code] = "unchanged"
                continue
            unit = OrgUnit.objects.get(code=code)  # fresh: an earlier move may have re-rooted its path
            data: dict[str, Any] = {k: wanted[k] for k in changed if k in ("name", "kind")}
            if "parent_code" in changed:
                data["parent"] = OrgUnit.objects.get(code=wanted["parent_code"]) if wanted["parent_code"] else None
            if "head_username" in changed:
                data["head"] = User.objects.get(username=wanted["head_username"]) if wanted["head_username"] else None
            services.org_unit_update(unit=unit, data=data)
            status[code] = "updated"
        except ValidationError as exc:
            raise _RowFailed(_service_errors(parsed, row, exc, UNIT_FIELD_COLUMNS)) from None
    return deferred


def _write_heads(plan: _Plan, deferred: list[tuple[str, str]]) -> None:
    for code, username in deferred:
        unit = OrgUnit.objects.get(code=code)
        head = User.objects.get(username=username)
        if unit.head_id != head.pk:
            try:
                services.org_unit_update(unit=unit, data={"head": head})
            except ValidationError as exc:
                raise _RowFailed(_service_errors(plan.units, plan.unit_rows[code], exc, UNIT_FIELD_COLUMNS)) from None
            if plan.unit_status.get(code) == "unchanged":
                plan.unit_status[code] = "updated"


def _write_users(plan: _Plan, counts: dict[str, int]) -> None:
    parsed = plan.users
    if parsed is None:
        return
    order = _depths(plan.user_rows, plan.manager_of)
    units = {u.code: u for u in OrgUnit.objects.filter(code__in={r.values.get("unit_code") for r in plan.user_rows.values()})}
    for username in sorted(plan.user_rows, key=lambda u: (order[u], plan.user_rows[u].line)):
        row = plan.user_rows[username]
        v = row.values
        wanted: dict[str, Any] = {"display_name": v["display_name"], "unit_code": v["unit_code"],
                                  "role": plan.role_of[username]}
        for name in ("email", "phone", "manager_username"):
            if name in v:
                wanted[name] = v[name] or ("" if name != "manager_username" else None)
        current = plan.db_users.get(username)
        try:
            if current is None:
                manager = User.objects.get(username=wanted["manager_username"]) if wanted.get("manager_username") else None
                services.user_create(
                    username=username, password=v.get("password") or None, display_name=wanted["display_name"],
                    email=wanted.get("email", ""), phone=wanted.get("phone", ""), unit=units[wanted["unit_code"]],
                    manager=manager, role=wanted["role"],
                )
                counts["created"] += 1
                continue
            changed = [k for k, value in wanted.items() if current.get(k) != value]
            if not changed:
                counts["unchanged"] += 1
                continue
            user = User.objects.get(username=username)
            data: dict[str, Any] = {k: wanted[k] for k in changed if k in ("display_name", "email", "phone", "role")}
            if "unit_code" in changed:
                data["unit"] = units[wanted["unit_code"]]
            if "manager_username" in changed:
                data["manager"] = (User.objects.get(username=wanted["manager_username"])
                                   if wanted["manager_username"] else None)
            services.user_update(user=user, data=data)
            counts["updated"] += 1
        except ValidationError as exc:
            raise _RowFailed(_service_errors(parsed, row, exc, USER_FIELD_COLUMNS)) from None


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def _empty_counts() -> dict[str, int]:
    return {"created": 0, "updated": 0, "unchanged": 0}


def org_import(*, units: bytes | None = None, users: bytes | None = None, dry_run: bool = False,
               actor: User | None = None, job_id: str = "") -> ImportResult:
    """Validate both files, then (if nothing is wrong) write them in one transaction."""
    job_id = job_id or f"import-org-{uuid.uuid4().hex[:12]}"
    result = ImportResult(dry_run=dry_run, job_id=job_id,
                          counts={UNITS: _empty_counts(), USERS: _empty_counts()})
    errors: list[RowError] = []
    parsed_units = _parse(UNITS, units, errors) if units is not None else None
    parsed_users = _parse(USERS, users, errors) if users is not None else None
    plan = _Plan(parsed_units, parsed_users)
    plan.errors = errors

    _load_units(plan)
    referenced: set[str] = set()
    for parsed, names in ((parsed_users, ("username", "manager_username")), (parsed_units, ("head_username",))):
        for row in parsed.rows if parsed is not None else []:
            referenced |= {row.values.get(n, "") for n in names}
    _load_users(plan, referenced)
    file_usernames = {row.values.get("username", "") for row in (parsed_users.rows if parsed_users else [])}
    _validate_units(plan, file_usernames - {""})
    _validate_users(plan)
    if plan.errors:
        result.errors = sorted(plan.errors, key=lambda e: (e.file != UNITS, e.line))
        return result

    with change_context(channel=Channel.IMPORT, actor=actor, job_id=job_id):
        try:
            with transaction.atomic():
                deferred = _write_units(plan)
                _write_users(plan, result.counts[USERS])
                _write_heads(plan, deferred)
                for state in plan.unit_status.values():
                    result.counts[UNITS][state] += 1
                if dry_run:
                    transaction.set_rollback(True)
        except _RowFailed as failed:
            result.errors = [failed.error]
            result.counts = {UNITS: _empty_counts(), USERS: _empty_counts()}
    return result


def org_import_template(*, kind: str, chinese: bool = False) -> bytes:
    """An empty CSV (UTF-8 with BOM, so Excel opens it right) with the header row of `kind`."""
    if kind not in COLUMNS:
        raise ValueError(kind)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([c.zh if chinese else c.name for c in COLUMNS[kind]])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
