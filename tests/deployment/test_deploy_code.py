"""The deploy code's AWS calls against moto: change sets, uploads, the page, destroy."""

from __future__ import annotations

import json
import os

import boto3
import pytest
from moto import mock_aws

from deploy import build, stack, website

TEMPLATE = json.dumps(
    {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Name"}}}},
        "Parameters": {"Name": {"Type": "String"}},
        "Outputs": {"BucketName": {"Value": {"Ref": "Bucket"}}},
    }
)


@pytest.fixture
def aws():
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield (
            boto3.client("cloudformation", region_name="us-east-1"),
            boto3.client("s3", region_name="us-east-1"),
        )


def test_stack_is_created_then_unchanged_then_updated(aws):
    cloudformation, s3 = aws
    assert stack.deploy(cloudformation, "demo", TEMPLATE, {"Name": "first-bucket"}) == "created"
    # (moto leaves Outputs empty for stacks made by change sets; LocalStack's are checked in
    # the integration tests)
    assert stack.physical_ids(cloudformation, "demo")["Bucket"] == "first-bucket"
    assert stack.deploy(cloudformation, "demo", TEMPLATE, {"Name": "first-bucket"}) == "unchanged"
    grown = json.loads(TEMPLATE)
    grown["Resources"]["Second"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "second-bucket"}}
    assert stack.deploy(cloudformation, "demo", json.dumps(grown), {"Name": "first-bucket"}) == "updated"
    assert "second-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert stack.delete(cloudformation, "demo") is True
    assert stack.stack_status(cloudformation, "demo") in (None, "DELETE_COMPLETE")


def test_artifacts_are_uploaded_once_by_content(aws, tmp_path):
    from deploy.local import upload_artifacts

    _, s3 = aws
    path = tmp_path / "thing-0123456789abcdef.zip"
    path.write_bytes(b"zip bytes")
    artifact = build.Artifact("thing", path, 9, 9)
    uploads: list[str] = []
    for operation in ("PutObject", "CreateMultipartUpload"):
        s3.meta.events.register(f"before-call.s3.{operation}", lambda op=operation, **_: uploads.append(op))
    first = upload_artifacts(s3, "artifacts", [artifact])
    assert first == {"thing": "s3://artifacts/thing-0123456789abcdef.zip"}
    assert len(uploads) == 1
    assert upload_artifacts(s3, "artifacts", [artifact]) == first
    assert len(uploads) == 1, "the same content is not uploaded again"


def test_page_upload_writes_files_with_types_and_a_config(aws, tmp_path):
    _, s3 = aws
    s3.create_bucket(Bucket="page")
    (tmp_path / "index.html").write_text("<html></html>")
    (tmp_path / "app.js").write_text("console.log(1)")
    count = website.upload_page(s3, "page", {"apiUrl": "http://api"}, page_dir=tmp_path)
    assert count == 3
    assert s3.get_object(Bucket="page", Key="index.html")["ContentType"].startswith("text/html")
    assert "javascript" in s3.get_object(Bucket="page", Key="app.js")["ContentType"]
    config = s3.get_object(Bucket="page", Key="config.js")["Body"].read().decode()
    assert config.startswith("window.SLOT_CONFIG = ") and '"apiUrl": "http://api"' in config


def test_page_upload_without_a_build_says_what_to_run(aws, tmp_path):
    _, s3 = aws
    with pytest.raises(FileNotFoundError, match="make page"):
        website.upload_page(s3, "page", {}, page_dir=tmp_path)


def test_deterministic_zip_is_byte_identical(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "b.py").write_text("y = 2\n")
    first, size = build.deterministic_zip(tmp_path)
    os.utime(tmp_path / "a.py", (1, 1))
    second, _ = build.deterministic_zip(tmp_path)
    assert first == second and size == 12


def test_size_limits_are_enforced(tmp_path):
    big = build.Artifact("fn", tmp_path / "fn.zip", 1, 200 * 1024 * 1024)
    layer = build.Artifact("layer", tmp_path / "l.zip", 1, 60 * 1024 * 1024)
    with pytest.raises(ValueError, match="250 MB"):
        build.check_limits({"fn": big}, [layer])
    assert build.check_limits({"fn": build.Artifact("fn", tmp_path / "f.zip", 1, 1024)}, [layer])


def test_a_function_with_unchanged_inputs_reuses_its_zip_and_any_change_builds_anew(tmp_path, monkeypatch):
    """A re-deploy with no change stages, compiles and zips nothing; a changed file's bytes or
    mode (an extension must stay executable) gives a new zip with that change in it."""
    import zipfile

    monkeypatch.setattr(build, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(build, "FUNCTIONS", tmp_path / "functions")
    source = tmp_path / "functions" / "svc"
    source.mkdir(parents=True)
    (source / "app.py").write_text("app = 1\n")
    staged = []
    stage = build._stage
    monkeypatch.setattr(build, "_stage", lambda *args: staged.append(args) or stage(*args))

    first = build.build_function("svc")
    assert build.build_function("svc") == first and len(staged) == 1, "unchanged: the same zip, not rebuilt"
    (source / "app.py").write_text("app = 2\n")
    changed = build.build_function("svc")
    assert changed.path != first.path and len(staged) == 2
    assert zipfile.ZipFile(changed.path).read("app.py") == b"app = 2\n"
    (source / "app.py").chmod(0o755)
    executable = build.build_function("svc")
    assert executable.path != changed.path and len(staged) == 3
    assert zipfile.ZipFile(executable.path).getinfo("app.py").external_attr >> 16 & 0o111
    (source / "app.py").chmod(0o644)
    assert build.build_function("svc") == changed and len(staged) == 3, "back as before: that zip again"

    # without the records, the same inputs are built again into the same bytes (the .pyc too)
    for record in (tmp_path / "build").glob("*.json"):
        record.unlink()
    assert build.build_function("svc") == changed and len(staged) == 4


def test_an_edit_while_a_function_builds_is_not_recorded_as_the_old_inputs_zip(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "BUILD_DIR", tmp_path / "build")
    monkeypatch.setattr(build, "FUNCTIONS", tmp_path / "functions")
    source = tmp_path / "functions" / "svc"
    source.mkdir(parents=True)
    (source / "app.py").write_text("app = 1\n")
    stage = build._stage

    def edited_while_staging(*args):
        (source / "app.py").write_text("app = 2\n")  # saved in an editor as the build starts
        return stage(*args)

    monkeypatch.setattr(build, "_stage", edited_while_staging)
    build.build_function("svc")
    monkeypatch.setattr(build, "_stage", stage)
    (source / "app.py").write_text("app = 1\n")
    import zipfile

    assert zipfile.ZipFile(build.build_function("svc").path).read("app.py") == b"app = 1\n"
