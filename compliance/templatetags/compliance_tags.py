from django import template

register = template.Library()


@register.filter
def get_count(counts, status) -> int:
    """``counts[status]`` for a ``StatusCounts``: templates cannot index by a variable."""
    return counts[status]
