from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from compliance.app_role import app_role_sql


class Command(BaseCommand):
    help = (
        "Print the SQL that gives the app's PostgreSQL role its privileges (SELECT and INSERT only on the "
        "audit log). Run it as the database owner after every migrate: manage.py app_role_sql --role NAME | psql"
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, help="the role the web processes and workers connect as")

    def handle(self, *args, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("database roles are PostgreSQL's: DATABASE_URL is not a PostgreSQL database")
        try:
            self.stdout.write(app_role_sql(role=role, database=connection.settings_dict["NAME"]), ending="")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
