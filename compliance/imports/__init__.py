"""Bulk import of learners, courses, enrollments and completions from CSV files
(interfaces.md, "CSV import formats").

``csvfile`` reads a file, ``cells`` checks its cells, ``lookups`` fetches what
the rows refer to, one module per kind plans and writes, and ``service`` runs
it all in one transaction.
"""

from compliance.imports.errors import ImportRejected
from compliance.imports.result import ImportResult
from compliance.imports.service import KINDS, run_import

__all__ = ["KINDS", "ImportRejected", "ImportResult", "run_import"]
