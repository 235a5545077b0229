from django.core.management.base import BaseCommand, CommandError

from compliance.notifications.run import notification_run
from compliance.notifications.sending import SendResult, notifications_send


class Command(BaseCommand):
    help = (
        "The notification run by hand: decide the emails due today, add them to the outbox and send "
        "every due email in this process (notifications.md, 'Runs')."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="print what would be sent; send and write nothing")

    def handle(self, *args, dry_run=False, **options):
        sent = SendResult()
        result = notification_run(dry_run=dry_run, send=lambda ids: sent.add(notifications_send(ids)))
        prefix = "Would decide" if dry_run else "Decided"
        self.stdout.write(f"As of {result.today}{' (dry run: nothing sent or written)' if dry_run else ''}")
        for row in result.decided:
            about = f" about {row.requirement_name}" if row.requirement_name else ""
            ordinal = f" #{row.ordinal}" if row.ordinal else ""
            self.stdout.write(f"{prefix}: {row.get_kind_display()}{ordinal} to {row.recipient}{about}")
        if dry_run:
            self.stdout.write(
                self.style.SUCCESS(f"{len(result.decided)} email(s) would be decided; {result.due} already due.")
            )
            return
        self.stdout.write(
            f"{result.inserted} new email(s) in the outbox; {result.due} due: {sent.sent} sent, "
            f"{sent.dropped} dropped, {sent.retrying} to retry, {sent.failed} failed."
        )
        for error in sent.errors:
            self.stderr.write(error)
        if sent.errors:
            raise CommandError(f"{len(sent.errors)} email(s) could not be sent; they stay in the outbox.")
        self.stdout.write(self.style.SUCCESS("Done."))
