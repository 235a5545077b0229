"""Portable SQL pieces the ORM lacks, for PostgreSQL and SQLite alike."""

from django.db.models import DateField, Func


class AddDays(Func):
    """``date + n days`` as a date, on PostgreSQL and SQLite.

    Django's date + timedelta on SQLite yields a datetime string, which
    compares wrongly against dates on the boundary day; this stays a date.
    """

    output_field = DateField()
    arity = 2

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" + ", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="date(%(expressions)s || ' days')", arg_joiner=", ", **extra_context
        )
