from django.db import migrations

TYPES = [
    ("Health & Safety", "red"),
    ("Legal & Financial", "amber"),
    ("Data & Privacy", "blue"),
    ("Information Security", "purple"),
    ("HR & Conduct", "teal"),
    ("Industry Regulation", "grey"),
]
ROLE_GROUPS = ["Compliance Admins", "Auditors"]


def seed(apps, schema_editor):
    RequirementType = apps.get_model("compliance", "RequirementType")
    Group = apps.get_model("auth", "Group")
    for position, (name, colour) in enumerate(TYPES):
        RequirementType.objects.get_or_create(name=name, defaults={"colour": colour, "position": position})
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


def unseed(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(seed, unseed)]
