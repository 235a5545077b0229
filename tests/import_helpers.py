"""Shared helpers of the import tests."""

import io

import pytest

from compliance.imports import ImportRejected, run_import


def import_csv(kind: str, text: str | bytes, **kwargs):
    """Run an import of ``text`` (a CSV file's content) as if read from a file."""
    data = text if isinstance(text, bytes) else text.encode()
    return run_import(kind=kind, path_or_file=io.BytesIO(data), **kwargs)


def problems_of(kind: str, text: str | bytes) -> list[str]:
    """The ``line N: reason`` lines of an import that must be refused."""
    with pytest.raises(ImportRejected) as excinfo:
        import_csv(kind, text)
    return excinfo.value.problems
