"""The demo organisation: departments, people, courses, six requirements and
two to three years of training history, for trying the portal out.

Everything is drawn from ``random.Random(seed)`` relative to ``today``, so the
same seed and day give the same data. The plan is made in Python first
(``demo_plan``), then written with a few bulk INSERTs (``demo_seed``); the
requirements go through the audited services like any admin's would.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from compliance.dates import org_date, org_timezone
from compliance.models import (
    Completion,
    Course,
    Enrollment,
    EnrollmentSource,
    Learner,
    LearnerGroup,
    Membership,
    Requirement,
    RequirementCourseHistory,
    RequirementType,
)
from compliance.requirements import requirement_create, requirement_delete, requirement_update

BATCH_SIZE = 2000
MIN_LEARNERS = 20
#: How far back the history goes (about two and three quarter years).
HISTORY_DAYS = 1000
INACTIVE_SHARE = 0.02
SECOND_GROUP_SHARE = 0.12


class DemoError(Exception):
    """The demo cannot be built as asked (the message says why)."""


# --- What the organisation looks like ---------------------------------------------------

#: Departments and their share of the staff.
DEPARTMENTS: list[tuple[str, int]] = [
    ("Sales Team", 19),
    ("Engineering", 17),
    ("Customer Support", 14),
    ("Warehouse", 14),
    ("Operations", 11),
    ("Finance", 7),
    ("Marketing", 6),
    ("HR Department", 6),
    ("Legal", 6),
]


@dataclass(frozen=True)
class CourseSpec:
    code: str
    title: str


COURSES = [
    CourseSpec("GDPR-101", "GDPR Essentials"),
    CourseSpec("GDPR-102", "GDPR Essentials (2nd edition)"),
    CourseSpec("FIRE-100", "Fire Safety Awareness"),
    CourseSpec("ABC-200", "Anti-Bribery & Corruption"),
    CourseSpec("ISEC-110", "Information Security Basics"),
    CourseSpec("HS-120", "Manual Handling"),
    CourseSpec("COC-100", "Code of Conduct & Ethics"),
    CourseSpec("DEI-101", "Diversity, Equity & Inclusion"),
    CourseSpec("AML-300", "Anti-Money Laundering"),
]

#: Courses no requirement asks for, taken by some learners anyway: (code, share of learners).
ELECTIVES = [("DEI-101", 0.35), ("AML-300", 0.08)]


@dataclass(frozen=True)
class Mix:
    """Shares of a requirement's scope whose latest completion is still valid,
    has expired, or never happened (the rest)."""

    valid: float
    expired: float


@dataclass(frozen=True)
class RequirementSpec:
    name: str
    type_name: str
    course_code: str
    valid_days: int
    warning_days: int
    mix: Mix
    description: str = ""
    target_group: str | None = None
    #: The course it used before a swap, and how many days ago the swap was.
    swapped_from: str | None = None
    swapped_days_ago: int = 0


REQUIREMENTS = [
    RequirementSpec(
        name="Data Privacy (GDPR)",
        type_name="Data & Privacy",
        course_code="GDPR-102",
        swapped_from="GDPR-101",
        swapped_days_ago=120,
        valid_days=365,
        warning_days=30,
        mix=Mix(valid=0.76, expired=0.12),
        description="Yearly refresher on handling personal data under the GDPR.",
    ),
    RequirementSpec(
        name="Fire Safety",
        type_name="Health & Safety",
        course_code="FIRE-100",
        valid_days=365,
        warning_days=45,
        mix=Mix(valid=0.82, expired=0.08),
        description="Evacuation routes, alarms and extinguishers, every year.",
    ),
    RequirementSpec(
        name="Anti-Bribery",
        type_name="Legal & Financial",
        course_code="ABC-200",
        valid_days=730,
        warning_days=60,
        mix=Mix(valid=0.86, expired=0.06),
        description="Gifts, hospitality and facilitation payments: every two years.",
    ),
    RequirementSpec(
        name="Information Security",
        type_name="Information Security",
        course_code="ISEC-110",
        valid_days=180,
        warning_days=14,
        mix=Mix(valid=0.66, expired=0.18),
        description="Phishing, passwords and reporting incidents, twice a year.",
    ),
    RequirementSpec(
        name="Manual Handling",
        type_name="Health & Safety",
        course_code="HS-120",
        target_group="Warehouse",
        valid_days=730,
        warning_days=30,
        mix=Mix(valid=0.72, expired=0.16),
        description="Safe lifting and carrying for warehouse staff.",
    ),
    RequirementSpec(
        name="Code of Conduct",
        type_name="HR & Conduct",
        course_code="COC-100",
        target_group="HR Department",
        valid_days=365,
        warning_days=21,
        mix=Mix(valid=0.8, expired=0.1),
        description="The company's code of conduct for the people who enforce it.",
    ),
]

_FIRST_NAMES_TEXT = """
Aaliyah Aarav Abigail Adam Adrian Aisha Alejandro Alex Alice Amara Amelia Ana Andrea Andrew Anna Ava Ben Benjamin
Carla Carlos Charlotte Chen Chloé Chloe Daniel David Diego Dmitri Elena Elif Eliza Emily Emma Erik Ethan Fatima
Felix Fiona Francesca Gabriel Grace Hana Hannah Harry Hiroshi Hugo Ibrahim Isabel Isaac Jack James Jasmine Javier
Jing Joanna José Joseph Julia Kai Karim Kate Kenji Laura Leah Leo Liam Lina Lucas Lucy Maria Mateo Maya Mei Mia
Michael Mohammed Nadia Naomi Nathan Nia Noah Olga Oliver Olivia Omar Oscar Pablo Priya Rafael Rahul Rosa Ruby Ryan
Samuel Sara Sebastian Sofia Björn Sophie Tariq Thomas Tom Valentina Victor William Yara Yusuf Zara Zoë
"""
FIRST_NAMES = _FIRST_NAMES_TEXT.split()

_LAST_NAMES_TEXT = """
Adams Ahmed Ali Allen Alvarez Anderson Bailey Baker Bauer Bennett Brown Campbell Carter Castro Chen Clarke Cohen
Collins Cooper Costa Davies Dubois Edwards Evans Fischer Fernández Fraser García Gomez Gonzalez Graham Green Hall
Harris Hassan Hughes Hussain Ivanova Jackson Jensen Johnson Jones Kaur Kelly Khan Kim Kowalski Larsen Lee Lewis Li
Lopez Martin Martinez Mehta Meyer Miller Mitchell Moore Morales Morris Müller Murphy Nakamura Nguyen Novak O'Brien
O'Connor Okafor Olsen Park Patel Pereira Perez Petrov Phillips Price Reid Reyes Richards Roberts Robinson Rossi
Russo Sanchez Santos Schmidt Schneider Scott Shah Silva Singh Smith Sousa Stewart Suzuki Tanaka Taylor Thompson
Turner Walker Wang Ward Watson Weber White Williams Wilson Wood Wright Yamamoto Young Zhang
"""
LAST_NAMES = _LAST_NAMES_TEXT.split()


def demo_domain() -> str:
    """Learners' email domain: the organisation's name under the reserved
    ``.example`` top-level domain, so no demo email can reach a real mailbox."""
    return f"{slugify(settings.ORG_NAME) or 'demo'}.example"


# --- The plan --------------------------------------------------------------------------


@dataclass
class LearnerPlan:
    email: str
    first_name: str
    last_name: str
    groups: list[str]
    active: bool = True
    manager_email: str = ""


@dataclass(frozen=True)
class CompletionPlan:
    learner: int  # index into DemoPlan.learners
    course: str
    completed_at: dt.datetime
    source: str


@dataclass(frozen=True)
class EnrollmentPlan:
    learner: int
    course: str
    enrolled_at: dt.datetime
    started_at: dt.datetime | None
    progress: int
    source: str


@dataclass
class DemoPlan:
    learners: list[LearnerPlan]
    #: When the requirements were set up, and when each swapped course (by requirement name) was swapped out.
    requirements_created_at: dt.datetime
    swapped_out_at: dict[str, dt.datetime]
    completions: list[CompletionPlan] = field(default_factory=list)
    enrollments: list[EnrollmentPlan] = field(default_factory=list)


def demo_plan(*, learners: int, seed: int, today: dt.date, now: dt.datetime) -> DemoPlan:
    """The whole demo organisation as plain data. Nothing is later than ``now``."""
    rng = random.Random(seed)
    people = _plan_learners(rng, learners)
    clock = _Clock(rng, today, now)
    plan = DemoPlan(
        learners=people,
        requirements_created_at=clock.moment(clock.start),
        swapped_out_at={
            spec.name: clock.moment(today - dt.timedelta(days=spec.swapped_days_ago))
            for spec in REQUIREMENTS
            if spec.swapped_from
        },
    )
    for spec in REQUIREMENTS:
        _HistoryWriter(rng, clock, plan, spec).write()
    _plan_electives(rng, clock, plan)
    return plan


class _Clock:
    """Draws days and working-hour moments between the history's start and today,
    never later than ``now``."""

    def __init__(self, rng: random.Random, today: dt.date, now: dt.datetime):
        self.rng = rng
        self.today = today
        self.now = now
        self.start = today - dt.timedelta(days=HISTORY_DAYS)
        self.zone = org_timezone()

    def day_between(self, first: dt.date, last: dt.date) -> dt.date:
        first, last = max(first, self.start), min(last, self.today)
        return first + dt.timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    def moment(self, day: dt.date, after: dt.datetime | None = None) -> dt.datetime:
        """A time between 08:00 and 18:00 on ``day`` (later than ``after``, if given)."""
        at = dt.datetime.combine(day, dt.time(8), tzinfo=self.zone) + dt.timedelta(minutes=self.rng.randrange(600))
        if after is not None and at <= after:
            at = after + dt.timedelta(minutes=self.rng.randint(1, 90))
        return min(at, self.now)


def _email_local_part(first: str, last: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z.]", "", ascii_name.lower())


def _plan_learners(rng: random.Random, count: int) -> list[LearnerPlan]:
    domain = demo_domain()
    names = [d for d, _ in DEPARTMENTS]
    weights = [w for _, w in DEPARTMENTS]
    seen: dict[str, int] = {}
    people = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = _email_local_part(first, last)
        seen[local] = seen.get(local, 0) + 1
        suffix = str(seen[local]) if seen[local] > 1 else ""
        # Every department has someone, then they fill up by their share.
        department = names[index] if index < len(names) else rng.choices(names, weights)[0]
        groups = [department]
        if rng.random() < SECOND_GROUP_SHARE:
            groups.append(rng.choice([n for n in names if n != department]))
        people.append(LearnerPlan(email=f"{local}{suffix}@{domain}", first_name=first, last_name=last, groups=groups))
    for index in rng.sample(range(count), max(1, round(count * INACTIVE_SHARE))):
        people[index].active = False
    _assign_managers(rng, people)
    return people


def _assign_managers(rng: random.Random, people: list[LearnerPlan]) -> None:
    """About one in fifteen of each department manages it; most others have one of them as manager."""
    for department, _ in DEPARTMENTS:
        members = [p for p in people if p.groups[0] == department and p.active]
        managers = members[: max(1, len(members) // 15)]
        for person in members[len(managers) :]:
            if rng.random() < 0.7:
                person.manager_email = rng.choice(managers).email


class _HistoryWriter:
    """One requirement's completions and open enrollments, learner by learner.

    The latest completion of each learner in scope is drawn so that the scope
    splits by ``spec.mix``; the valid ones are spread evenly over the validity
    period (the most recent today), so every status and every recent month has
    something to show. Earlier completions are retakes going back in time.
    """

    def __init__(self, rng: random.Random, clock: _Clock, plan: DemoPlan, spec: RequirementSpec):
        self.rng, self.clock, self.plan, self.spec = rng, clock, plan, spec
        self.valid_for = dt.timedelta(days=spec.valid_days)
        self.swapped_out_at = plan.swapped_out_at.get(spec.name)

    def write(self) -> None:
        # Deactivated learners too: they keep the history of when they were in scope.
        scope = [i for i, p in enumerate(self.plan.learners) if self.spec.target_group in (None, *p.groups)]
        valid, expired, never = [], [], []
        for index in scope:
            draw = self.rng.random()
            if draw < self.spec.mix.valid:
                valid.append(index)
            elif draw < self.spec.mix.valid + self.spec.mix.expired:
                expired.append(index)
            else:
                never.append(index)
        self._write_valid(valid)
        for index in expired:
            self._write_expired(index)
        for index in never:
            self._write_never_completed(index)

    def _write_valid(self, learners: list[int]) -> None:
        self.rng.shuffle(learners)
        learners.sort(key=lambda i: not self.plan.learners[i].active)  # those who left trained longest ago
        today = self.clock.today
        for rank, index in enumerate(learners):
            days_ago = 0 if rank == 0 else int((rank + self.rng.random()) * self.spec.valid_days / len(learners))
            latest = today - dt.timedelta(days=days_ago)
            self._write_completions(index, latest)
            warn_on = latest + self.valid_for - dt.timedelta(days=self.spec.warning_days)
            if warn_on <= today and latest < today:  # Expiring Soon: some have begun the retake
                draw = self.rng.random()
                if draw < 0.5:
                    since = max(latest + dt.timedelta(days=1), warn_on - dt.timedelta(days=14))
                    self._enroll(index, since, begun=draw < 0.4)

    def _write_expired(self, index: int) -> None:
        today = self.clock.today
        longest_lapse = min(365, HISTORY_DAYS - self.spec.valid_days)
        latest = today - self.valid_for - dt.timedelta(days=self.rng.randint(0, longest_lapse))
        self._write_completions(index, latest)
        draw = self.rng.random()
        if draw < 0.55:  # a retake begun (In Progress) or only enrolled (still Expired)
            since = max(latest + self.valid_for, today - dt.timedelta(days=90))
            self._enroll(index, since, begun=draw < 0.35)

    def _write_never_completed(self, index: int) -> None:
        draw = self.rng.random()
        if draw < 0.55:
            self._enroll(index, self.clock.today - dt.timedelta(days=120), begun=draw < 0.3)

    def _write_completions(self, index: int, latest: dt.date) -> None:
        for day in [latest, *self._earlier_days(latest)]:
            at = self.clock.moment(day)
            self.plan.completions.append(
                CompletionPlan(
                    learner=index,
                    course=self._course_at(at),
                    completed_at=at,
                    source=EnrollmentSource.API if self.rng.random() < 0.3 else EnrollmentSource.IMPORT,
                )
            )

    def _earlier_days(self, latest: dt.date) -> list[dt.date]:
        """Retakes before ``latest``: mostly in the warning window of the one before, some after a lapse."""
        days, day = [], latest
        while self.rng.random() < 0.8:
            gap = self.spec.valid_days - self.rng.randint(0, self.spec.warning_days)
            if self.rng.random() < 0.25:
                gap += self.rng.randint(1, 90)
            day -= dt.timedelta(days=max(gap, 30))
            if day < self.clock.start:
                break
            days.append(day)
        return days

    def _course_at(self, moment: dt.datetime) -> str:
        if self.swapped_out_at is not None and moment < self.swapped_out_at:
            return self.spec.swapped_from
        return self.spec.course_code

    def _enroll(self, index: int, since: dt.date, begun: bool) -> None:
        """An open enrollment in the current course, enrolled after ``since`` (and so
        after every completion of it, which would have closed it)."""
        enrolled_at = self.clock.moment(self.clock.day_between(since, self.clock.today))
        started_at = None
        if begun:
            started_on = self.clock.day_between(org_date(enrolled_at), self.clock.today)
            started_at = self.clock.moment(started_on, after=enrolled_at)
        self.plan.enrollments.append(
            EnrollmentPlan(
                learner=index,
                course=self.spec.course_code,
                enrolled_at=enrolled_at,
                started_at=started_at,
                progress=self.rng.randint(10, 90) if begun else 0,
                source=EnrollmentSource.IMPORT if self.rng.random() < 0.7 else EnrollmentSource.ADMIN_ENROLL,
            )
        )


def _plan_electives(rng: random.Random, clock: _Clock, plan: DemoPlan) -> None:
    """One completion of an elective for some learners, an open enrollment for a few others."""
    for code, share in ELECTIVES:
        for index in range(len(plan.learners)):
            draw = rng.random()
            if draw < share:
                at = clock.moment(clock.day_between(clock.start, clock.today))
                plan.completions.append(CompletionPlan(index, code, at, EnrollmentSource.IMPORT))
            elif draw < share + 0.03:
                enrolled_at = clock.moment(clock.day_between(clock.today - dt.timedelta(days=60), clock.today))
                plan.enrollments.append(EnrollmentPlan(index, code, enrolled_at, None, 0, EnrollmentSource.IMPORT))


# --- Writing it --------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSeedResult:
    learners: int
    inactive: int
    groups: int
    courses: int
    requirement_ids: list[int]
    completions: int
    enrollments_begun: int
    enrollments_not_begun: int


def demo_database_is_empty() -> bool:
    """No learners, groups, courses, requirements or learning records: demo data
    may be added without mixing with anyone's real data."""
    return not any(
        model.objects.exists() for model in (Learner, LearnerGroup, Course, Requirement, Completion, Enrollment)
    )


def demo_seed(*, learners: int, seed: int, today: dt.date | None = None) -> DemoSeedResult:
    """Build the demo organisation into an empty database, all or nothing.

    Two transactions: first the groups, courses and requirements, so that the
    recompute each requirement service queues runs while nobody is in scope
    yet (cheap); then the people and their history. If the second fails, the
    first is undone. Callers run the recompute once afterwards.
    """
    now = timezone.now()
    today = today or timezone.localdate(now)
    if learners < MIN_LEARNERS:
        raise DemoError(f"the demo needs at least {MIN_LEARNERS} learners")
    if today > timezone.localdate(now):
        raise DemoError(f"today ({today}) is in the future: completions cannot be later than now")
    plan = demo_plan(learners=learners, seed=seed, today=today, now=now)
    with transaction.atomic():
        if not demo_database_is_empty():
            raise DemoError(
                "the database already holds learners, groups, courses or requirements; "
                "demo data is only added to an empty database, so that it never mixes with real data"
            )
        groups = _create_groups()
        courses = _create_courses()
        requirement_ids = _create_requirements(plan, groups, courses)
    try:
        with transaction.atomic():
            learner_ids = _create_learners(plan, groups, now)
            _create_completions(plan, learner_ids, courses, now)
            _create_enrollments(plan, learner_ids, courses)
    except BaseException:
        _undo_reference_data(requirement_ids, groups, courses)
        raise
    begun = sum(1 for e in plan.enrollments if e.started_at is not None)
    return DemoSeedResult(
        learners=len(plan.learners),
        inactive=sum(1 for p in plan.learners if not p.active),
        groups=len(groups),
        courses=len(courses),
        requirement_ids=requirement_ids,
        completions=len(plan.completions),
        enrollments_begun=begun,
        enrollments_not_begun=len(plan.enrollments) - begun,
    )


def _undo_reference_data(
    requirement_ids: list[int], groups: dict[str, LearnerGroup], courses: dict[str, Course]
) -> None:
    """Remove what the first transaction added; the audit log records the deletions."""
    with transaction.atomic():
        for requirement in Requirement.objects.filter(pk__in=requirement_ids):
            requirement_delete(actor=None, requirement=requirement)
        Course.objects.filter(pk__in=[c.pk for c in courses.values()]).delete()
        LearnerGroup.objects.filter(pk__in=[g.pk for g in groups.values()]).delete()


def _create_groups() -> dict[str, LearnerGroup]:
    groups = LearnerGroup.objects.bulk_create(
        [LearnerGroup(name=name, description=f"The {name} department.") for name, _ in DEPARTMENTS]
    )
    return {g.name: g for g in groups}


def _create_courses() -> dict[str, Course]:
    base = f"https://lms.{demo_domain()}/courses"
    courses = Course.objects.bulk_create(
        [Course(code=c.code, title=c.title, url=f"{base}/{c.code.lower()}/") for c in COURSES]
    )
    return {c.code: c for c in courses}


def _create_learners(plan: DemoPlan, groups: dict[str, LearnerGroup], now: dt.datetime) -> list[int]:
    """Learners and their memberships; returns the learners' ids in plan order."""
    _insert_many(
        Learner,
        ["email", "first_name", "last_name", "active", "manager_email", "created_at", "updated_at"],
        ((p.email, p.first_name, p.last_name, p.active, p.manager_email, now, now) for p in plan.learners),
    )
    id_by_email = dict(Learner.objects.values_list("email", "pk"))
    ids = [id_by_email[p.email] for p in plan.learners]
    _insert_many(
        Membership,
        ["learner", "group", "created_at"],
        ((ids[index], groups[name].pk, now) for index, p in enumerate(plan.learners) for name in p.groups),
    )
    return ids


def _create_completions(plan: DemoPlan, learner_ids: list[int], courses: dict[str, Course], now: dt.datetime) -> None:
    _insert_many(
        Completion,
        ["learner", "course", "completed_at", "completed_on", "source", "created_at"],
        (
            (learner_ids[c.learner], courses[c.course].pk, c.completed_at, org_date(c.completed_at), c.source, now)
            for c in plan.completions
        ),
    )


def _create_enrollments(plan: DemoPlan, learner_ids: list[int], courses: dict[str, Course]) -> None:
    _insert_many(
        Enrollment,
        ["learner", "course", "enrolled_at", "started_at", "progress", "source"],
        (
            (learner_ids[e.learner], courses[e.course].pk, e.enrolled_at, e.started_at, e.progress, e.source)
            for e in plan.enrollments
        ),
    )


def _insert_many(model: type[models.Model], field_names: list[str], rows: Iterable[tuple]) -> None:
    """INSERT plain rows in batches, one prepared statement per batch.

    Not ``bulk_create``: it prepares every value through the model fields,
    which costs most of a 20,000-learner seed (several hundred thousand
    rows). Here only dates and moments need adapting to the database; every
    other value is an id, a text, a number or a boolean.
    """
    fields = [model._meta.get_field(name) for name in field_names]
    adapters = [_db_adapter(f) for f in fields]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    rows = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(itertools.islice(rows, BATCH_SIZE)):
            cursor.executemany(
                sql, [[adapt(value) for adapt, value in zip(adapters, row, strict=True)] for row in batch]
            )


def _db_adapter(field: models.Field):
    if isinstance(field, models.DateTimeField):
        # Cached: every row of a batch shares the same created_at.
        return functools.lru_cache(maxsize=4096)(connection.ops.adapt_datetimefield_value)
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    return lambda value: value


def _create_requirements(plan: DemoPlan, groups: dict[str, LearnerGroup], courses: dict[str, Course]) -> list[int]:
    """Through the audited services, as the system; dated back to the history's start,
    with the swapped course's history row dated on the day of the swap."""
    ids = []
    for spec in REQUIREMENTS:
        requirement_type, _ = RequirementType.objects.get_or_create(name=spec.type_name)
        requirement = requirement_create(
            actor=None,
            type=requirement_type,
            name=spec.name,
            description=spec.description,
            valid_days=spec.valid_days,
            warning_days=spec.warning_days,
            course=courses[spec.swapped_from or spec.course_code],
            target_group=groups[spec.target_group] if spec.target_group else None,
        )
        Requirement.objects.filter(pk=requirement.pk).update(created_at=plan.requirements_created_at)
        requirement.created_at = plan.requirements_created_at
        if spec.swapped_from:
            requirement_update(actor=None, requirement=requirement, course=courses[spec.course_code])
            RequirementCourseHistory.objects.filter(requirement=requirement).update(
                swapped_out_at=plan.swapped_out_at[spec.name]
            )
        ids.append(requirement.pk)
    return ids
