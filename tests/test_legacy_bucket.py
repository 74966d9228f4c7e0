"""Legacy bucket_* shims: original names, arguments and None returns, on the three backends."""

from __future__ import annotations

import gzip
import inspect
import io
import re
from collections.abc import Callable

import pytest
from conftest_bucket import (  # noqa: F401  (fixtures)
    BINARY,
    GZIPPED,
    Backend,
    backend_fixture,
    local_s3_fixture,
    make_tree,
    read_tree,
)

from tracertools.errors import UnsafePathError
from tracertools.legacy._bucket import (
    bucket_copy_folder,
    bucket_delete_file,
    bucket_delete_folder,
    bucket_download_file,
    bucket_download_folder,
    bucket_move_file,
    bucket_rename_file,
    bucket_upload_file,
    bucket_upload_folder,
)
from tracertools.storage.bucket import Bucket, DestinationExistsError

STAMP = r"\d{4}_\d{2}_\d{2}_\d{6}"


def returned(shim: Callable[..., object], *args: object) -> object:
    """What a shim returns (the originals all returned None)."""
    return shim(*args)


SIGNATURES = {
    bucket_copy_folder: ["source_path", "destination_path", "overwrite=True"],
    bucket_delete_file: ["file_path"],
    bucket_delete_folder: ["folder_path"],
    bucket_download_file: ["bucket_path", "download_path=None"],
    bucket_download_folder: ["bucket_path", "download_path=None"],
    bucket_move_file: ["file_path", "new_folder_path", "overwrite=True"],
    bucket_rename_file: ["file_path", "new_name", "overwrite=True"],
    bucket_upload_file: ["local_path", "bucket_path", "overwrite=True"],
    bucket_upload_folder: ["local_path", "bucket_path", "overwrite=True"],
}


@pytest.mark.parametrize("shim", list(SIGNATURES), ids=lambda f: f.__name__)
def test_shim_keeps_the_original_arguments(shim):
    params = [
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in inspect.signature(shim).parameters.values()
    ]
    assert params == SIGNATURES[shim]


@pytest.mark.parametrize("shim", list(SIGNATURES), ids=lambda f: f.__name__)
def test_shim_docstring_is_one_line_pointing_at_the_new_method(shim):
    doc = shim.__doc__ or ""
    assert "\n" not in doc.strip() and "Bucket." in doc


def test_upload_file_puts_the_file_in_the_folder(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    assert returned(bucket_upload_file, str(local), backend.bucket.url_for("uploads")) is None
    assert backend.stored("uploads/blob.bin") == BINARY


def test_upload_file_with_overwrite_false_does_not_replace_an_existing_file(backend: Backend,
                                                                            tmp_path):
    backend.seed("uploads/blob.bin", b"original")
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with pytest.raises(DestinationExistsError):
        bucket_upload_file(str(local), backend.bucket.url_for("uploads"), overwrite=False)
    assert backend.stored("uploads/blob.bin") == b"original"


def test_upload_folder_then_download_folder_round_trip(backend: Backend, tmp_path):
    tree = {"info": b"{}", "mesh/1:0:1.gz": GZIPPED, "raw.bin": BINARY}
    local = make_tree(tmp_path / "image", tree)
    assert (
        returned(bucket_upload_folder, str(local), backend.bucket.url_for("volumes/image2")) is None
    )
    downloads = tmp_path / "downloads"
    assert (
        returned(bucket_download_folder, backend.bucket.url_for("volumes/image2"), str(downloads))
        is None
    )
    (folder,) = downloads.iterdir()
    assert re.fullmatch(rf"image2_{STAMP}", folder.name)
    # the fragment went up gzip-encoded as mesh/1:0:1 and comes back decoded, as the original
    assert read_tree(folder) == {"info": b"{}", "mesh/1:0:1": gzip.decompress(GZIPPED),
                                 "raw.bin": BINARY}


def test_download_folder_decodes_gzip_encoded_objects_under_their_plain_names(
    backend: Backend, tmp_path
):
    backend.seed("vol/mesh/1:0:1", GZIPPED, gzip_encoded=True)
    backend.seed("vol/mesh/1:0", b'{"fragments": ["1:0:1"]}')
    bucket_download_folder(backend.bucket.url_for("vol"), str(tmp_path / "dl"))
    (folder,) = (tmp_path / "dl").iterdir()
    assert read_tree(folder) == {"mesh/1:0": b'{"fragments": ["1:0:1"]}',
                                 "mesh/1:0:1": gzip.decompress(GZIPPED)}


def test_download_file_decodes_a_gzip_encoded_object(backend: Backend, tmp_path):
    backend.seed("vol/mesh/1:0:1", GZIPPED, gzip_encoded=True)
    bucket_download_file(backend.bucket.url_for("vol/mesh/1:0:1"), str(tmp_path / "dl"))
    (path,) = (tmp_path / "dl").iterdir()
    assert re.fullmatch(rf"1:0:1_{STAMP}", path.name)
    assert path.read_bytes() == gzip.decompress(GZIPPED)


def test_download_file_stamps_before_the_extension_and_returns_none(backend: Backend, tmp_path):
    backend.seed("objs/mesh.obj", b"v 1 2 3\r\n")
    downloads = tmp_path / "not" / "yet" / "there"
    assert (
        returned(bucket_download_file, backend.bucket.url_for("objs/mesh.obj"), str(downloads))
        is None
    )
    (path,) = downloads.iterdir()
    assert re.fullmatch(rf"mesh_{STAMP}\.obj", path.name)
    assert path.read_bytes() == b"v 1 2 3\r\n"


def test_download_file_defaults_to_the_downloads_folder(backend: Backend, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "home"))
    backend.seed("objs/mesh.obj", b"v")
    bucket_download_file(backend.bucket.url_for("objs/mesh.obj"))
    (path,) = (tmp_path / "home" / "Downloads").iterdir()
    assert path.read_bytes() == b"v"


def test_move_file_moves_into_the_folder(backend: Backend):
    backend.seed("in/blob.bin", BINARY)
    assert (
        returned(
            bucket_move_file, backend.bucket.url_for("in/blob.bin"), backend.bucket.url_for("out/")
        )
        is None
    )
    assert backend.keys() == ["out/blob.bin"] and backend.stored("out/blob.bin") == BINARY


def test_rename_file_renames_in_place(backend: Backend):
    backend.seed("objs/old.obj", b"v")
    assert returned(bucket_rename_file, backend.bucket.url_for("objs/old.obj"), "new.obj") is None
    assert backend.keys() == ["objs/new.obj"]


def test_rename_file_to_its_own_name_changes_nothing(backend: Backend):
    backend.seed("objs/old.obj", b"v")
    bucket_rename_file(backend.bucket.url_for("objs/old.obj"), "old.obj")
    assert backend.keys() == ["objs/old.obj"] and backend.stored("objs/old.obj") == b"v"


def test_copy_folder_copies_the_contents(backend: Backend):
    backend.seed("vol/info", b"{}")
    backend.seed("vol/mesh/1:0", b"[]")
    assert (
        returned(bucket_copy_folder, backend.bucket.url_for("vol"), backend.bucket.url_for("copy"))
        is None
    )
    assert backend.keys() == ["copy/info", "copy/mesh/1:0", "vol/info", "vol/mesh/1:0"]


def test_delete_file_deletes_and_ignores_a_missing_file(backend: Backend):
    backend.seed("a.bin", b"a")
    bucket_delete_file(backend.bucket.url_for("a.bin"))
    bucket_delete_file(backend.bucket.url_for("never-there.bin"))
    assert backend.keys() == []


@pytest.mark.parametrize("reply", ["delete\n", "DELETE\n", "  Delete \n"])
def test_delete_folder_deletes_after_the_typed_word(backend: Backend, monkeypatch, capsys, reply):
    for key in ["data/a", "data/sub/b", "keep"]:
        backend.seed(key, b"x")
    monkeypatch.setattr("sys.stdin", io.StringIO(reply))
    assert returned(bucket_delete_folder, backend.bucket.url_for("data")) is None
    prompt = capsys.readouterr().out
    assert backend.bucket.url_for("data") in prompt and "2 file(s)" in prompt
    assert backend.keys() == ["keep"]


@pytest.mark.parametrize("reply", ["\n", "no\n", "yes\n", "deleted\n"])
def test_delete_folder_deletes_nothing_without_the_word(backend: Backend, monkeypatch, reply):
    backend.seed("data/a", b"x")
    monkeypatch.setattr("sys.stdin", io.StringIO(reply))
    bucket_delete_folder(backend.bucket.url_for("data"))
    assert backend.keys() == ["data/a"]


def test_delete_folder_refuses_a_bucket_root_before_asking(backend: Backend, monkeypatch):
    backend.seed("data/a", b"x")
    stdin = io.StringIO("delete\n")
    monkeypatch.setattr("sys.stdin", stdin)
    root, _key = Bucket.split(backend.bucket.url)
    with pytest.raises(UnsafePathError):
        bucket_delete_folder(root.url + "/")
    assert stdin.tell() == 0
    assert backend.keys() == ["data/a"]
