"""`python -m deploy.aws`'s checks before and around AWS, against moto: only `deploy` needs
MONGODB_URI (a stack deployed yesterday can be deleted from any shell), and every message
names the make target that was run. The end-to-end run is test_deploy_aws.py's."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from deploy import aws
from deploy.local import StepFailedError

BUCKET_TEMPLATE = json.dumps(
    {
        "Resources": {"Page": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "yesterday-page"}}},
        "Outputs": {"WebsiteBucketName": {"Value": {"Ref": "Page"}}},
    }
)


@pytest.fixture
def shell_without_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another shell than the deploy's: AWS credentials and the stack's name, no MONGODB_URI."""
    for name in ("MONGODB_URI", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STACK_NAME", "yesterday")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_deploy_without_a_mongodb_uri_refuses_and_names_deploy_aws(shell_without_database):
    with pytest.raises(SystemExit, match=r"^deploy-aws: set MONGODB_URI"):
        aws.main(["deploy"])


def test_destroy_needs_no_mongodb_uri(shell_without_database, capsys):
    with mock_aws():
        assert aws.main(["destroy"]) == 0
    assert "destroy-aws: no stack yesterday in us-east-1" in capsys.readouterr().out


def test_destroy_empties_the_page_bucket_then_deletes_and_its_failure_names_destroy_aws(
    shell_without_database, monkeypatch, capsys
):
    deleted: list[tuple[str, ...]] = []

    def sam_delete_fails(target, *arguments, log):
        deleted.append(arguments)
        raise StepFailedError("sam delete", "the stack is busy", "the SAM CLI's output above")

    monkeypatch.setattr(aws, "_sam", sam_delete_fails)
    with mock_aws():
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="yesterday", TemplateBody=BUCKET_TEMPLATE
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.put_object(Bucket="yesterday-page", Key="index.html", Body=b"<html></html>")
        assert aws.main(["destroy"]) == 1
        assert s3.list_objects_v2(Bucket="yesterday-page").get("KeyCount") == 0
    assert deleted and deleted[0][:3] == ("delete", "--stack-name", "yesterday")
    assert capsys.readouterr().err.startswith("destroy-aws: sam delete failed: the stack is busy")


@pytest.mark.parametrize(
    ("region", "endpoint", "origin"),
    [
        ("us-east-1", None, "http://demo-page.s3-website-us-east-1.amazonaws.com"),
        ("eu-central-1", None, "http://demo-page.s3-website.eu-central-1.amazonaws.com"),
        ("us-east-1", "http://127.0.0.1:4599", "http://demo-page.s3-website.localhost.localstack.cloud:4599"),
    ],
)
def test_the_page_origin_is_known_before_the_bucket_exists(region, endpoint, origin):
    """AWS's two website endpoint forms (and LocalStack's): right, a fresh deploy is one
    `sam deploy`; the end-to-end test counts them."""
    target = aws.AwsTarget("demo", region, "", endpoint, aws.DeploySettings.from_env())
    assert aws.expected_origin(target) == origin
