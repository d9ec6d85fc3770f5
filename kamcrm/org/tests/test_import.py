"""CSV import of the organisation: encodings, headers, every error with its line and column,
all-or-nothing, idempotent re-import, the management command and the upload page."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from kamcrm.audit.models import ObjectChange
from kamcrm.org.choices import Role, UnitKind
from kamcrm.org.importers import org_import
from kamcrm.org.models import OrgUnit, User

STRONG = "Import-pass-2026"


@pytest.fixture(autouse=True)
def _plain_http(settings):
    settings.SECURE_SSL_REDIRECT = False


def csv_bytes(rows, encoding="utf-8"):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def errors_of(result):
    return {(e.file, e.line, e.column) for e in result.errors}


def _snapshot():
    return (sorted(OrgUnit.objects.values_list("code", "name", "kind", "parent_id", "head_id", "path")),
            sorted(User.objects.values_list("username", "display_name", "unit_id", "manager_id", "role", "email")),
            ObjectChange.objects.count())


# A small region in zh-Hans headers; the team comes BEFORE its department (parent defined later).
UNITS_ZH = [
    ["代码", "名称", "类型", "上级代码", "负责人用户名"],
    ["SOUTH-T1", "华南一组", "小组", "SOUTH-SALES", ""],
    ["SOUTH", "华南分公司", "分公司", "HQ", "exec"],
    ["SOUTH-SALES", "华南销售部", "部门", "SOUTH", "wang"],  # head is created by the people file
]
# The same units without the head that only the people file creates, for units-only imports.
UNITS_ONLY = [*UNITS_ZH[:3], ["SOUTH-SALES", "华南销售部", "部门", "SOUTH", ""]]
USERS_ZH = [
    ["用户名", "姓名", "邮箱", "单元代码", "上级用户名", "角色", "电话", "密码"],
    ["li", "李雷", "li@example.cn", "SOUTH-T1", "wang", "客户经理", "13800000001", STRONG],  # manager defined later
    ["wang", "王芳", "wang@example.cn", "SOUTH-SALES", "exec", "部门负责人", "13800000002", STRONG],
    ["han", "韩梅梅", "", "SOUTH-T1", "wang", "account_manager", "", ""],
]


# --- happy path ---------------------------------------------------------------------------------


def test_it_imports_a_utf8_bom_file_with_chinese_headers_in_dependency_order(org):
    # when
    result = org_import(units=csv_bytes(UNITS_ZH, "utf-8-sig"), users=csv_bytes(USERS_ZH, "utf-8-sig"),
                        actor=org.admin)
    # then
    assert result.ok, result.errors
    assert result.counts == {"units": {"created": 3, "updated": 0, "unchanged": 0},
                             "users": {"created": 3, "updated": 0, "unchanged": 0}}
    south, sales, team = (OrgUnit.objects.get(code=c) for c in ("SOUTH", "SOUTH-SALES", "SOUTH-T1"))
    assert (south.parent, south.kind, south.head) == (org.hq, UnitKind.BRANCH, org.exec_)
    assert (sales.parent, team.parent, team.kind) == (south, sales, UnitKind.TEAM)
    assert team.path.startswith(sales.path) and team.depth == 3
    li, wang, han = (User.objects.get(username=u) for u in ("li", "wang", "han"))
    assert sales.head == wang
    assert (li.manager, li.unit, li.role, li.display_name, li.phone) == (wang, team, Role.ACCOUNT_MANAGER, "李雷", "13800000001")
    assert (wang.manager, wang.role) == (org.exec_, Role.DEPARTMENT_HEAD)
    assert li.check_password(STRONG) and not han.has_usable_password()


def test_it_imports_a_gb18030_file_with_english_headers_and_labels(org):
    # given: what Excel on a Chinese Windows saves, with English headers and mixed kind/role spellings
    units = [["code", "name", "kind", "parent_code"], ["NORTH", "华北分公司", "Branch", "HQ"],
             ["NORTH-MKT", "华北市场部", "部门", "NORTH"]]
    users = [["Username", "Display name", "unit code", "role", "manager-username"],
             ["zhao", "赵敏", "NORTH-MKT", "Marketing", "bizmgmt"], ["qian", "钱进", "NORTH", "sales manager", ""]]
    # when
    result = org_import(units=csv_bytes(units, "gb18030"), users=csv_bytes(users, "gb18030"))
    # then
    assert result.ok, result.errors
    assert OrgUnit.objects.get(code="NORTH").name == "华北分公司"
    assert OrgUnit.objects.get(code="NORTH-MKT").kind == UnitKind.DEPARTMENT
    zhao = User.objects.get(username="zhao")
    assert (zhao.display_name, zhao.role, zhao.manager) == ("赵敏", Role.MARKETING, org.bizmgmt)
    assert User.objects.get(username="qian").role == Role.SALES_MANAGER


def test_it_accepts_utf8_without_bom(org):
    result = org_import(units=csv_bytes([["代码", "名称", "类型", "上级代码"], ["X1", "某部", "department", "EAST"]]))
    assert result.ok and OrgUnit.objects.get(code="X1").parent == org.east


def test_it_writes_audit_rows_on_the_import_channel_with_the_job_id(org):
    # when
    result = org_import(units=csv_bytes(UNITS_ZH), users=csv_bytes(USERS_ZH), actor=org.admin, job_id="job-42")
    # then
    rows = ObjectChange.objects.filter(job_id="job-42")
    assert result.ok and rows.exists()
    assert set(rows.values_list("channel", flat=True)) == {"import"}
    assert set(rows.values_list("actor_id", flat=True)) == {org.admin.pk}
    assert rows.filter(action="create").count() == 6


# --- idempotence, updates, dry run ----------------------------------------------------------------


def test_it_changes_nothing_and_logs_nothing_when_the_same_files_are_imported_again(org):
    # given
    assert org_import(units=csv_bytes(UNITS_ZH), users=csv_bytes(USERS_ZH)).ok
    before = _snapshot()
    # when
    again = org_import(units=csv_bytes(UNITS_ZH, "gb18030"), users=csv_bytes(USERS_ZH, "utf-8-sig"))
    # then
    assert again.ok
    assert again.counts == {"units": {"created": 0, "updated": 0, "unchanged": 3},
                            "users": {"created": 0, "updated": 0, "unchanged": 3}}
    assert _snapshot() == before


def test_it_updates_existing_records_by_code_and_username(org):
    # when: rename Team E1, move it under West; the rep gets a new manager, the peer loses theirs
    units = [["code", "name", "kind", "parent_code"], ["EAST-T1", "华东一组（新）", "team", "WEST-SALES"]]
    users = [["username", "display_name", "unit_code", "role", "manager_username"],
             ["rep", "rep", "EAST-T1", "account_manager", "dept_head"], ["peer", "peer", "EAST-T1", "客户经理", ""]]
    result = org_import(units=csv_bytes(units), users=csv_bytes(users))
    # then
    assert result.ok, result.errors
    assert result.counts["units"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert result.counts["users"] == {"created": 0, "updated": 2, "unchanged": 0}
    team = OrgUnit.objects.get(code="EAST-T1")
    assert team.name == "华东一组（新）" and team.parent == org.sales_west and team.path.startswith(org.west.path)
    assert User.objects.get(username="rep").manager == org.dept_head
    assert User.objects.get(username="peer").manager is None


def test_it_leaves_fields_whose_column_is_missing_and_never_changes_passwords(org):
    # given: no manager, email, phone or head columns; a password column for an existing person
    old_hash = User.objects.get(username="rep").password
    units = [["code", "name", "kind"], ["EAST-SALES", "华东销售部", "department"]]
    users = [["username", "display_name", "unit_code", "role", "password"],
             ["rep", "rep", "EAST-T1", "account_manager", "Another-pass-99"]]
    # when
    result = org_import(units=csv_bytes(units), users=csv_bytes(users))
    # then
    assert result.ok and result.counts["units"]["unchanged"] == 1 and result.counts["users"]["unchanged"] == 1
    rep = User.objects.get(username="rep")
    assert rep.manager == org.manager and rep.password == old_hash
    assert OrgUnit.objects.get(code="EAST-SALES").head == org.dept_head


def test_it_counts_a_dry_run_exactly_and_writes_nothing(org):
    # given
    before = _snapshot()
    # when
    result = org_import(units=csv_bytes(UNITS_ZH), users=csv_bytes(USERS_ZH), dry_run=True)
    # then
    assert result.ok and result.dry_run
    assert result.counts["units"]["created"] == 3 and result.counts["users"]["created"] == 3
    assert _snapshot() == before


# --- errors ---------------------------------------------------------------------------------------


def test_it_reports_every_bad_row_with_line_and_column(org):
    # given
    units = [
        ["代码", "名称", "类型", "上级代码", "负责人用户名"],  # line 1
        ["A1", "", "team", "EAST", ""],  # 2: name missing
        ["A2", "甲", "squad", "EAST", ""],  # 3: bad kind
        ["A3", "乙", "team", "NOPE", ""],  # 4: unknown parent
        ["A1", "丙", "team", "EAST", ""],  # 5: duplicate code (first on line 2)
        ["A4", "丁", "team", "EAST", "ghost"],  # 6: unknown head
        ["A5", "戊" * 101, "team", "EAST", ""],  # 7: name too long
    ]
    users = [
        ["username", "display_name", "email", "unit_code", "manager_username", "role", "phone", "password"],
        ["u1", "甲", "not-an-email", "EAST", "", "account_manager", "", ""],  # 2: bad email
        ["u2", "乙", "", "NOWHERE", "", "account_manager", "", ""],  # 3: unknown unit
        ["u3", "丙", "", "EAST", "nobody", "account_manager", "", ""],  # 4: unknown manager
        ["u4", "丁", "", "EAST", "", "boss", "", ""],  # 5: bad role
        ["u1", "戊", "", "EAST", "", "account_manager", "", ""],  # 6: duplicate username
        ["u5", "", "", "", "", "", "", ""],  # 7: display name, unit and role missing
        ["bad name!", "己", "", "EAST", "", "account_manager", "", ""],  # 8: bad username characters
        ["u6", "庚", "", "EAST", "", "account_manager", "", "123"],  # 9: weak password
        ["u7", "辛", "", "EAST", "", "account_manager", "", "", "extra"],  # 10: too many cells
    ]
    before = _snapshot()
    # when
    result = org_import(units=csv_bytes(units), users=csv_bytes(users))
    # then
    assert errors_of(result) == {
        ("units", 2, "名称"), ("units", 3, "类型"), ("units", 4, "上级代码"), ("units", 5, "代码"),
        ("units", 6, "负责人用户名"), ("units", 7, "名称"),
        ("users", 2, "email"), ("users", 3, "unit_code"), ("users", 4, "manager_username"), ("users", 5, "role"),
        ("users", 6, "username"), ("users", 7, "display_name"), ("users", 7, "unit_code"), ("users", 7, "role"),
        ("users", 8, "username"), ("users", 9, "password"), ("users", 10, ""),
    }
    messages = {(e.file, e.line): e.message for e in result.errors}
    assert "NOPE" in messages[("units", 4)] and "squad" in messages[("units", 3)]
    assert "line 2" in messages[("units", 5)]
    assert "line 2" in messages[("users", 6)] and "boss" in messages[("users", 5)]
    assert _snapshot() == before


def test_it_reports_a_missing_required_column_and_an_unknown_column_on_line_1(org):
    units = [["code", "kind", "colour"], ["Z", "team", "red"]]
    result = org_import(units=csv_bytes(units))
    assert errors_of(result) == {("units", 1, "name"), ("units", 1, "colour")}
    assert not OrgUnit.objects.filter(code="Z").exists()


def test_it_reports_a_parent_cycle_inside_the_file_on_each_row(org):
    units = [["code", "name", "kind", "parent_code"],
             ["C1", "一", "team", "C3"], ["C2", "二", "team", "C1"], ["C3", "三", "team", "C2"],
             ["C4", "四", "team", "C4"]]
    result = org_import(units=csv_bytes(units))
    assert errors_of(result) == {("units", 2, "parent_code"), ("units", 3, "parent_code"),
                                 ("units", 4, "parent_code"), ("units", 5, "parent_code")}
    assert "C1 → C3 → C2 → C1" in result.errors[0].message
    assert "C4 → C4" in result.errors[3].message


def test_it_reports_moving_a_unit_under_its_own_sub_unit_as_a_cycle(org):
    # given: East would go under Team E1, which is below East in the organisation
    units = [["code", "name", "kind", "parent_code"], ["EAST", "华东分公司", "branch", "EAST-T1"]]
    # when
    result = org_import(units=csv_bytes(units))
    # then
    assert errors_of(result) == {("units", 2, "parent_code")}
    assert OrgUnit.objects.get(code="EAST").parent == org.hq


def test_it_reports_a_manager_loop_through_people_already_in_the_system(org):
    # given: the dept head would report to the rep, whose chain leads up to the dept head
    users = [["username", "display_name", "unit_code", "role", "manager_username"],
             ["dept_head", "dept_head", "EAST-SALES", "department_head", "rep"]]
    result = org_import(users=csv_bytes(users))
    assert errors_of(result) == {("users", 2, "manager_username")}
    assert User.objects.get(username="dept_head").manager == org.exec_


def test_it_reports_a_manager_loop_inside_the_file(org):
    users = [["username", "display_name", "unit_code", "role", "manager_username"],
             ["m1", "一", "EAST", "sales_manager", "m2"], ["m2", "二", "EAST", "sales_manager", "m1"]]
    result = org_import(users=csv_bytes(users))
    assert errors_of(result) == {("users", 2, "manager_username"), ("users", 3, "manager_username")}


def test_it_writes_nothing_when_a_single_row_is_bad(org):
    # given: three good units and people, one person in an unknown unit
    users = [*USERS_ZH, ["bad", "坏", "", "MISSING", "", "客户经理", "", ""]]
    before = _snapshot()
    # when
    result = org_import(units=csv_bytes(UNITS_ZH), users=csv_bytes(users))
    # then
    assert errors_of(result) == {("users", 5, "单元代码")}
    assert _snapshot() == before
    assert not OrgUnit.objects.filter(code__startswith="SOUTH").exists()


def test_it_refuses_a_file_that_is_neither_utf8_nor_gb18030(org):
    result = org_import(units="代码,名称,类型\n".encode("utf-16"))
    assert [(e.file, e.line) for e in result.errors] == [("units", 0)]
    assert "UTF-8" in result.errors[0].message


def test_it_refuses_an_empty_file(org):
    result = org_import(users=b"\xef\xbb\xbf\r\n")
    assert [(e.file, e.line) for e in result.errors] == [("users", 0)]


def test_it_counts_lines_as_a_spreadsheet_does_with_blank_and_multi_line_rows(org):
    data = b'code,name,kind,parent_code\r\n\r\nM1,"two\nlines",team,EAST\r\nM2,,team,EAST\r\n'
    result = org_import(units=data)
    assert errors_of(result) == {("units", 5, "name")}


# --- management command -------------------------------------------------------------------------


def test_the_command_imports_files_and_prints_counts(org, tmp_path):
    (tmp_path / "units.csv").write_bytes(csv_bytes(UNITS_ZH, "utf-8-sig"))
    (tmp_path / "users.csv").write_bytes(csv_bytes(USERS_ZH, "gb18030"))
    out = io.StringIO()
    call_command("import_org", "--units", str(tmp_path / "units.csv"), "--users", str(tmp_path / "users.csv"),
                 stdout=out)
    assert "units: 3 created, 0 updated, 0 unchanged" in out.getvalue()
    assert "users: 3 created" in out.getvalue()
    # six creates, and the head of South Sales set once its head (a new person) exists
    assert ObjectChange.objects.filter(channel="import", job_id__startswith="import-org-").count() == 7


def test_the_command_prints_each_error_and_fails(org, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(csv_bytes([["code", "name", "kind", "parent_code"], ["Q1", "q", "team", "NOPE"],
                                ["Q2", "", "team", "EAST"]]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_org", "--units", str(path), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].endswith("line 2, column parent_code: " + lines[0].split("parent_code: ", 1)[1])
    assert "line 2, column parent_code: " in lines[0] and "line 3, column name: " in lines[1]
    assert not OrgUnit.objects.filter(code__in=["Q1", "Q2"]).exists()


def test_the_command_dry_run_writes_nothing(org, tmp_path):
    path = tmp_path / "units.csv"
    path.write_bytes(csv_bytes(UNITS_ONLY))
    out = io.StringIO()
    call_command("import_org", "--units", str(path), "--dry-run", stdout=out)
    assert "units: 3 created" in out.getvalue() and "dry run" in out.getvalue()
    assert not OrgUnit.objects.filter(code="SOUTH").exists()


def test_the_command_needs_a_file(org):
    with pytest.raises(CommandError):
        call_command("import_org")


# --- upload page --------------------------------------------------------------------------------


def _upload(name, rows, encoding="utf-8-sig"):
    return SimpleUploadedFile(name, csv_bytes(rows, encoding), content_type="text/csv")


def test_the_page_imports_uploaded_files(org, client_for):
    response = client_for(org.admin).post(reverse("org:import"), {
        "units": _upload("units.csv", UNITS_ZH), "users": _upload("people.csv", USERS_ZH, "gb18030")})
    assert response.status_code == 200
    result = response.context["result"]
    assert result.ok and result.counts["users"]["created"] == 3
    assert 'data-testid="import-counts"' in response.content.decode()
    assert ObjectChange.objects.filter(job_id=result.job_id, channel="import", actor=org.admin).count() == 7


def test_the_page_shows_a_dry_run_and_writes_nothing(org, client_for):
    response = client_for(org.admin).post(reverse("org:import"), {"units": _upload("u.csv", UNITS_ONLY), "dry_run": "on"})
    assert response.context["result"].counts["units"]["created"] == 3
    assert not OrgUnit.objects.filter(code="SOUTH").exists()


def test_the_page_lists_errors_with_line_and_column(org, client_for):
    rows = [["code", "name", "kind", "parent_code"], ["Q1", "q", "team", "NOPE"]]
    response = client_for(org.admin).post(reverse("org:import"), {"units": _upload("u.csv", rows)})
    html = response.content.decode()
    assert html.count('data-testid="import-error"') == 1
    assert "<td>2</td><td>parent_code</td>" in html
    assert not OrgUnit.objects.filter(code="Q1").exists()


def test_the_page_refuses_non_csv_and_oversized_files(org, client_for):
    client = client_for(org.admin)
    txt = client.post(reverse("org:import"), {"units": SimpleUploadedFile("units.txt", b"code,name,kind\n")})
    big = client.post(reverse("org:import"), {"users": SimpleUploadedFile("users.csv", b"x" * (5 * 1024 * 1024 + 1))})
    empty = client.post(reverse("org:import"), {})
    assert "units" in txt.context["form"].errors and txt.context["result"] is None
    assert "users" in big.context["form"].errors
    assert empty.context["form"].non_field_errors()


def test_the_page_is_refused_to_non_administrators(org, client_for):
    before = _snapshot()
    response = client_for(org.exec_).post(reverse("org:import"), {"units": _upload("u.csv", UNITS_ZH)})
    assert response.status_code == 403
    assert _snapshot() == before


@pytest.mark.parametrize(("kind", "language", "header"), [
    ("units", "en", "code,name,kind,parent_code,head_username"),
    ("users", "en", "username,display_name,email,unit_code,manager_username,role,phone,password"),
    ("units", "zh-hans", "代码,名称,类型,上级代码,负责人用户名"),
])
def test_it_offers_template_files(org, client_for, kind, language, header):
    client = client_for(org.admin)
    response = client.get(reverse("org:import_template"), {"kind": kind}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content == b"\xef\xbb\xbf" + header.encode() + b"\r\n"
    # a template imports as an empty, valid file
    assert org_import(**{kind: response.content}).ok


def test_the_template_download_is_for_administrators_and_known_kinds(org, client_for):
    assert client_for(org.admin).get(reverse("org:import_template"), {"kind": "nope"}).status_code == 404
    assert client_for(org.rep).get(reverse("org:import_template"), {"kind": "units"}).status_code == 403
