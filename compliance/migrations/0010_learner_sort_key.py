"""The report's order in one stored column, and the index pages walk it by.

Reviewed by hand: SQLite adds a stored generated column by remaking the table,
which drops the table's triggers, so the facts clock's triggers on learners
(migration 0008) are made again there."""

import importlib

import django.db.models.functions.text
from django.db import migrations, models

import compliance.models

facts_tally = importlib.import_module("compliance.migrations.0008_facts_tally")
LEARNER = "compliance_learner"


def _learner_source():
    return next(source for source in facts_tally.SOURCES if source[0] == LEARNER)


def recreate_learner_triggers(apps, schema_editor):
    """The remade table lost its triggers on SQLite (PostgreSQL keeps them)."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for op in ("insert", "update", "delete"):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {LEARNER}_facts_{op}")
    for statement in facts_tally._sqlite_create(*_learner_source()):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0009_sign_in_address_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="learner",
            name="learner_sort_idx",
        ),
        migrations.AddField(
            model_name="learner",
            name="sort_key",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Concat(
                    django.db.models.functions.text.Lower("last_name"),
                    models.Value("\x01"),
                    django.db.models.functions.text.Lower("first_name"),
                    models.Value("\x01"),
                    django.db.models.functions.text.Lower("email"),
                    output_field=models.TextField(),
                ),
                output_field=compliance.models.CodepointOrderedText(),
            ),
        ),
        migrations.AddIndex(
            model_name="learner",
            index=models.Index(
                condition=models.Q(("active", True)), fields=["sort_key", "id"], name="learner_active_order_idx"
            ),
        ),
        # Both ways: a remake when this migration is unapplied drops them too.
        migrations.RunPython(recreate_learner_triggers, recreate_learner_triggers),
    ]
