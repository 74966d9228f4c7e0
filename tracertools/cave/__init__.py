"""The one seam to CAVE through caveclient: batched, chunked, retried service calls.

Lives here: the request primitives (``calls``: freshness, roots, leaves, L2 data, per-item
failure isolation), HTTP timeouts for the client's sessions (``http``), the session's request budget
(``ratelimit``), complete table reads
(``tables``), current IDs (``lineage``; the level-2 overlap that decides them, ``overlap``), change-log fetching and the history
computations over it (``history_fetch``, ``history_compute``), ID classing by layer and the
resolution of supervoxel IDs to segments (``resolve``), access errors, token lookup and the
``doctor`` checks (``access``), and the protocol by which this layer names a datastack session
(``session``).

May import: `tracertools.config`, [`tracertools.ids`][tracertools.ids], [`tracertools.batch`][tracertools.batch],
[`tracertools.errors`][tracertools.errors], numpy/pandas and (inside functions) caveclient. Never a handle or the
[`Datastack`][tracertools.datastack.Datastack] class itself.
"""
