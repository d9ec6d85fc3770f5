"""The name search index (decision 0010): gram tables, the triggers that keep them, and the grams of the
rows already there. The trigger SQL comes from kamcrm.customers.search (one definition); a later change
to it needs a migration of its own that calls install() again."""

import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    from kamcrm.customers import search

    search.install(schema_editor)
    search.rebuild()


def uninstall(apps, schema_editor):
    from kamcrm.customers import search

    for index in search.INDEXES:
        search.drop(index, schema_editor.execute)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0006_contact_primary_index'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountSearchGram',
            fields=[
                ('pk', models.CompositePrimaryKey('gram', 'account', blank=True, editable=False, primary_key=True, serialize=False)),
                ('gram', models.CharField(max_length=2)),
                ('account', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='customers.account')),
            ],
            options={
                'verbose_name': 'account search gram',
                'verbose_name_plural': 'account search grams',
            },
        ),
        migrations.CreateModel(
            name='ContactSearchGram',
            fields=[
                ('pk', models.CompositePrimaryKey('gram', 'contact', blank=True, editable=False, primary_key=True, serialize=False)),
                ('gram', models.CharField(max_length=2)),
                ('contact', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='customers.contact')),
            ],
            options={
                'verbose_name': 'contact search gram',
                'verbose_name_plural': 'contact search grams',
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
