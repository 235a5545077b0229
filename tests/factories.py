"""factory_boy factories for the compliance model."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from compliance.dates import org_date, org_day_start
from compliance.models import (
    Completion,
    Course,
    Enrollment,
    EnrollmentSource,
    Learner,
    LearnerGroup,
    Membership,
    Requirement,
    RequirementType,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class LearnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Learner

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"learner{n}@example.com")
    active = True


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearnerGroup

    name = factory.Sequence(lambda n: f"Group {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    learner = factory.SubFactory(LearnerFactory)
    group = factory.SubFactory(GroupFactory)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    code = factory.Sequence(lambda n: f"C-{n:03d}")
    title = factory.LazyAttribute(lambda c: f"Course {c.code}")


class RequirementTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RequirementType
        django_get_or_create = ("name",)

    name = "Data & Privacy"


class RequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Requirement

    type = factory.SubFactory(RequirementTypeFactory)
    name = factory.Sequence(lambda n: f"Requirement {n}")
    valid_days = 365
    warning_days = 30
    course = factory.SubFactory(CourseFactory)
    target_group = None


class CompletionFactory(factory.django.DjangoModelFactory):
    """Pass ``day`` (a date: 00:00 that org day) or ``completed_at``; ``completed_on`` follows."""

    class Meta:
        model = Completion
        exclude = ("day",)

    learner = factory.SubFactory(LearnerFactory)
    course = factory.SubFactory(CourseFactory)
    day = dt.date(2026, 1, 10)
    completed_at = factory.LazyAttribute(lambda c: org_day_start(c.day))
    completed_on = factory.LazyAttribute(lambda c: org_date(c.completed_at))
    source = EnrollmentSource.IMPORT


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    learner = factory.SubFactory(LearnerFactory)
    course = factory.SubFactory(CourseFactory)
    source = EnrollmentSource.IMPORT
