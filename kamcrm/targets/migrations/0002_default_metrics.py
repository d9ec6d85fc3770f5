"""The metrics of issue 6 (GLOSSARY.md words); administrators may rename, re-order or add to them."""
from django.db import migrations

METRICS = [
    # code, zh, en, source, order
    ("signed_value", "新签合同额", "New signed contract value", "signed", 10),
    ("expected_revenue", "预期收入", "Expected revenue", "expected", 20),
    ("billed_revenue", "出账收入", "Billed revenue", "billed", 30),
    ("collected_cash", "回款", "Collected cash", "collected", 40),
    ("won_value", "赢单金额", "Won opportunity value", "won", 50),
    ("new_key_accounts", "新增大客户", "New key accounts", "new_key_accounts", 60),
    ("visits", "拜访次数", "Completed visits", "visits", 70),
]


def forwards(apps, schema_editor):
    Metric = apps.get_model("targets", "Metric")
    for code, zh, en, source, order in METRICS:
        Metric.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en, "source": source,
                                                             "order": order})


class Migration(migrations.Migration):
    dependencies = [("targets", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
