"""``manage.py bench`` (``make bench``): the enterprise-scale benchmark of issue 5.

``database`` creates and drops the benchmark's own PostgreSQL database, ``org``
builds the synthetic organisation, ``measure`` times what the issue lists and
``targets`` judges the figures. ``docs/performance.md`` explains the figures.
"""
