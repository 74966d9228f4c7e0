"""Legacy bucket shims onto existing keys: replaced as the original did, never silently.

Each replaced file is named in a ReplacedFilesWarning; ``overwrite=False`` refuses instead; the
new API keeps refusing by default. On the three backends (file://, mem://, the S3 stand-in).
"""

from __future__ import annotations

import warnings

import pytest
from conftest_bucket import (  # noqa: F401  (fixtures)
    BINARY,
    Backend,
    backend_fixture,
    local_s3_fixture,
    make_tree,
)

from tracertools.errors import DestinationExistsError, InvalidInputError, ReplacedFilesWarning
from tracertools.legacy._bucket import (
    bucket_copy_folder,
    bucket_move_file,
    bucket_rename_file,
    bucket_upload_file,
    bucket_upload_folder,
)


def _named(record, backend: Backend, *keys: str) -> None:
    (warning,) = [w for w in record if issubclass(w.category, ReplacedFilesWarning)]
    message = str(warning.message)
    assert f"replacing {len(keys)} existing file(s)" in message
    for key in keys:
        assert backend.bucket.url_for(key) in message


def test_upload_file_replaces_an_existing_file_naming_it(backend: Backend, tmp_path):
    backend.seed("uploads/blob.bin", b"original")
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with pytest.warns(ReplacedFilesWarning) as record:
        bucket_upload_file(str(local), backend.bucket.url_for("uploads"))
    _named(record, backend, "uploads/blob.bin")
    assert backend.stored("uploads/blob.bin") == BINARY


def test_upload_file_onto_a_new_key_warns_nothing(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReplacedFilesWarning)
        bucket_upload_file(str(local), backend.bucket.url_for("uploads"))
    assert backend.stored("uploads/blob.bin") == BINARY


def test_upload_folder_replaces_and_names_each_existing_file(backend: Backend, tmp_path):
    backend.seed("vol/info", b"old")
    backend.seed("vol/keep.bin", b"untouched")
    local = make_tree(tmp_path / "vol", {"info": b"{}", "raw.bin": BINARY})
    with pytest.warns(ReplacedFilesWarning) as record:
        bucket_upload_folder(str(local), backend.bucket.url_for("vol"))
    _named(record, backend, "vol/info")
    assert backend.stored("vol/info") == b"{}" and backend.stored("vol/raw.bin") == BINARY
    assert backend.stored("vol/keep.bin") == b"untouched"


def test_move_file_replaces_the_destination_naming_it(backend: Backend):
    backend.seed("in/blob.bin", BINARY)
    backend.seed("out/blob.bin", b"old")
    with pytest.warns(ReplacedFilesWarning) as record:
        bucket_move_file(backend.bucket.url_for("in/blob.bin"), backend.bucket.url_for("out/"))
    _named(record, backend, "out/blob.bin")
    assert backend.keys() == ["out/blob.bin"] and backend.stored("out/blob.bin") == BINARY


def test_rename_file_replaces_the_destination_naming_it(backend: Backend):
    backend.seed("objs/old.obj", b"new content")
    backend.seed("objs/new.obj", b"old content")
    with pytest.warns(ReplacedFilesWarning) as record:
        bucket_rename_file(backend.bucket.url_for("objs/old.obj"), "new.obj")
    _named(record, backend, "objs/new.obj")
    assert backend.keys() == ["objs/new.obj"] and backend.stored("objs/new.obj") == b"new content"


def test_copy_folder_replaces_and_names_each_existing_file(backend: Backend):
    backend.seed("vol/info", b"{}")
    backend.seed("vol/mesh/1:0", b"[]")
    backend.seed("copy/info", b"stale")
    with pytest.warns(ReplacedFilesWarning) as record:
        bucket_copy_folder(backend.bucket.url_for("vol"), backend.bucket.url_for("copy"))
    _named(record, backend, "copy/info")
    assert backend.stored("copy/info") == b"{}" and backend.stored("copy/mesh/1:0") == b"[]"


@pytest.mark.parametrize("shim", ["move", "copy", "upload_folder"])
def test_overwrite_false_refuses_and_changes_nothing(backend: Backend, tmp_path, shim):
    backend.seed("in/blob.bin", BINARY)
    backend.seed("out/blob.bin", b"old")
    local = make_tree(tmp_path / "out", {"blob.bin": BINARY})
    url = backend.bucket.url_for
    calls = {
        "move": lambda: bucket_move_file(url("in/blob.bin"), url("out/"), overwrite=False),
        "copy": lambda: bucket_copy_folder(url("in"), url("out"), overwrite=False),
        "upload_folder": lambda: bucket_upload_folder(str(local), url("out"), overwrite=False),
    }
    before = {k: backend.stored(k) for k in backend.keys()}
    with pytest.raises(DestinationExistsError):
        calls[shim]()
    assert {k: backend.stored(k) for k in backend.keys()} == before


def test_rename_with_overwrite_false_refuses(backend: Backend):
    backend.seed("objs/old.obj", b"new content")
    backend.seed("objs/new.obj", b"old content")
    with pytest.raises(DestinationExistsError):
        bucket_rename_file(backend.bucket.url_for("objs/old.obj"), "new.obj", overwrite=False)
    assert backend.stored("objs/new.obj") == b"old content"


def test_a_bad_overwrite_value_is_refused_before_any_request(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with pytest.raises(InvalidInputError, match="overwrite"):
        bucket_upload_file(str(local), backend.bucket.url_for("uploads"), overwrite="yes")
    assert backend.keys() == []


def test_the_new_api_still_refuses_by_default(backend: Backend, tmp_path):
    backend.seed("uploads/blob.bin", b"original")
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with pytest.raises(DestinationExistsError):
        backend.bucket.upload(str(local), "uploads/")
    assert backend.stored("uploads/blob.bin") == b"original"


def test_the_new_api_can_replace_with_a_warning(backend: Backend, tmp_path):
    backend.seed("uploads/blob.bin", b"original")
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with pytest.warns(ReplacedFilesWarning) as record:
        backend.bucket.upload(str(local), "uploads/", overwrite="warn")
    _named(record, backend, "uploads/blob.bin")
