"""The data model of learners, groups, courses, enrollments, completions,
requirements, the stored per-learner compliance facts and the audit log.

Statuses are never stored as the truth: the status engine (``rules.py``)
derives them from completions, enrollments and today's date. The stored state
(``LearnerRequirementState``) and its history (``StatusChange``) are what the
recompute keeps for history, charts and notifications.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Concat, Lower
from django.utils import timezone

from compliance.statuses import Status

#: Between the parts of ``Learner.sort_key``: below every character a name or an
#: email holds, so the joined key orders as the tuple of its parts.
SORT_KEY_SEPARATOR = "\x01"


class CodepointOrderedText(models.TextField):
    """Text compared by code point on every backend: collation "C" on
    PostgreSQL (whatever the database's default, and with the fast byte
    comparison), SQLite's own BINARY elsewhere (the same order for UTF-8)."""

    def db_parameters(self, connection):
        parameters = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            parameters["collation"] = "C"
        return parameters


class Learner(models.Model):
    """A person who must take training. A record, not a portal account."""

    email = models.EmailField(max_length=254, help_text="Stored in lower case; unique regardless of case.")
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    active = models.BooleanField(default=True, help_text="Deactivated learners are in no scope and keep their history.")
    manager_email = models.EmailField(max_length=254, blank=True)
    groups = models.ManyToManyField("LearnerGroup", through="Membership", related_name="learners", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    #: The report's order (last name, first name, email, case-insensitive) in
    #: one column the database keeps: what pages sort, walk and search by.
    #: Unique, as the lower-cased email is.
    sort_key = models.GeneratedField(
        expression=Concat(
            Lower("last_name"),
            models.Value(SORT_KEY_SEPARATOR),
            Lower("first_name"),
            models.Value(SORT_KEY_SEPARATOR),
            Lower("email"),
            output_field=models.TextField(),
        ),
        output_field=CodepointOrderedText(),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="learner_email_unique_ci"),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="learner_email_lower_case"),
        ]
        indexes = [
            # The report's order within a scope (scopes hold active learners only):
            # pages walk it, read only from the index.
            models.Index(fields=["sort_key", "id"], condition=Q(active=True), name="learner_active_order_idx"),
            models.Index(fields=["active"], name="learner_active_idx"),
        ]
        ordering = [Lower("last_name"), Lower("first_name"), "email", "id"]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.email}>" if name else self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class LearnerGroup(models.Model):
    """A named set of learners ("HR Department"); a requirement may target one."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "group"
        constraints = [models.UniqueConstraint(Lower("name"), name="group_name_unique_ci")]
        ordering = [Lower("name")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(LearnerGroup, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["learner", "group"], name="membership_unique")]
        indexes = [models.Index(fields=["group", "learner"], name="membership_group_idx")]

    def __str__(self) -> str:
        return f"{self.learner} in {self.group}"


class Course(models.Model):
    code = models.CharField(max_length=64, help_text="Unique regardless of case, e.g. GDPR-101.")
    title = models.CharField(max_length=200)
    url = models.URLField(max_length=500, blank=True, help_text="Where a learner takes the course.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("code"), name="course_code_unique_ci")]
        ordering = [Lower("code")]

    def __str__(self) -> str:
        return f"{self.code} · {self.title}"


class EnrollmentSource(models.TextChoices):
    IMPORT = "import", "Import"
    API = "api", "API"
    ADMIN_ENROLL = "admin_enroll", "Admin enroll"
    REMEDIATION = "remediation", "Remediation"


class Enrollment(models.Model):
    """A learner's attempt at a course; open until ``completed_at`` is set."""

    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    enrolled_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=EnrollmentSource.choices, default=EnrollmentSource.ADMIN_ENROLL)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "course"],
                condition=Q(completed_at__isnull=True),
                name="one_open_enrollment_per_learner_course",
            ),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=100), name="enrollment_progress_0_100"),
        ]
        indexes = [models.Index(fields=["course", "learner"], name="enrollment_course_idx")]

    def __str__(self) -> str:
        state = "open" if self.completed_at is None else "closed"
        return f"{self.learner.email} in {self.course.code} ({state})"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


class Completion(models.Model):
    """A learner finished a course. Every retake is kept."""

    learner = models.ForeignKey(Learner, on_delete=models.PROTECT, related_name="completions")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="completions")
    completed_at = models.DateTimeField()
    completed_on = models.DateField(help_text="The organisation's calendar day of completed_at.", editable=False)
    source = models.CharField(max_length=20, choices=EnrollmentSource.choices, default=EnrollmentSource.IMPORT)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Also the import's key: the same completion imported twice adds nothing.
            models.UniqueConstraint(fields=["learner", "course", "completed_on"], name="completion_unique_per_day"),
        ]
        indexes = [
            # The learner rides along so that the Overview's monthly counts read the index alone (PostgreSQL).
            models.Index(fields=["course", "completed_on"], include=["learner"], name="completion_course_day_idx2"),
        ]
        ordering = ["-completed_at"]

    def __str__(self) -> str:
        return f"{self.learner.email} completed {self.course.code} on {self.completed_on}"


class RequirementType(models.Model):
    """A visual tag for requirements, managed by admins."""

    class Colour(models.TextChoices):
        RED = "red", "Red"
        AMBER = "amber", "Amber"
        BLUE = "blue", "Blue"
        PURPLE = "purple", "Purple"
        TEAL = "teal", "Teal"
        GREY = "grey", "Grey"
        GREEN = "green", "Green"

    name = models.CharField(max_length=100, unique=True)
    colour = models.CharField(max_length=10, choices=Colour.choices, default=Colour.GREY)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


#: The answer when a requirement's name is taken (names are unique regardless of case).
REQUIREMENT_NAME_TAKEN = "A requirement with this name already exists; choose another name."


class Requirement(models.Model):
    """A course mapped to a target (All Learners or one group) with a validity period."""

    type = models.ForeignKey(RequirementType, on_delete=models.PROTECT, related_name="requirements")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    valid_days = models.PositiveIntegerField(validators=[MinValueValidator(1, "Valid for must be at least 1 day.")])
    warning_days = models.PositiveIntegerField(default=0)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="requirements")
    target_group = models.ForeignKey(
        LearnerGroup,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requirements",
        help_text="Empty means All Learners.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Notifications (notifications.md): learner emails are off until an admin turns them on.
    notify_learners = models.BooleanField(default=False)
    reminder_every_days = models.PositiveIntegerField(default=7, help_text="0 means no reminders.")
    reminder_max = models.PositiveIntegerField(default=4)
    digests = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="requirement_name_unique_ci",
                violation_error_message=REQUIREMENT_NAME_TAKEN,
                violation_error_code="name_taken",
            ),
            models.CheckConstraint(
                condition=Q(valid_days__gte=1),
                name="requirement_valid_days_min_1",
                violation_error_message="Valid for must be at least 1 day.",
            ),
            models.CheckConstraint(
                condition=Q(warning_days__lt=F("valid_days")),
                name="requirement_warning_lt_valid",
                violation_error_message="The warning must start fewer days before expiry than the validity lasts.",
            ),
        ]
        ordering = [Lower("name")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        if self.valid_days and self.warning_days is not None and self.warning_days >= self.valid_days:
            raise ValidationError(
                {"warning_days": f"The warning must be fewer days than the validity ({self.valid_days} days)."}
            )

    @property
    def target_label(self) -> str:
        return self.target_group.name if self.target_group_id else "All Learners"


class RequirementCourseHistory(models.Model):
    """A course that was mapped to a requirement and swapped out.

    Its completions made before ``swapped_out_at`` keep counting; the current
    course is ``Requirement.course``.
    """

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="course_history")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="+")
    mapped_at = models.DateTimeField()
    swapped_out_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "requirement course history"
        indexes = [models.Index(fields=["requirement", "course"], name="course_history_req_idx")]
        ordering = ["-swapped_out_at"]

    def __str__(self) -> str:
        return f"{self.course.code} until {self.swapped_out_at:%Y-%m-%d %H:%M}"


class LearnerRequirementState(models.Model):
    """The recompute's stored facts for a learner in a requirement's scope.

    Not shown as-is: pages derive the status as of today from the rules.

    Derived data, rebuilt by the recompute, so it is kept lean for a first run
    that writes a row per learner in scope: the pair is the primary key (its
    only index), and its references carry no database constraint (checking a
    million of them at commit cost more than the rows). Deletions through
    Django still cascade; a row left by a raw delete is a leaver at the next
    run. Not in the admin, which cannot show a composite key; the Report shows
    these facts.
    """

    pk = models.CompositePrimaryKey("requirement", "learner")
    requirement = models.ForeignKey(
        Requirement, on_delete=models.CASCADE, related_name="states", db_constraint=False, db_index=False
    )
    learner = models.ForeignKey(
        Learner, on_delete=models.CASCADE, related_name="requirement_states", db_constraint=False, db_index=False
    )
    last_completed_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    status_since = models.DateField()
    entry_recorded = models.BooleanField(
        default=True,
        help_text="Whether StatusChange holds the change that opened the current status; the entry into "
        "the scope is written there only when that first status ends (decisions.md).",
    )
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.learner_id} in {self.requirement_id}: {self.status}"


class FactsClock(models.Model):
    """How often the facts a status is derived from have changed, per source:
    ``course:<id>`` (its completions, and its begun open enrollments),
    ``group:<id>`` (its memberships), ``learners`` (learners added, removed,
    activated or deactivated) and ``requirement:<id>`` (its course, target or
    course history). Written only by database triggers (migration 0008), so
    that no write path, the admin and raw SQL included, can forget it."""

    key = models.CharField(max_length=40, primary_key=True)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key} at {self.version}"


class RequirementTally(models.Model):
    """How many learners in a requirement's scope share one latest qualifying
    completion day and one "begun a retake" flag, as the recompute found them.
    Statuses are still derived as of today: a tally row's status follows from
    its day and flag (``tallies.tallied_counts``)."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="+")
    last_completed_on = models.DateField(null=True)
    begun = models.SmallIntegerField(help_text="1 when the open enrollment in the current course has started.")
    learners = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.requirement_id}: {self.learners} on {self.last_completed_on} ({self.begun})"


class TallyStamp(models.Model):
    """The facts clock read when a requirement's tallies were built: its own
    key's version (which moves whenever the set of its sources changes) and the
    sum over all its sources. While both are unchanged, the tallies are exact."""

    requirement = models.OneToOneField(Requirement, on_delete=models.CASCADE, primary_key=True, related_name="+")
    requirement_version = models.BigIntegerField()
    clock_sum = models.BigIntegerField()
    tallied_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.requirement_id} tallied at clock {self.clock_sum}"


class RecomputeRun(models.Model):
    """One run of the recompute: all requirements (requirement_id empty) or one."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    full = models.BooleanField(default=False, help_text="A run over every requirement, under the global lock.")
    requirement_id = models.BigIntegerField(
        null=True, blank=True, help_text="The requirement of a one-requirement run."
    )
    trigger = models.CharField(max_length=20)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    as_of = models.DateField()
    changes = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "finished_at"], name="run_state_finished_idx")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        scope = "all requirements" if self.full else f"requirement {self.requirement_id or 'several'}"
        return f"Recompute of {scope} at {self.started_at:%Y-%m-%d %H:%M} ({self.state})"


class RecomputeFacts(models.Model):
    """The temporary table in which the recompute gathers each learner's facts
    (``rules.learner_facts``) once, so that the status rules then run over
    plain columns (``rules.with_statuses``) instead of re-evaluating the
    latest-completion subquery in every rule. Not a real table."""

    learner_id = models.BigIntegerField(primary_key=True)
    last_completed_on = models.DateField(null=True)
    open_started_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "compliance_recompute_facts"

    def __str__(self) -> str:
        return f"facts of learner {self.learner_id}"


class StatusChange(models.Model):
    """A learner's status in a requirement changed; dated on the day it took effect.

    ``from_status`` is empty when the learner entered the scope, ``to_status``
    when they left it. An entry is written when the status it opened ends (a
    change or leaving); until then the learner's state row holds it
    (``LearnerRequirementState.entry_recorded``), so a first run writes no history.
    """

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="status_changes")
    learner = models.ForeignKey(Learner, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    changed_on = models.DateField()
    recorded_at = models.DateTimeField()
    run = models.ForeignKey(RecomputeRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["requirement", "changed_on"], name="change_req_day_idx"),
            models.Index(fields=["learner", "requirement"], name="change_learner_idx"),
            # The recompute looks up when a rejoiner last left the scope.
            models.Index(
                fields=["requirement", "learner", "changed_on"], condition=Q(to_status=""), name="change_exit_idx"
            ),
        ]
        ordering = ["-changed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.learner_id}: {self.from_status or '—'} → {self.to_status or '—'} on {self.changed_on}"


class AuditLogIsAppendOnly(Exception):
    """An audit event was about to be changed or deleted: corrections are new events."""


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk UPDATE and DELETE (PostgreSQL's trigger refuses them too, migration 0006)."""

    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be changed; record a correction as a new event")

    def delete(self):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")

    update.queryset_only = True
    delete.queryset_only = True


class AuditEvent(models.Model):
    """An admin action. Refers to its object by type, id and name, never by a
    foreign key, so that no deletion ever touches the log. Append-only: saving
    a stored event again, or deleting one, raises ``AuditLogIsAppendOnly``."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, help_text="The username at the time, or 'system'.")
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=50, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    requirement_id = models.BigIntegerField(null=True, blank=True, help_text="The requirement concerned, if any.")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["requirement_id", "at"], name="audit_requirement_idx"),
            # The audit log's filters by action and by actor.
            models.Index(fields=["action", "at"], name="audit_action_idx"),
            models.Index(fields=["actor_label", "at"], name="audit_actor_idx"),
            # The sign-in throttle's lookups by client address (compliance/sign_in.py).
            models.Index(
                KeyTransform("address", "after"),
                "at",
                name="audit_sign_in_address_idx",
                condition=models.Q(action__in=["auth.login_failed", "auth.login_refused"]),
            ),
        ]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_repr}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit events cannot be changed; record a correction as a new event")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")


class NotificationKind(models.TextChoices):
    ENROLLED = "enrolled", "Enrolled"
    EXPIRING_SOON = "expiring_soon", "Expiring soon"
    EXPIRED = "expired", "Expired"
    REMINDER = "reminder", "Reminder"
    MANAGER_DIGEST = "manager_digest", "Manager digest"
    ADMIN_DIGEST = "admin_digest", "Admin digest"


class Notification(models.Model):
    """One decided email: a row of the outbox (notifications.md, "Runs").

    The uniqueness key (recipient, kind, requirement, learner, cycle, ordinal)
    is what makes a repeated or concurrent run unable to decide an email twice.
    ``requirement_id`` and ``learner_id`` are plain numbers, 0 for "none" (the
    digests), so that the key never holds a NULL and the row outlives a
    deleted requirement. ``cycle`` is the learner's latest qualifying
    completion day (``never`` without one), ``enrollment-<id>`` for the
    ``enrolled`` email, and the week's Monday for the digests.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DROPPED = "dropped", "Dropped"
        FAILED = "failed", "Failed"

    recipient = models.EmailField(max_length=254)
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    requirement_id = models.BigIntegerField(default=0)
    learner_id = models.BigIntegerField(default=0)
    cycle = models.CharField(max_length=40)
    ordinal = models.PositiveSmallIntegerField(default=0, help_text="A reminder's number within its cycle.")
    requirement_name = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_at = models.DateTimeField(default=timezone.now)
    decided_on = models.DateField(help_text="The org day of the run that decided it.")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, help_text="Which sender claimed it.")
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    drop_reason = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    context = models.JSONField(default=dict, blank=True, help_text="What a digest lists, as decided.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "requirement_id", "learner_id", "cycle", "ordinal"],
                name="notification_unique_key",
            ),
        ]
        indexes = [
            models.Index(fields=["requirement_id", "learner_id", "decided_on"], name="notification_learner_idx"),
            models.Index(fields=["state", "next_attempt_at"], name="notification_due_idx"),
            models.Index(fields=["decided_at"], name="notification_decided_idx"),
            models.Index(fields=["requirement_id", "-decided_at"], name="notification_requirement_idx"),
        ]
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.state})"


class DigestSnapshot(models.Model):
    """A requirement's counts per status when a week's admin digest was decided:
    "change since the last digest" compares with the previous week's."""

    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="digest_snapshots")
    week = models.DateField(help_text="The Monday of the digest's week.")
    counts = models.JSONField(default=dict)
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["requirement", "week"], name="digest_snapshot_unique_week")]
        ordering = ["-week"]

    def __str__(self) -> str:
        return f"{self.requirement_id} week of {self.week}"


class DigestWeek(models.Model):
    """A week whose digests of one kind were decided, even if that decision
    sent nothing: later runs of the week then decide none (weekly, on the
    organisation's Monday; a week whose Monday had no run is caught up once)."""

    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    week = models.DateField(help_text="The Monday of the digest's week.")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "week"], name="digest_week_unique_kind")]
        ordering = ["-week", "kind"]

    def __str__(self) -> str:
        return f"{self.kind} week of {self.week}"
