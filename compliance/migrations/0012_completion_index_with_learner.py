"""The completions' (course, day) index carries the learner, so that the
Overview's monthly counts (completions of a course in a year, less those of
inactive learners) read the index alone on PostgreSQL (SQLite ignores
INCLUDE). Built before the old one is dropped."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0011_state_lazy_entries_composite_key"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="completion",
            index=models.Index(
                fields=["course", "completed_on"], include=("learner",), name="completion_course_day_idx2"
            ),
        ),
        migrations.RemoveIndex(model_name="completion", name="completion_course_day_idx"),
    ]
