"""Learners, groups and memberships: who is in which requirement's scope."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Prefetch, Q

from compliance.admin.auditing import AuditedAdmin, StatePair
from compliance.admin.forms import LearnerAdminForm, LearnerGroupAdminForm
from compliance.learners import learners_set_active
from compliance.models import Learner, LearnerGroup, Membership, Requirement


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["group", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["group"]
    extra = 1


@admin.register(Learner)
class LearnerAdmin(AuditedAdmin):
    form = LearnerAdminForm
    list_display = ["email", "first_name", "last_name", "active", "group_names"]
    list_filter = ["active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline]
    actions = ["deactivate_selected", "activate_selected"]
    audit_prefetch = ("groups",)
    # With 100k learners a second COUNT(*) of the whole table buys nothing.
    show_full_result_count = False

    def get_queryset(self, request):
        # ``to_attr`` keeps ``learner.groups.all()`` uncached, so the audit reads
        # the groups as they are after the inlines are saved.
        return super().get_queryset(request).prefetch_related(Prefetch("groups", to_attr="group_list"))

    @admin.display(description="groups")
    def group_names(self, learner: Learner) -> str:
        return ", ".join(group.name for group in learner.group_list)

    def audit_state(self, obj: Learner) -> dict:
        return {**super().audit_state(obj), "groups": sorted(group.name for group in obj.groups.all())}

    def requirements_to_recompute(self, states: list[StatePair]) -> set[int]:
        """Every requirement when a learner enters or leaves, or their active
        flag or groups change: requirements are few, learners many."""
        scope_changed = any(
            before is None
            or after is None
            or before["active"] != after["active"]
            or before["groups"] != after["groups"]
            for before, after in states
        )
        return set(Requirement.objects.values_list("pk", flat=True)) if scope_changed else set()

    @admin.action(description="Deactivate selected learners", permissions=["change"])
    def deactivate_selected(self, request, queryset):
        changed = learners_set_active(actor=request.user, learners=queryset, active=False)
        self.message_user(request, f"Deactivated {changed} learner(s).")

    @admin.action(description="Activate selected learners", permissions=["change"])
    def activate_selected(self, request, queryset):
        changed = learners_set_active(actor=request.user, learners=queryset, active=True)
        self.message_user(request, f"Activated {changed} learner(s).")


@admin.register(LearnerGroup)
class LearnerGroupAdmin(AuditedAdmin):
    """No membership inline here: a group may have thousands of members; edit
    memberships on the learner or under Memberships."""

    form = LearnerGroupAdminForm
    list_display = ["name", "member_count", "active_member_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("memberships"),
                active_member_count=Count("memberships", filter=Q(memberships__learner__active=True)),
            )
        )

    @admin.display(description="members", ordering="member_count")
    def member_count(self, group: LearnerGroup) -> int:
        return group.member_count

    @admin.display(description="active members", ordering="active_member_count")
    def active_member_count(self, group: LearnerGroup) -> int:
        return group.active_member_count

    def requirements_to_recompute(self, states: list[StatePair]) -> set[int]:
        # Renaming changes no status; a group that a requirement targets cannot
        # be deleted (PROTECT), so deleting one changes no scope either.
        return set()


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["learner", "group", "created_at"]
    list_filter = ["group"]
    search_fields = ["learner__email", "learner__first_name", "learner__last_name", "group__name"]
    autocomplete_fields = ["learner", "group"]
    list_select_related = ["learner", "group"]
    readonly_fields = ["created_at"]
    show_full_result_count = False

    def requirements_to_recompute(self, states: list[StatePair]) -> set[int]:
        group_ids = {state["group"] for pair in states for state in pair if state is not None}
        return set(Requirement.objects.filter(target_group_id__in=group_ids).values_list("pk", flat=True))
