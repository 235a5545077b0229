"""The audit log is append-only in the database itself (PostgreSQL).

A row trigger refuses every UPDATE and DELETE of ``compliance_auditevent``,
whoever sends it (the app, the admin, a psql session). TRUNCATE is left alone:
the test suite empties tables with it, and it needs the table owner's rights.
SQLite has no such trigger here (its test flush deletes rows); there the model
refuses instead (``AuditEvent.save``/``delete``, ``AppendOnlyQuerySet``).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION compliance_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % of an audit event refused', TG_OP
        USING HINT = 'Record a correction as a new audit event.';
END
$$;
CREATE TRIGGER compliance_auditevent_append_only
    BEFORE UPDATE OR DELETE ON compliance_auditevent
    FOR EACH ROW EXECUTE FUNCTION compliance_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS compliance_auditevent_append_only ON compliance_auditevent;
DROP FUNCTION IF EXISTS compliance_auditevent_append_only();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("compliance", "0005_notifications")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP), elidable=False)]
