"""The recompute's per-learner state, rebuilt lean (docs/decisions.md, "A first
run writes the state only"): the pair (requirement, learner) becomes the
primary key and the only index, its references lose their database
constraints, and each row says whether its entry is already in the history.

Django cannot change a table's primary key in place, so the table is renamed,
the new one created, the rows copied (every existing entry was written to the
history when it happened, so ``entry_recorded`` is true for all of them), and
the old table dropped. The copied facts are the same, so the tally stamps stay
valid. Reversible: going back writes the entries still pending into the
history first, since the old table's rows had theirs there.
"""

import django.db.models.deletion
from django.db import migrations, models

STATE = "compliance_learnerrequirementstate"
OLD = "compliance_learnerrequirementstateold"
HISTORY = "compliance_statuschange"
COLUMNS = "requirement_id, learner_id, last_completed_on, status, status_since, updated_at"
STILL_REFERENCED = (
    "EXISTS (SELECT 1 FROM compliance_learner l WHERE l.id = s.learner_id) "
    "AND EXISTS (SELECT 1 FROM compliance_requirement r WHERE r.id = s.requirement_id)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0010_learner_sort_key"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="learnerrequirementstate", name="state_req_status_idx"),
        migrations.RemoveConstraint(model_name="learnerrequirementstate", name="state_unique_per_learner"),
        migrations.AlterField(
            model_name="learnerrequirementstate",
            name="learner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="compliance.learner"
            ),
        ),
        migrations.AlterField(
            model_name="learnerrequirementstate",
            name="requirement",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="compliance.requirement"
            ),
        ),
        migrations.RenameModel(old_name="LearnerRequirementState", new_name="LearnerRequirementStateOld"),
        migrations.CreateModel(
            name="LearnerRequirementState",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey("requirement", "learner", blank=True, editable=False, serialize=False),
                ),
                (
                    "requirement",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="states",
                        to="compliance.requirement",
                    ),
                ),
                (
                    "learner",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="requirement_states",
                        to="compliance.learner",
                    ),
                ),
                ("last_completed_on", models.DateField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("compliant", "Compliant"),
                            ("expiring_soon", "Expiring Soon"),
                            ("expired", "Expired"),
                            ("in_progress", "In Progress"),
                            ("not_started", "Not Started"),
                        ],
                        max_length=20,
                    ),
                ),
                ("status_since", models.DateField()),
                (
                    "entry_recorded",
                    models.BooleanField(
                        default=True,
                        help_text="Whether StatusChange holds the change that opened the current status; the "
                        "entry into the scope is written there only when that first status ends (decisions.md).",
                    ),
                ),
                ("updated_at", models.DateTimeField()),
            ],
        ),
        migrations.RunSQL(
            sql=f"INSERT INTO {STATE} ({COLUMNS}, entry_recorded) SELECT {COLUMNS}, true FROM {OLD}",
            reverse_sql=[
                # The old table's rows had their entry in the history: write the entries still pending.
                f"INSERT INTO {HISTORY} (requirement_id, learner_id, from_status, to_status, changed_on, "
                f"recorded_at, run_id) SELECT s.requirement_id, s.learner_id, '', s.status, s.status_since, "
                f"CURRENT_TIMESTAMP, NULL FROM {STATE} s WHERE NOT s.entry_recorded AND {STILL_REFERENCED}",
                # The old table checks its references: rows left by a raw delete are not taken back.
                f"INSERT INTO {OLD} ({COLUMNS}) SELECT {COLUMNS} FROM {STATE} s WHERE {STILL_REFERENCED}",
            ],
        ),
        migrations.DeleteModel(name="LearnerRequirementStateOld"),
    ]
