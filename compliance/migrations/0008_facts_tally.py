"""The facts clock and the requirement tallies (docs/performance.md).

Reviewed by hand: the triggers are written for PostgreSQL and SQLite."""

import django.db.models.deletion
from django.db import migrations, models

# --- The facts clock's triggers -------------------------------------------------------
#
# Each write that can change the facts a status is derived from bumps the clock
# of its source (``compliance.tallies`` reads the keys). PostgreSQL: one bump per
# statement, from its transition tables; SQLite: one per row.

CLOCK = "compliance_factsclock"

# (table, key of a row as SQL over the alias ``r``, when a row counts, columns whose change counts)
SOURCES = [
    (
        "compliance_completion",
        "'course:' || r.course_id",
        "TRUE",
        ["course_id", "learner_id", "completed_on", "completed_at"],
    ),
    (
        "compliance_enrollment",
        "'course:' || r.course_id",
        "r.started_at IS NOT NULL AND r.completed_at IS NULL",
        ["course_id", "learner_id", "(started_at IS NULL)", "(completed_at IS NULL)"],
    ),
    ("compliance_membership", "'group:' || r.group_id", "TRUE", ["learner_id", "group_id"]),
    ("compliance_learner", "'learners'", "TRUE", ["active"]),
    ("compliance_requirement", "'requirement:' || r.id", "TRUE", ["course_id", "target_group_id"]),
    (
        "compliance_requirementcoursehistory",
        "'requirement:' || r.requirement_id",
        "TRUE",
        ["requirement_id", "course_id", "swapped_out_at"],
    ),
]

# Writes that fire no row trigger: a TRUNCATE of a source, or the clock losing
# rows (which could bring a sum back to an old stamp's). Both forget every stamp,
# so pages count live until the next recompute.
FORGET_STAMPS = "DELETE FROM compliance_tallystamp"

PG_FORGET = f"""
CREATE OR REPLACE FUNCTION compliance_forget_tally_stamps() RETURNS trigger AS $$
BEGIN
    {FORGET_STAMPS};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _pg_forgetting():
    statements = [PG_FORGET]
    for table, *_ in SOURCES:
        statements.append(
            f"CREATE TRIGGER {table}_facts_truncate AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION compliance_forget_tally_stamps();"
        )
    statements.append(
        f"CREATE TRIGGER {CLOCK}_forget AFTER DELETE OR TRUNCATE ON {CLOCK} "
        "FOR EACH STATEMENT EXECUTE FUNCTION compliance_forget_tally_stamps();"
    )
    return statements


SQLITE_FORGETTING = [f"CREATE TRIGGER {CLOCK}_forget AFTER DELETE ON {CLOCK} BEGIN {FORGET_STAMPS}; END;"]

PG_BUMP = f"""
CREATE OR REPLACE FUNCTION compliance_bump_facts_clock(keys text[]) RETURNS void AS $$
    INSERT INTO {CLOCK} (key, version)
    SELECT DISTINCT k, 1 FROM unnest(keys) AS k WHERE k IS NOT NULL ORDER BY k
    ON CONFLICT (key) DO UPDATE SET version = {CLOCK}.version + 1;
$$ LANGUAGE sql;
"""


def _columns(alias, columns):
    return ", ".join(c.replace("(", f"({alias}.", 1) if c.startswith("(") else f"{alias}.{c}" for c in columns)


def _pg_keys(key, counts, changed, op):
    if op in ("INSERT", "DELETE"):
        return f"SELECT {key} FROM {'new_rows' if op == 'INSERT' else 'old_rows'} r WHERE {counts}"
    differs = f"({_columns('o', changed)}) IS DISTINCT FROM ({_columns('n', changed)})"
    old = f"SELECT {key.replace('r.', 'o.')} FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {differs} AND ({counts.replace('r.', 'o.')})"
    new = f"SELECT {key.replace('r.', 'n.')} FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE {differs} AND ({counts.replace('r.', 'n.')})"
    return f"{old} UNION {new}"


def _pg_create(table, key, counts, changed):
    statements = []
    for op in ("INSERT", "UPDATE", "DELETE"):
        name = f"{table}_facts_{op.lower()}"
        referencing = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows"}.get(
            op, "OLD TABLE AS old_rows NEW TABLE AS new_rows"
        )
        statements.append(
            f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    PERFORM compliance_bump_facts_clock(ARRAY({_pg_keys(key, counts, changed, op)}));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER {name} AFTER {op} ON {table} REFERENCING {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""
        )
    return statements


def _sqlite_upsert(key):
    return (
        f"INSERT INTO {CLOCK} (key, version) VALUES ({key}, 1) ON CONFLICT (key) DO UPDATE SET version = version + 1;"
    )


def _sqlite_create(table, key, counts, changed):
    def for_row(alias):
        return key.replace("r.", f"{alias}."), counts.replace("r.", f"{alias}.").replace("TRUE", "1")

    statements = []
    for op, alias in (("INSERT", "NEW"), ("DELETE", "OLD")):
        row_key, row_counts = for_row(alias)
        statements.append(
            f"CREATE TRIGGER {table}_facts_{op.lower()} AFTER {op} ON {table} WHEN {row_counts} "
            f"BEGIN {_sqlite_upsert(row_key)} END;"
        )
    old_key, old_counts = for_row("OLD")
    new_key, new_counts = for_row("NEW")
    differs = " OR ".join(f"{_columns('OLD', [c])} IS NOT {_columns('NEW', [c])}" for c in changed)
    statements.append(
        f"CREATE TRIGGER {table}_facts_update AFTER UPDATE ON {table} WHEN {differs} BEGIN "
        f"INSERT INTO {CLOCK} (key, version) SELECT {old_key}, 1 WHERE {old_counts} "
        f"ON CONFLICT (key) DO UPDATE SET version = version + 1; "
        f"INSERT INTO {CLOCK} (key, version) SELECT {new_key}, 1 WHERE {new_counts} "
        f"ON CONFLICT (key) DO UPDATE SET version = version + 1; END;"
    )
    return statements


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [PG_BUMP] + [s for source in SOURCES for s in _pg_create(*source)] + _pg_forgetting()
    elif vendor == "sqlite":
        statements = [s for source in SOURCES for s in _sqlite_create(*source)] + SQLITE_FORGETTING
    else:
        raise RuntimeError(f"no facts clock triggers for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, *_ in SOURCES:
        for op in ("insert", "update", "delete"):
            name = f"{table}_facts_{op}"
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    if vendor == "postgresql":
        for table, *_ in SOURCES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_facts_truncate ON {table}")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {CLOCK}_forget ON {CLOCK}")
        schema_editor.execute("DROP FUNCTION IF EXISTS compliance_forget_tally_stamps()")
        schema_editor.execute("DROP FUNCTION IF EXISTS compliance_bump_facts_clock(text[])")
    else:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {CLOCK}_forget")


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0007_notification_fixes"),
    ]

    operations = [
        migrations.CreateModel(
            name="FactsClock",
            fields=[
                ("key", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="TallyStamp",
            fields=[
                (
                    "requirement",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="compliance.requirement",
                    ),
                ),
                ("requirement_version", models.BigIntegerField()),
                ("clock_sum", models.BigIntegerField()),
                ("tallied_at", models.DateTimeField()),
            ],
        ),
        migrations.CreateModel(
            name="RequirementTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_completed_on", models.DateField(null=True)),
                (
                    "begun",
                    models.SmallIntegerField(help_text="1 when the open enrollment in the current course has started."),
                ),
                ("learners", models.IntegerField()),
                (
                    "requirement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="compliance.requirement"
                    ),
                ),
            ],
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
