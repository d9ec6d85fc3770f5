"""The import engine (kamcrm/exchange/importing.py) through import_job_create + import_job_run: each kind
of problem reported with line, column and reason; dry runs; idempotent re-imports; audit; value maps and
constants; parents in the file; encodings and .xlsx; who may import and change what; the error file."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied

from kamcrm.audit.models import ObjectChange
from kamcrm.customers.models import Account, Contact
from kamcrm.exchange.import_services import import_errors_csv, import_job_create
from kamcrm.exchange.models import ImportStatus
from kamcrm.exchange.tests.import_helpers import credit_code, csv_bytes, errors_of, run_import

pytestmark = pytest.mark.django_db

HEADER = ["Account ID", "Company", "Credit code", "Tier", "Region", "Owner", "Parent"]


@pytest.fixture(autouse=True)
def _import_dir(settings, tmp_path):
    settings.KAMCRM_IMPORT_DIR = tmp_path / "imports"
    settings.KAMCRM_IMPORT_BATCH_SIZE = 3  # several batches even for small files


def steps_for(org, **extra):
    fields = {
        "external_id": {"column": "Account ID"},
        "name": {"column": "Company"},
        "credit_code": {"column": "Credit code"},
        "tier": {"column": "Tier"},
        "region": {"column": "Region", "default": org.east.code},
        "owner": {"column": "Owner", "default": org.rep.username},
        "parent": {"column": "Parent", "by": "external_id"},
    }
    fields.update(extra)
    return [{"entity": "account", "fields": fields}]


def imported(**filters):
    return Account.objects.filter(source_system="test", **filters)


def test_each_kind_of_problem_has_line_column_and_reason(org):
    rows = [
        HEADER,
        ["A1", "星河电力有限公司", credit_code(1), "key", "", "", ""],  # 2 good
        ["A2", "", "", "", "", "", ""],  # 3 missing name
        ["A3", "华夏能源", "", "platinum", "", "", ""],  # 4 bad choice
        ["A4", "X" * 201, "", "", "", "", ""],  # 5 too long
        ["A5", "坏代码公司", "91310000MA1FL0XQ05", "", "", "", ""],  # 6 bad check character
        ["A6", "无区域公司", "", "", "MARS", "", ""],  # 7 unknown region
        ["A7", "无人公司", "", "", "", "nobody", ""],  # 8 unknown owner
        ["A1", "星河电力（重复）", "", "", "", "", ""],  # 9 duplicate of line 2
        ["A9", "重码公司", org.acct.credit_code, "", "", "", ""],  # 10 credit code of an existing account
        ["A10", "无母公司", "", "", "", "", "NOPE"],  # 11 unknown parent
    ]
    Account.objects.filter(pk=org.acct.pk).update(source_system="crm-old", external_id="OLD-1")
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    assert job.status == ImportStatus.DONE, job.error_message
    assert (job.total_rows, job.bad_rows, job.good_rows) == (10, 9, 1)
    found = {line: (column, kind, message) for line, column, kind, message in errors_of(job)}
    assert found[3] == ("Company", "missing", "A value is required.")
    assert found[4][:2] == ("Tier", "type") and "“platinum” is not one of" in found[4][2]
    assert found[5] == ("Company", "type", "at most 200 characters (this has 201)")
    assert found[6][:2] == ("Credit code", "type") and "check character" in found[6][2]
    assert found[7][:2] == ("Region", "reference") and "“MARS”" in found[7][2]
    assert found[8][:2] == ("Owner", "reference") and "“nobody”" in found[8][2]
    assert found[9][:2] == ("Account ID", "duplicate_file") and "line 2 " in found[9][2]
    assert found[10][:2] == ("Credit code", "duplicate_existing")
    assert f"#{org.acct.pk}" in found[10][2] and "crm-old:OLD-1" in found[10][2]
    assert found[11][:2] == ("Parent", "reference") and "“NOPE”" in found[11][2]
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert list(imported().values_list("external_id", flat=True)) == ["A1"]
    assert job.counts == {"0": {"created": 1}}
    assert Account.objects.get(pk=org.acct.pk).name == "上海浦江制造有限公司"


def test_a_bad_whole_number_is_a_type_error(org):
    data = csv_bytes([["Account", "Name", "Strength"], [org.acct.credit_code, "王经理", "3"],
                      [org.acct.credit_code, "李总", "three"], [org.acct.credit_code, "赵工", "2.5"]])
    steps = [{"entity": "contact", "fields": {"account": {"column": "Account", "by": "credit_code"},
                                              "name": {"column": "Name"},
                                              "relationship_strength": {"column": "Strength"}}}]
    job = run_import(by=org.admin, data=data, steps=steps)
    assert [(line, column, kind) for line, column, kind, _m in errors_of(job)] == [
        (3, "Strength", "type"), (4, "Strength", "type")]
    assert "“three” is not a whole number" in errors_of(job)[0][3]
    assert list(Contact.objects.filter(account=org.acct).values_list("name", "relationship_strength")) == [("王经理", 3)]


def test_a_mapped_column_missing_from_the_file_fails_the_job_on_line_1(org):
    data = csv_bytes([["Account ID", "Company"], ["A1", "星河电力"]])
    job = run_import(by=org.admin, data=data, steps=steps_for(org))
    assert job.status == ImportStatus.FAILED
    errors = errors_of(job)
    assert {(line, kind) for line, _c, kind, _m in errors} == {(1, "file")}
    assert {column for _l, column, _k, _m in errors} == {"Credit code", "Tier", "Region", "Owner", "Parent"}
    assert "no such column" in errors[0][3]
    assert not imported().exists()


def test_a_dry_run_reports_but_writes_nothing(org):
    Account.objects.filter(pk=org.acct.pk).update(source_system="test", external_id="A1")
    rows = [HEADER, ["A1", "上海浦江制造有限公司", "", "strategic", "", "", ""], ["A2", "新公司", "", "", "", "", ""],
            ["A3", "", "", "", "", "", ""]]
    accounts, changes = Account.objects.count(), ObjectChange.objects.count()
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org), dry_run=True)
    assert (job.status, job.dry_run, job.total_rows, job.bad_rows) == (ImportStatus.DONE, True, 3, 1)
    assert job.counts == {"0": {"matched": 1, "new": 1}}
    assert [(line, column) for line, column, _k, _m in errors_of(job)] == [(4, "Company")]
    assert (Account.objects.count(), ObjectChange.objects.count()) == (accounts, changes)
    assert Account.objects.get(pk=org.acct.pk).tier == "key"


def test_importing_the_same_file_again_changes_nothing_and_audits_nothing(org):
    rows = [HEADER] + [[f"A{i}", f"公司{i}", credit_code(i) if i % 2 else "", "key", "", "", "A1" if i > 1 else ""]
                       for i in range(1, 8)]
    first = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    assert first.counts == {"0": {"created": 7}} and first.bad_rows == 0
    changes = ObjectChange.objects.count()
    again = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    assert again.status == ImportStatus.DONE
    assert again.counts == {"0": {"unchanged": 7}}
    assert ObjectChange.objects.count() == changes
    assert ObjectChange.objects.filter(job_id=again.job_id).count() == 0
    assert imported().count() == 7


def test_every_change_is_audited_as_import_with_the_job_id(org):
    Account.objects.filter(pk=org.acct.pk).update(source_system="test", external_id="A1")
    rows = [HEADER, ["A1", "上海浦江制造有限公司", "", "strategic", "", "", ""],
            ["A2", "新公司甲", "", "", "", "", "A1"], ["A3", "新公司乙", "", "", "", "", "A4"],
            ["A4", "新公司丙", "", "", "", "", ""]]
    before = ObjectChange.objects.count()
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    assert job.counts == {"0": {"updated": 1, "created": 3}}
    changes = ObjectChange.objects.filter(pk__gt=0).order_by("id")[before:]
    assert len(changes) >= 5  # 1 update, 3 creates, the deferred parent of A3
    assert {(c.channel, c.job_id) for c in changes} == {("import", job.job_id)}
    assert {c.object_id for c in changes} == set(Account.objects.filter(
        source_system="test").values_list("pk", flat=True))


def test_value_maps_and_constants(org):
    steps = steps_for(org, industry={"column": "Sector", "values": {"technolgy": "internet", "银行业": "finance"}},
                      status={"value": "prospect"}, tags={"column": "Sector", "default": "无"})
    rows = [HEADER + ["Sector"], ["A1", "甲", "", "", "", "", "", "Technolgy"], ["A2", "乙", "", "", "", "", "", "银行业"],
            ["A3", "丙", "", "", "WEST", "outsider", "", ""]]
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps)
    assert job.bad_rows == 0, errors_of(job)
    got = {a.external_id: (a.industry, a.status, a.tags, a.region.code, a.owner.username)
           for a in imported().select_related("region", "owner")}
    assert got == {"A1": ("internet", "prospect", ["Technolgy"], "EAST", "rep"),
                   "A2": ("finance", "prospect", ["银行业"], "EAST", "rep"),
                   "A3": ("other", "prospect", ["无"], "WEST", "outsider")}


def test_a_parent_further_down_the_file_is_linked(org):
    rows = [HEADER, ["S1", "子公司一", "", "", "", "", "P1"], ["S2", "子公司二", "", "", "", "", "P1"],
            ["X", "其他", "", "", "", "", ""], ["Y", "其他二", "", "", "", "", ""],
            ["P1", "集团公司", "", "", "", "", "G"], ["G", "总集团", "", "", "", "", ""]]
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    assert (job.status, job.bad_rows, job.deferred) == (ImportStatus.DONE, 0, [])
    parent_of = dict(imported().values_list("external_id", "parent__external_id"))
    assert parent_of == {"S1": "P1", "S2": "P1", "X": None, "Y": None, "P1": "G", "G": None}


def test_a_parent_cycle_inside_the_file_is_rejected(org):
    rows = [HEADER, ["C1", "循环甲", "", "", "", "", "C2"], ["C2", "循环乙", "", "", "", "", "C3"],
            ["C3", "循环丙", "", "", "", "", "C1"], ["OK", "正常", "", "", "", "", "C9"], ["C9", "正常母", "", "", "", "", ""]]
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    assert job.status == ImportStatus.DONE, job.error_message
    errors = errors_of(job)
    assert errors and {kind for _l, _c, kind, _m in errors} <= {"invalid", "reference"}
    assert {column for _l, column, _k, _m in errors} == {"Parent"}
    assert {line for line, *_rest in errors} <= {2, 3, 4}
    assert any("subsidiary of itself" in message for *_rest, message in errors)
    # no account is its own ancestor
    parents = dict(imported().values_list("external_id", "parent__external_id"))
    for start in parents:
        seen, current = set(), start
        while current is not None:
            assert current not in seen, f"cycle through {current}"
            seen.add(current)
            current = parents.get(current)
    assert parents["OK"] == "C9"


def _csv_text(org):
    return [HEADER, ["G1", "江苏省电力公司", "", "大客户", "", "", ""], ["G2", "南京银行股份有限公司", "", "战略客户", "", "", ""]]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_gb18030_and_utf8_with_or_without_bom(org, encoding):
    job = run_import(by=org.admin, data=csv_bytes(_csv_text(org), encoding=encoding), steps=steps_for(org))
    assert (job.status, job.bad_rows) == (ImportStatus.DONE, 0), errors_of(job)
    assert dict(imported().values_list("external_id", "name")) == {"G1": "江苏省电力公司", "G2": "南京银行股份有限公司"}
    assert dict(imported().values_list("external_id", "tier")) == {"G1": "key", "G2": "strategic"}


def test_xlsx(org):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in _csv_text(org):
        sheet.append(row)
    sheet.append([])  # a blank row keeps its line number
    sheet.append(["G4", None, None, None, None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = run_import(by=org.admin, data=buffer.getvalue(), steps=steps_for(org), name="accounts.xlsx")
    assert job.file_format == "xlsx"
    assert [(line, column, kind) for line, column, kind, _m in errors_of(job)] == [(5, "Company", "missing")]
    assert dict(imported().values_list("external_id", "name")) == {"G1": "江苏省电力公司", "G2": "南京银行股份有限公司"}


def test_a_rep_cannot_change_an_account_they_may_not_edit(org):
    Account.objects.filter(pk=org.other.pk).update(source_system="test", external_id="OTHER")
    Account.objects.filter(pk=org.acct.pk).update(source_system="test", external_id="MINE")
    rows = [HEADER, ["OTHER", "改名的天府物流", "", "", "", "", ""], ["MINE", "上海浦江制造有限公司", "", "normal", "", "", ""]]
    job = run_import(by=org.rep, data=csv_bytes(rows), steps=steps_for(org))
    assert job.status == ImportStatus.DONE
    assert [(line, kind) for line, _c, kind, _m in errors_of(job)] == [(2, "permission")]
    org.other.refresh_from_db()
    org.acct.refresh_from_db()
    assert (org.other.name, org.acct.tier) == ("成都天府物流集团", "normal")


def test_a_rep_cannot_give_an_account_to_someone_outside_their_reach(org):
    rows = [HEADER, ["N1", "给别人的公司", "", "", "WEST", "outsider", ""], ["N2", "给同事的公司", "", "", "", "rep", ""]]
    job = run_import(by=org.rep, data=csv_bytes(rows), steps=steps_for(org))
    assert [(line, column, kind) for line, column, kind, _m in errors_of(job)] == [(2, "Owner", "permission")]
    assert list(imported().values_list("external_id", "owner__username")) == [("N2", "rep")]


@pytest.mark.parametrize("entity, fields", [
    ("org_unit", {"code": {"column": "Code"}, "name": {"column": "Name"}, "kind": {"value": "team"}}),
    ("user", {"username": {"column": "Code"}, "unit": {"value": "EAST"}}),
])
def test_units_and_people_are_for_administrators_only(org, entity, fields):
    data = csv_bytes([["Code", "Name"], ["T9", "九组"]])
    for persona in (org.rep, org.manager, org.dept_head, org.exec_):
        with pytest.raises(PermissionDenied):
            import_job_create(by=persona, file=io.BytesIO(data), file_name="x.csv",
                              steps=[{"entity": entity, "fields": fields}], source_system="hr", enqueue=False)
    job = run_import(by=org.admin, data=data, steps=[{"entity": entity, "fields": fields}])
    assert (job.status, job.bad_rows) == (ImportStatus.DONE, 0)


def test_the_error_file_has_a_bom_a_header_and_one_line_per_error_with_formulas_neutralised(org):
    rows = [HEADER, ["A1", "甲公司", "", "=1+1", "", "", ""], ["A2", "", "", "", "", "", ""],
            ["A3", "好公司", "", "", "", "", ""]]
    job = run_import(by=org.admin, data=csv_bytes(rows), steps=steps_for(org))
    raw = b"".join(import_errors_csv(job))
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))
    assert lines[0] == ["line", "column", "value", "problem", "reason"]
    assert len(lines) == 1 + job.row_errors.count() == 3
    assert [line[:2] for line in lines[1:]] == [["2", "Tier"], ["3", "Company"]]
    assert lines[1][2] == "'=1+1"  # neutralised: a spreadsheet shows it as text, never runs it
    assert lines[1][3] == "wrong type or format" and "is not one of" in lines[1][4]
    assert lines[2][3] == "missing value"
