"""The portal's sidebar and the requirement page's tabs, defined once here and
rendered by a loop in the templates, filtered by the user's role."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from compliance.models import Requirement


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    key: str = ""
    #: Links into Django admin, which only staff accounts can open.
    staff_only: bool = False


@dataclass(frozen=True)
class NavSection:
    label: str
    items: list[NavItem]


def sidebar_sections() -> list[NavSection]:
    return [
        NavSection(
            "Learning",
            [
                NavItem("Compliance", reverse("requirement_list"), key="compliance"),
                NavItem("Audit log", reverse("audit_log"), key="audit_log"),
                NavItem("Notifications", reverse("notification_log"), key="notifications"),
                NavItem("Courses", reverse("admin:compliance_course_changelist"), staff_only=True),
            ],
        ),
        NavSection(
            "People",
            [
                NavItem("Learners", reverse("admin:compliance_learner_changelist"), staff_only=True),
                NavItem("Groups", reverse("admin:compliance_learnergroup_changelist"), staff_only=True),
            ],
        ),
    ]


def sidebar_for(user) -> list[NavSection]:
    """The sidebar sections with only the links this user can open."""
    sections = []
    for section in sidebar_sections():
        items = [item for item in section.items if user.is_staff or not item.staff_only]
        if items:
            sections.append(NavSection(section.label, items))
    return sections


REQUIREMENT_TABS = (
    ("overview", "Overview", "requirement_overview"),
    ("report", "Report", "requirement_report"),
    ("audit", "Audit log", "requirement_audit_log"),
    ("notifications", "Notifications", "requirement_notification_log"),
    ("settings", "Settings", "requirement_settings"),
)


def requirement_tabs(requirement: Requirement) -> list[NavItem]:
    return [
        NavItem(label, reverse(url_name, args=[requirement.pk]), key=key) for key, label, url_name in REQUIREMENT_TABS
    ]
