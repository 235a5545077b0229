"""The PostgreSQL privileges of the app's own database role.

Migrations run as the database owner; the web processes and workers connect
as a separate role with only what the app needs. On the audit log that is
SELECT and INSERT (and the use of its id sequence): the app's role cannot
UPDATE, DELETE or TRUNCATE audit events, nor disable or drop the append-only
trigger (only the owner may ALTER the table). docs/operations.md, "Database roles".
"""

from __future__ import annotations

import re

from compliance.models import AuditEvent

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def app_role_sql(*, role: str, database: str) -> str:
    """The SQL, run by the owner after every ``migrate``, that gives ``role`` the app's privileges."""
    if not ROLE_NAME.match(role):
        raise ValueError(f"{role!r} is not a plain lower-case role name (letters, digits, underscores)")
    audit = AuditEvent._meta.db_table
    quoted_database = '"' + database.replace('"', '""') + '"'
    return f"""-- The app's role: run as the owner (the role that runs migrations), after every migrate.
-- Create the role once, beforehand: CREATE ROLE {role} LOGIN PASSWORD '...';
GRANT CONNECT, TEMPORARY ON DATABASE {quoted_database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
-- The audit log is append-only for the app: read and add, nothing else.
REVOKE ALL ON TABLE {audit} FROM {role};
GRANT SELECT, INSERT ON TABLE {audit} TO {role};
"""
