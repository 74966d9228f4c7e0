"""Storage backends: buckets through cloud-files and Google Sheets through gspread.

Lives here: [`Bucket`][tracertools.storage.bucket.Bucket] with its path rules (``bucket_paths``),
safe transfers (``bucket_transfer``) and no-loss guards (``bucket_guards``: same-object moves,
name collisions, atomic creates); [`Sheet`][tracertools.storage.sheet.Sheet] /
[`Tab`][tracertools.storage.sheet.Tab] with credentials (``sheet_auth``), single calls with
retries and typed errors (``sheet_calls``), cell conversion (``sheet_fill``), the resumable
segment-details fill (``sheet_details``) and the in-place update of an ID column
(``sheet_ids``).

This is the only package that builds CloudFiles (``bucket.cloudfiles_for``) or touches gspread.

May import: `tracertools.config`, [`tracertools.ids`][tracertools.ids], [`tracertools.batch`][tracertools.batch],
[`tracertools.errors`][tracertools.errors]. It names a datastack only through a small protocol
(``sheet_details.DetailsSession``).
"""

from __future__ import annotations

from tracertools.storage.bucket import Bucket
from tracertools.storage.sheet import Sheet, Tab

__all__ = ["Bucket", "Sheet", "Tab"]
