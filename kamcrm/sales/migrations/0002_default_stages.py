"""The seed's stage path (GLOSSARY.md): 获得商机 → 新建 → 分配 → 建立客户关系 → 商务谈判 → 获得标书（赢单）,
plus 输单 and 放弃. Administrators may rename, re-order and re-tune them afterwards."""
from django.db import migrations

STAGES = [
    # code, zh, en, kind, order, probability, required fields to enter, exit criteria
    ("obtained", "获得商机", "Opportunity obtained", "open", 10, 5, [], []),
    ("created", "新建", "Created", "open", 20, 10, [], []),
    ("assigned", "分配", "Assigned", "open", 30, 20, [], []),
    ("relationship", "建立客户关系", "Relationship built", "open", 40, 40, [], ["has_contact"]),
    ("negotiation", "商务谈判", "Business negotiation", "open", 50, 70, ["expected_close_date"],
     ["has_lines", "amount_positive"]),
    ("won", "获得标书（赢单）", "Bid obtained (won)", "won", 60, 100, [], []),
    ("lost", "输单", "Lost", "lost", 70, 0, ["lost_reason"], []),
    ("abandoned", "放弃", "Abandoned", "lost", 80, 0, ["lost_reason"], []),
]


def forwards(apps, schema_editor):
    Stage = apps.get_model("sales", "Stage")
    for code, zh, en, kind, order, probability, required, exits in STAGES:
        Stage.objects.update_or_create(code=code, defaults={
            "name_zh": zh, "name_en": en, "kind": kind, "order": order, "default_probability": probability,
            "required_fields": required, "exit_criteria": exits})


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
