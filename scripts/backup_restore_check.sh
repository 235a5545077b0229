#!/usr/bin/env bash
# Back up a seeded PostgreSQL database with pg_dump, wipe it, restore it with
# pg_restore, and check that the evidence reads exactly the same afterwards:
# every requirement's report CSV, the audit log CSV, and a digest of every table.
#
#   scripts/backup_restore_check.sh            (make backup-check)
#
# Environment: PG_URL (the server, default postgres://postgres@127.0.0.1:5432),
# BACKUP_CHECK_DB (a scratch database it creates and drops, default
# techclass_backup_check; its name must end in _backup_check, and the script
# refuses to start when it already exists: it only ever drops a database it
# created itself), LEARNERS (demo size, default 300), PYTHON.
# Exits non-zero, with a diff, when anything differs.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
DB=${BACKUP_CHECK_DB:-techclass_backup_check}
PYTHON=${PYTHON:-.venv/bin/python}
LEARNERS=${LEARNERS:-300}
WORK=$(mktemp -d)
AS_OF=$(date -u +%F)

case "$DB" in
  *_backup_check) ;;
  *) echo "refused: BACKUP_CHECK_DB=$DB must end in _backup_check (the check drops it afterwards)" >&2; exit 2 ;;
esac
if [[ ! "$DB" =~ ^[A-Za-z0-9_]+$ ]]; then
  echo "refused: BACKUP_CHECK_DB=$DB may contain only letters, digits and underscores" >&2
  exit 2
fi

export DATABASE_URL="$PG_URL/$DB"
export DJANGO_SETTINGS_MODULE=techclass.settings
export SECRET_KEY=${SECRET_KEY:-backup-check-only-secret-key-0123456789abcdefghijklmnop}
unset REDIS_URL  # tasks in-process: the check needs no worker
export PGOPTIONS="-c client_min_messages=warning"

trap 'rm -rf "$WORK"' EXIT
drop_scratch_database() {
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
  rm -rf "$WORK"
}

step() { echo "== $*"; }

exists=$(psql "$PG_URL/postgres" -tAc "SELECT count(*) FROM pg_database WHERE datname = '$DB'")
if [ "$exists" != 0 ]; then
  echo "refused: the database $DB already exists; this check only drops a database it created (drop it yourself if it is a leftover)" >&2
  exit 2
fi

step "create and seed $DB"
psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$DB\"" >/dev/null
trap drop_scratch_database EXIT  # only now: the database is ours
"$PYTHON" manage.py migrate --noinput -v 0
"$PYTHON" manage.py seed_demo --learners "$LEARNERS" --seed 42 --today "$AS_OF" >/dev/null
"$PYTHON" manage.py recompute_compliance >/dev/null

step "export before the backup"
"$PYTHON" manage.py export_evidence --out "$WORK/before" --as-of "$AS_OF"

step "pg_dump"
pg_dump --format=custom --file "$WORK/backup.dump" "$DATABASE_URL"
ls -l "$WORK/backup.dump" | awk '{print "backup size: " $5 " bytes"}'

step "wipe: drop and create $DB"
psql "$PG_URL/postgres" -qc "DROP DATABASE \"$DB\" WITH (FORCE)" >/dev/null
psql "$PG_URL/postgres" -qc "CREATE DATABASE \"$DB\"" >/dev/null
test "$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0

step "pg_restore"
pg_restore --exit-on-error --no-owner --dbname "$DATABASE_URL" "$WORK/backup.dump"

step "export after the restore, and compare"
"$PYTHON" manage.py export_evidence --out "$WORK/after" --as-of "$AS_OF"
diff -r "$WORK/before" "$WORK/after"
"$PYTHON" manage.py migrate --check --noinput -v 0  # the restored schema is the current one
trigger=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM pg_trigger WHERE tgname = 'compliance_auditevent_append_only'")
test "$trigger" = 1 || { echo "the audit log's append-only trigger was not restored" >&2; exit 1; }

echo "OK: $(ls "$WORK/before" | wc -l) files identical before the backup and after the restore ($(grep -c . "$WORK/before/tables.txt") tables)"
