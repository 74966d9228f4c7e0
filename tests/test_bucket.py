"""Bucket: the same specification on file://, mem:// and S3 (moto on loopback via an alias).

Each no-loss rule has a test that tries to break it and then checks, through the storage's own
side door, that nothing was lost.
"""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from conftest_bucket import (  # noqa: F401  (fixtures)
    BINARY,
    GZIPPED,
    S3_BUCKET,
    Backend,
    backend_fixture,
    dangling_link,
    local_s3_fixture,
    make_tree,
    read_tree,
)

from tracertools.errors import (
    BatchError,
    ConfirmationRequiredError,
    InvalidInputError,
    PartialResultWarning,
    UnsafePathError,
)
from tracertools.storage.bucket import (
    Bucket,
    DestinationExistsError,
    SourceNotFoundError,
    convert_colons,
    forbids_colons,
)
from tracertools.testing.s3 import LocalS3

STAMP = r"\d{4}_\d{2}_\d{2}_\d{6}"

# A cloudvolume-style legacy mesh volume: colon names and a gzip-compressed fragment.
VOLUME = {
    "info": b'{"@type": "neuroglancer_legacy_mesh"}',
    "mesh/1:0": b'{"fragments": ["1:0:1"]}',
    "mesh/1:0:1.gz": GZIPPED,
    "raw/blob.bin": BINARY,
}


# ---------------------------------------------------------------------------------------------
# URLs and the handle (no I/O)
# ---------------------------------------------------------------------------------------------


def test_constructor_does_no_io_and_imports_no_cloudfiles():
    code = (
        "import sys\n"
        "from tracertools.storage.bucket import Bucket\n"
        "b = Bucket('gs://no-such-bucket-anywhere/some/folder')\n"
        "print(b.url, 'cloudfiles' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["gs://no-such-bucket-anywhere/some/folder", "False"]


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("gs://bucket/folder/", "gs://bucket/folder"),
        ("GS://bucket//a/./b", "gs://bucket/a/b"),
        ("s3://https://s3.example.org/bucket/x/", "s3://https://s3.example.org/bucket/x"),
        ("nokura://lab-bucket/vol", "nokura://lab-bucket/vol"),
        ("https://host.example.org/data/", "https://host.example.org/data"),
        ("mem://scratch", "mem://scratch"),
        ("file:///tmp/some/../folder", "file:///tmp/folder"),
        ("file:////tmp//folder/", "file:///tmp/folder"),
    ],
)
def test_url_is_validated_and_normalized(given, normalized):
    assert Bucket(given).url == normalized


def test_path_object_is_a_local_folder(tmp_path):
    assert Bucket(tmp_path).url == f"file://{tmp_path}"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "bucket/without/scheme",
        "ftp://host/x",
        "precomputed://gs://bucket/vol",
        "gs://",
        "gs://bucket/../other",
        "gs://bucket/x?token=abc",
        "https://user:secret@host/x",
        "s3://https://user:secret@host/bucket",
        42,
    ],
)
def test_bad_urls_are_refused(url):
    with pytest.raises(InvalidInputError):
        Bucket(url)


def test_refused_url_message_hides_credentials():
    with pytest.raises(InvalidInputError) as caught:
        Bucket("https://user:hunter2@host/x?token=hunter3")
    assert "hunter2" not in str(caught.value) and "hunter3" not in str(caught.value)


def test_repr_equality_and_hash_use_the_url():
    bucket = Bucket("gs://bucket/folder/")
    assert repr(bucket) == "Bucket('gs://bucket/folder')"
    assert bucket == Bucket("gs://bucket/folder") and bucket != Bucket("gs://bucket")
    assert len({bucket, Bucket("gs://bucket/folder")}) == 1


def test_split_gives_the_bucket_root_and_key():
    assert Bucket.split("gs://b/vol/mesh/1:0") == (Bucket("gs://b"), "vol/mesh/1:0")
    assert Bucket.split("s3://http://127.0.0.1:9000/b/k") == (
        Bucket("s3://http://127.0.0.1:9000/b"),
        "k",
    )
    assert Bucket.split("https://host/a/b") == (Bucket("https://host"), "a/b")
    assert Bucket.split("file:///tmp/x/y") == (Bucket("file:///"), "tmp/x/y")


def test_url_for_joins_keys():
    assert Bucket("gs://b/vol").url_for("mesh/1:0") == "gs://b/vol/mesh/1:0"
    assert Bucket("file:///").url_for("tmp/x") == "file:///tmp/x"


def test_keys_cannot_escape_the_handle():
    with pytest.raises(UnsafePathError):
        Bucket("mem://b/vol").read("../secret")


def test_unknown_alias_is_refused():
    with pytest.raises(InvalidInputError, match="unknown bucket scheme"):
        Bucket("nosuchalias://bucket")


def test_user_config_alias_is_registered_on_first_use(local_s3, tmp_path, monkeypatch):
    config = tmp_path / "datastacks.toml"
    config.write_text(f'[aliases]\nttlab = "s3://{local_s3.endpoint}/"\n', encoding="utf-8")
    monkeypatch.setenv("TRACERTOOLS_CONFIG", str(config))
    bucket = Bucket(f"ttlab://{S3_BUCKET}/alias-test")
    bucket.write("hello.bin", BINARY)
    body = local_s3.client().get_object(Bucket=S3_BUCKET, Key="alias-test/hello.bin")["Body"]
    assert body.read() == BINARY


# ---------------------------------------------------------------------------------------------
# Reading and writing bytes
# ---------------------------------------------------------------------------------------------


def test_write_then_read_keeps_binary_bytes(backend: Backend):
    backend.bucket.write("raw/blob.bin", BINARY)
    assert backend.bucket.read("raw/blob.bin") == BINARY
    assert backend.stored("raw/blob.bin") == BINARY


def test_write_refuses_an_existing_file(backend: Backend):
    backend.seed("a.bin", b"original")
    with pytest.raises(DestinationExistsError):
        backend.bucket.write("a.bin", b"replacement")
    assert backend.stored("a.bin") == b"original"


def test_write_with_overwrite_replaces(backend: Backend):
    backend.seed("a.bin", b"original")
    backend.bucket.write("a.bin", b"replacement", overwrite=True)
    assert backend.stored("a.bin") == b"replacement"


def test_write_refuses_text(backend: Backend):
    with pytest.raises(InvalidInputError, match="bytes"):
        backend.bucket.write("a.txt", "text")  # type: ignore[arg-type]


def test_read_of_a_missing_file_raises_not_found(backend: Backend):
    with pytest.raises(SourceNotFoundError):
        backend.bucket.read("missing.bin")
    assert issubclass(SourceNotFoundError, FileNotFoundError)


def test_exists(backend: Backend):
    backend.seed("here.bin", b"x")
    assert backend.bucket.exists("here.bin") is True
    assert backend.bucket.exists("gone.bin") is False


def test_list_is_bounded_by_the_folder(backend: Backend):
    for key in ["mesh/a", "mesh/sub/c", "mesh2/b", "top"]:
        backend.seed(key, b"x")
    assert backend.bucket.list("mesh") == ["mesh/a", "mesh/sub/c"]
    assert backend.bucket.list("mesh", recursive=False) == ["mesh/a", "mesh/sub/"]
    assert backend.bucket.list() == ["mesh/a", "mesh/sub/c", "mesh2/b", "top"]
    assert backend.bucket.list("nothing-here") == []


# ---------------------------------------------------------------------------------------------
# Uploads
# ---------------------------------------------------------------------------------------------


def test_upload_keeps_name_and_bytes(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    assert backend.bucket.upload(local) == "blob.bin"
    assert backend.stored("blob.bin") == BINARY


def test_upload_into_a_folder_path_keeps_the_file_name(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "local", {"mesh.obj": b"v 1 2 3\r\n"}) / "mesh.obj"
    assert backend.bucket.upload(local, "objs/") == "objs/mesh.obj"
    assert backend.bucket.upload(local, "objs/renamed.obj") == "objs/renamed.obj"
    assert backend.stored("objs/mesh.obj") == backend.stored("objs/renamed.obj") == b"v 1 2 3\r\n"


def test_upload_refuses_an_existing_file(backend: Backend, tmp_path):
    backend.seed("blob.bin", b"original")
    local = make_tree(tmp_path / "local", {"blob.bin": BINARY}) / "blob.bin"
    with pytest.raises(DestinationExistsError):
        backend.bucket.upload(local)
    assert backend.stored("blob.bin") == b"original"


def test_upload_of_a_missing_local_file_raises_not_found(backend: Backend, tmp_path):
    with pytest.raises(SourceNotFoundError):
        backend.bucket.upload(tmp_path / "nope.bin")
    assert backend.keys() == []


def test_folder_round_trip_keeps_every_name_and_byte(backend: Backend, tmp_path):
    source = make_tree(tmp_path / "vol", VOLUME)
    uploaded = backend.bucket.upload_folder(source, "vol")
    assert uploaded == ["vol/info", "vol/mesh/1:0", "vol/mesh/1:0:1", "vol/raw/blob.bin"]
    back = backend.bucket.download_folder("vol", tmp_path / "downloads")
    assert read_tree(back) == VOLUME


def test_folder_upload_stores_gz_files_gzip_encoded_for_neuroglancer(backend: Backend, tmp_path):
    backend.bucket.upload_folder(make_tree(tmp_path / "vol", VOLUME), "vol")
    assert backend.encoding("vol/mesh/1:0:1") == "gzip"
    assert backend.encoding("vol/mesh/1:0") is None
    assert backend.bucket.read("vol/mesh/1:0:1") == GZIPPED  # stored bytes, not decompressed


def test_folder_upload_refuses_if_any_destination_exists_and_writes_nothing(
    backend: Backend, tmp_path
):
    backend.seed("vol/info", b"original")
    with pytest.raises(DestinationExistsError, match="vol/info"):
        backend.bucket.upload_folder(make_tree(tmp_path / "vol", VOLUME), "vol")
    assert backend.keys() == ["vol/info"] and backend.stored("vol/info") == b"original"


def test_large_folder_upload_finds_a_conflict_with_one_listing(backend: Backend, tmp_path):
    files = {f"part/{i:03d}.bin": bytes([i]) * 3 for i in range(80)}
    backend.seed("vol/part/042.bin", b"original")
    with pytest.raises(DestinationExistsError, match="042"):
        backend.bucket.upload_folder(make_tree(tmp_path / "vol", files), "vol", progress=False)
    assert backend.keys() == ["vol/part/042.bin"]
    uploaded = backend.bucket.upload_folder(tmp_path / "vol", "vol2", progress=False)
    assert len(uploaded) == 80 and backend.stored("vol2/part/079.bin") == bytes([79]) * 3


def test_folder_upload_reports_a_vanished_file_as_failed(backend: Backend, tmp_path):
    source = make_tree(tmp_path / "vol", {"a.bin": b"a", "z.bin": b"z"})
    dangling_link(source / "m" / "gone.bin")
    with pytest.raises(BatchError, match="m/gone.bin") as caught:
        backend.bucket.upload_folder(source, "vol")
    assert isinstance(caught.value.__cause__, SourceNotFoundError)
    assert backend.stored("vol/m/gone.bin") is None


def test_folder_upload_under_warn_names_the_failure_and_uploads_the_rest(
    backend: Backend, tmp_path
):
    source = make_tree(tmp_path / "vol", {"a.bin": b"a", "z.bin": b"z"})
    dangling_link(source / "m" / "gone.bin")
    with pytest.warns(PartialResultWarning, match="m/gone.bin"):
        uploaded = backend.bucket.upload_folder(source, "vol", errors="warn")
    assert uploaded == ["vol/a.bin", "vol/z.bin"]
    assert backend.stored("vol/a.bin") == b"a" and backend.stored("vol/z.bin") == b"z"
    assert backend.stored("vol/m/gone.bin") is None


# ---------------------------------------------------------------------------------------------
# Downloads never overwrite
# ---------------------------------------------------------------------------------------------


def test_download_puts_the_timestamp_before_the_extension(backend: Backend, tmp_path):
    backend.seed("objs/mesh.obj", b"v 1 2 3\r\n")
    path = backend.bucket.download("objs/mesh.obj", tmp_path / "new" / "folder")
    assert re.fullmatch(rf"mesh_{STAMP}\.obj", path.name)
    assert path.parent == tmp_path / "new" / "folder"  # created
    assert path.read_bytes() == b"v 1 2 3\r\n"


def test_download_twice_gives_two_files_and_overwrites_nothing(backend: Backend, tmp_path):
    backend.seed("raw/blob.bin", BINARY)
    downloads = make_tree(tmp_path / "downloads", {"blob.bin": b"mine"})
    first = backend.bucket.download("raw/blob.bin", downloads)
    second = backend.bucket.download("raw/blob.bin", downloads)
    assert first != second
    assert first.read_bytes() == second.read_bytes() == BINARY
    assert (downloads / "blob.bin").read_bytes() == b"mine"
    assert len(list(downloads.iterdir())) == 3


def test_download_with_overwrite_writes_the_plain_name(backend: Backend, tmp_path):
    backend.seed("raw/blob.bin", BINARY)
    downloads = make_tree(tmp_path / "downloads", {"blob.bin": b"old"})
    path = backend.bucket.download("raw/blob.bin", downloads, overwrite=True)
    assert path == downloads / "blob.bin" and path.read_bytes() == BINARY
    assert [p.name for p in downloads.iterdir()] == ["blob.bin"]


def test_download_of_an_encoded_object_keeps_stored_bytes_and_adds_the_suffix(
    backend: Backend, tmp_path
):
    backend.seed("mesh/1:0:1", GZIPPED, gzip_encoded=True)
    path = backend.bucket.download("mesh/1:0:1", tmp_path)
    assert re.fullmatch(rf"1:0:1_{STAMP}\.gz", path.name)
    assert path.read_bytes() == GZIPPED


def test_download_of_a_missing_file_raises_not_found_and_writes_nothing(backend: Backend, tmp_path):
    with pytest.raises(SourceNotFoundError):
        backend.bucket.download("missing.bin", tmp_path / "downloads")
    assert not (tmp_path / "downloads").exists() or list((tmp_path / "downloads").iterdir()) == []


def test_download_folder_twice_gives_two_folders(backend: Backend, tmp_path):
    for key, data in VOLUME.items():
        backend.seed(f"vol/{key}", data)
    first = backend.bucket.download_folder("vol", tmp_path)
    second = backend.bucket.download_folder("vol", tmp_path)
    assert first != second and re.fullmatch(rf"vol_{STAMP}(_2)?", second.name)
    assert read_tree(first) == read_tree(second) == VOLUME


def test_download_folder_of_an_empty_folder_raises_not_found(backend: Backend, tmp_path):
    with pytest.raises(SourceNotFoundError):
        backend.bucket.download_folder("nothing", tmp_path)


# ---------------------------------------------------------------------------------------------
# Moves, renames and copies verify before deleting and never overwrite by default
# ---------------------------------------------------------------------------------------------


def test_move_copies_then_deletes_the_source(backend: Backend):
    backend.seed("in/blob.bin", BINARY)
    url = backend.bucket.move("in/blob.bin", "out")
    assert url == backend.bucket.url_for("out/blob.bin")
    assert backend.stored("out/blob.bin") == BINARY and backend.stored("in/blob.bin") is None


def test_move_onto_an_existing_file_is_refused_and_both_survive(backend: Backend):
    backend.seed("in/blob.bin", b"moving")
    backend.seed("out/blob.bin", b"already here")
    with pytest.raises(DestinationExistsError):
        backend.bucket.move("in/blob.bin", "out")
    assert backend.stored("in/blob.bin") == b"moving"
    assert backend.stored("out/blob.bin") == b"already here"


def test_move_with_overwrite_replaces_the_destination(backend: Backend):
    backend.seed("in/blob.bin", b"moving")
    backend.seed("out/blob.bin", b"already here")
    backend.bucket.move("in/blob.bin", "out", overwrite=True)
    assert backend.stored("out/blob.bin") == b"moving" and backend.stored("in/blob.bin") is None


def test_move_keeps_the_content_encoding(backend: Backend):
    backend.seed("in/1:0:1", GZIPPED, gzip_encoded=True)
    backend.bucket.move("in/1:0:1", "out")
    assert backend.encoding("out/1:0:1") == "gzip"
    assert backend.bucket.read("out/1:0:1") == GZIPPED
    assert not backend.bucket.exists("in/1:0:1")


def test_move_of_a_missing_file_raises_not_found(backend: Backend):
    with pytest.raises(SourceNotFoundError):
        backend.bucket.move("in/missing.bin", "out")


def test_move_to_another_bucket_url(backend: Backend):
    backend.seed("in/blob.bin", BINARY)
    other = Bucket("mem://tt-move-target")
    backend.bucket.move("in/blob.bin", other.url_for("landing"))
    assert other.read("landing/blob.bin") == BINARY
    assert backend.stored("in/blob.bin") is None
    other.delete("landing/blob.bin")


def test_rename_in_place(backend: Backend):
    backend.seed("objs/old.obj", b"v 1 2 3")
    assert backend.bucket.rename("objs/old.obj", "new.obj") == "objs/new.obj"
    assert backend.keys() == ["objs/new.obj"]


def test_rename_onto_an_existing_file_is_refused(backend: Backend):
    backend.seed("objs/old.obj", b"old")
    backend.seed("objs/new.obj", b"new")
    with pytest.raises(DestinationExistsError):
        backend.bucket.rename("objs/old.obj", "new.obj")
    assert backend.stored("objs/old.obj") == b"old" and backend.stored("objs/new.obj") == b"new"


@pytest.mark.parametrize("bad", ["", "sub/new.obj", "..", 7])
def test_rename_takes_a_plain_name(bad):
    with pytest.raises(InvalidInputError):
        Bucket("mem://tt-rename").rename("objs/old.obj", bad)


def test_copy_folder_within_the_bucket_keeps_the_source(backend: Backend):
    for key, data in VOLUME.items():
        backend.seed(f"vol/{key}", data)
    assert backend.bucket.copy_folder("vol", "copies/vol2") == len(VOLUME)
    for key, data in VOLUME.items():
        assert backend.stored(f"vol/{key}") == data
        assert backend.stored(f"copies/vol2/{key}") == data


def test_copy_folder_to_another_backend_keeps_bytes_and_encoding(backend: Backend, tmp_path):
    backend.seed("vol/raw/blob.bin", BINARY)
    backend.seed("vol/mesh/1:0:1", GZIPPED, gzip_encoded=True)
    target = Bucket(f"file://{tmp_path / 'target'}")
    assert backend.bucket.copy_folder("vol", target.url) == 2
    assert (tmp_path / "target" / "raw" / "blob.bin").read_bytes() == BINARY
    assert (tmp_path / "target" / "mesh" / "1:0:1.gz").read_bytes() == GZIPPED


def test_copy_folder_refuses_if_any_destination_exists(backend: Backend):
    backend.seed("vol/a", b"a")
    backend.seed("vol/b", b"b")
    backend.seed("dest/b", b"keep me")
    with pytest.raises(DestinationExistsError):
        backend.bucket.copy_folder("vol", "dest")
    assert backend.keys() == ["dest/b", "vol/a", "vol/b"]
    assert backend.stored("dest/b") == b"keep me"


# ---------------------------------------------------------------------------------------------
# Deleting
# ---------------------------------------------------------------------------------------------


def test_delete_removes_one_file(backend: Backend):
    backend.seed("a.bin", b"a")
    backend.seed("b.bin", b"b")
    backend.bucket.delete("a.bin")
    assert backend.keys() == ["b.bin"]


def test_delete_of_a_missing_file_raises_unless_missing_ok(backend: Backend):
    with pytest.raises(SourceNotFoundError):
        backend.bucket.delete("missing.bin")
    backend.bucket.delete("missing.bin", missing_ok=True)


def test_delete_folder_deletes_only_that_folder(backend: Backend):
    for key in ["data/a", "data/sub/b", "data2/c", "other"]:
        backend.seed(key, b"x")
    assert backend.bucket.delete_folder("data", confirm="data") == 2
    assert backend.keys() == ["data2/c", "other"]


def test_delete_folder_accepts_its_full_url_as_confirmation(backend: Backend):
    backend.seed("data/a", b"x")
    backend.bucket.delete_folder("data/", confirm=backend.bucket.url_for("data") + "/")
    assert backend.keys() == []


@pytest.mark.parametrize("confirm", [None, "", "dat", "data/a", "DATA", "yes"])
def test_delete_folder_without_the_right_confirmation_deletes_nothing(backend: Backend, confirm):
    backend.seed("data/a", b"x")
    with pytest.raises(ConfirmationRequiredError):
        backend.bucket.delete_folder("data", confirm=confirm)
    assert backend.keys() == ["data/a"]


@pytest.mark.parametrize("prefix", ["", "/", ".", "./"])
def test_delete_folder_refuses_an_empty_path_or_root(backend: Backend, prefix):
    backend.seed("data/a", b"x")
    with pytest.raises(UnsafePathError):
        backend.bucket.delete_folder(prefix, confirm=prefix)
    assert backend.keys() == ["data/a"]


def test_delete_folder_refuses_a_bucket_root_named_by_url(backend: Backend):
    backend.seed("data/a", b"x")
    root, _key = Bucket.split(backend.bucket.url)
    with pytest.raises(UnsafePathError):
        root.delete_folder("", confirm=root.url)
    assert backend.keys() == ["data/a"]


def test_delete_folder_leaves_no_empty_local_folders(tmp_path):
    make_tree(tmp_path / "bucket", {"data/sub/a": b"x", "keep": b"y"})
    Bucket(f"file://{tmp_path / 'bucket'}").delete_folder("data", confirm="data")
    assert read_tree(tmp_path / "bucket") == {"keep": b"y"}
    assert not (tmp_path / "bucket" / "data").exists()


# ---------------------------------------------------------------------------------------------
# http(s) buckets are read-only
# ---------------------------------------------------------------------------------------------


class _CountingHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self):  # noqa: N802
        self.requests.append(f"GET {self.path}")
        super().do_GET()

    def do_HEAD(self):  # noqa: N802
        self.requests.append(f"HEAD {self.path}")
        super().do_HEAD()

    def do_PUT(self):  # noqa: N802
        self.requests.append(f"PUT {self.path}")
        self.send_error(405)

    def do_DELETE(self):  # noqa: N802
        self.requests.append(f"DELETE {self.path}")
        self.send_error(405)


@pytest.fixture
def http_site(tmp_path) -> Iterator[tuple[str, list[str]]]:
    """A static HTTP server on 127.0.0.1 over tmp_path/site, recording every request."""
    make_tree(tmp_path / "site", {"data/blob.bin": BINARY})
    requests: list[str] = []

    class Handler(_CountingHandler):
        pass

    Handler.requests = requests
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: Handler(*a, directory=str(tmp_path / "site"))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_http_bucket_reads(http_site):
    url, requests = http_site
    assert Bucket(url).read("data/blob.bin") == BINARY
    assert requests == ["GET /data/blob.bin"]


def test_http_bucket_refuses_every_write_before_any_request(http_site, tmp_path):
    url, requests = http_site
    bucket = Bucket(url)
    local = make_tree(tmp_path / "up", {"x.bin": b"x"})
    attempts = [
        lambda: bucket.write("x.bin", b"x"),
        lambda: bucket.upload(local / "x.bin"),
        lambda: bucket.upload_folder(local, "up"),
        lambda: bucket.move("data/blob.bin", "elsewhere"),
        lambda: bucket.rename("data/blob.bin", "renamed.bin"),
        lambda: bucket.delete("data/blob.bin"),
        lambda: bucket.delete_folder("data", confirm="data"),
        lambda: Bucket("mem://tt-http-src").copy_folder("", url),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidInputError, match="read-only"):
            attempt()
    assert requests == []
    assert bucket.read_only and not Bucket("mem://x").read_only


# ---------------------------------------------------------------------------------------------
# Colons in local names
# ---------------------------------------------------------------------------------------------


def test_forbids_colons_follows_the_platform_unless_overridden():
    assert forbids_colons() is (sys.platform == "win32")
    assert forbids_colons(True) is True and forbids_colons(False) is False


def test_windows_download_names_replace_colons_only_where_present(backend: Backend, tmp_path):
    for key, data in VOLUME.items():
        backend.seed(f"vol/{key}", data)
    folder = backend.bucket.download_folder("vol", tmp_path, windows_names=True)
    expected = {convert_colons(k): v for k, v in VOLUME.items()}
    assert read_tree(folder) == expected
    single = backend.bucket.download("vol/mesh/1:0", tmp_path, windows_names=True)
    assert re.fullmatch(rf"1___0_{STAMP}", single.name)


def test_windows_upload_names_restore_colons(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "vol", {convert_colons(k): v for k, v in VOLUME.items()})
    backend.bucket.upload_folder(local, "vol", windows_names=True)
    assert backend.bucket.list("vol") == [
        "vol/info",
        "vol/mesh/1:0",
        "vol/mesh/1:0:1",
        "vol/raw/blob.bin",
    ]
    assert backend.bucket.upload(local / "mesh" / "1___0", "single/", windows_names=True) == (
        "single/1:0"
    )


def test_non_windows_names_are_left_alone(backend: Backend, tmp_path):
    local = make_tree(tmp_path / "vol", {"my___file": b"x"})
    assert backend.bucket.upload_folder(local, "vol", windows_names=False) == ["vol/my___file"]


# ---------------------------------------------------------------------------------------------
# LocalS3 housekeeping
# ---------------------------------------------------------------------------------------------


def test_local_s3_restores_the_environment(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "before")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with LocalS3(buckets=["tt-env-check"], alias="ttenv") as s3:
        assert os.environ["AWS_ACCESS_KEY_ID"] != "before"
        assert "AWS_SESSION_TOKEN" in os.environ
        Bucket(s3.url()).write("x", b"x")
    assert os.environ["AWS_ACCESS_KEY_ID"] == "before"
    assert "AWS_SESSION_TOKEN" not in os.environ
    with pytest.raises(InvalidInputError):
        Bucket("ttenv://tt-env-check")


@pytest.mark.parametrize("url", ["s3://user:pw@bucket/x", "gs://token@bucket/x"])
def test_a_url_with_credentials_is_refused_saying_why(url):
    with pytest.raises(InvalidInputError, match="credentials never go in a URL") as info:
        Bucket(url)
    assert "pw" not in str(info.value) and "token@" not in str(info.value)
