"""make aws-parity's own rules, offline: which of LocalStack's recorded tests are left out as not
the executor's (and that a test is never left out for another reason), and the report it writes
from pytest's results.xml."""

from __future__ import annotations

from dev import aws_parity, aws_parity_report

SOURCES = {
    ("test_lambda.py", "TestLambdaURL::test_echo"): (
        "@markers.aws.validated\nself, create_lambda_function",
        'create_lambda_function(func_name=name, runtime=Runtime.nodejs20_x)\nrequests.post(url, data=b"{}")',
    ),
    ("test_lambda.py", "TestLambdaURL::test_url_config_crud"): (
        "self, create_lambda_function",
        "create_lambda_function(func_name=name, runtime=Runtime.nodejs20_x)\n"
        "aws_client.lambda_.create_function_url_config(FunctionName=name)",
    ),
    ("test_lambda_api.py", "TestLambdaEventSourceMappings::test_lifecycle"): (
        "self, sqs_create_queue, dynamodb_create_table",
        "dynamodb_create_table(table_name=name)",
    ),
    ("test_lambda_api.py", "TestLambdaEventSourceMappings::test_names"): (
        "self, sqs_create_queue",
        "aws_client.lambda_.invoke(FunctionName=name)",
    ),
    ("test_lambda.py", "TestLambdaBehavior::test_runtimes"): (
        "@pytest.mark.parametrize('runtime', RUNTIMES)\nself, runtime",
        "create_lambda_function(runtime=runtime)\naws_client.lambda_.invoke(FunctionName=name)",
    ),
}


OTHER_RUNTIME = "another runtime than Python"


def why(node: str) -> str | None:
    return aws_parity.out_of_scope(f"tests/aws/services/lambda_/{node}", SOURCES)


def test_a_non_python_function_that_is_invoked_is_left_out_and_its_api_calls_are_kept():
    assert why("test_lambda.py::TestLambdaURL::test_echo[BUFFERED]") == OTHER_RUNTIME
    assert why("test_lambda.py::TestLambdaURL::test_url_config_crud") is None


def test_a_runtime_in_the_test_id_decides_for_parametrized_tests():
    assert (
        why("test_lambda.py::TestLambdaBehavior::test_runtimes[nodejs20.x]") == "another runtime than Python"
    )
    assert why("test_lambda.py::TestLambdaBehavior::test_runtimes[python3.12]") is None
    assert (
        why("test_lambda_runtimes.py::TestJavaRuntimes::test_custom[handler]")
        == "another runtime than Python"
    )


def test_only_services_this_localstack_cannot_run_leave_a_test_out():
    assert why("test_lambda_api.py::TestLambdaEventSourceMappings::test_lifecycle") == (
        "another AWS service (dynamodb)"
    )
    assert why("test_lambda_api.py::TestLambdaEventSourceMappings::test_names") is None, "SQS runs here"
    assert (
        why("test_lambda_api.py::TestLambdaImages::test_lambda_image_versions")
        == "a container image (Docker)"
    )


RESULTS = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="tests.aws.services.lambda_.test_lambda.TestLambdaBehavior" name="test_ok" time="1"/>
<testcase classname="tests.aws.services.lambda_.test_lambda.TestLambdaBehavior" name="test_bad[python3.12]"
 time="1"><failure message="assert #x1B[33m502#x1B[0m == 200&#10;more">trace</failure></testcase>
<testcase classname="tests.aws.services.lambda_.test_lambda_api.TestLambdaUrl" name="test_skip" time="0">
<skipped message="not on LocalStack"/></testcase>
<testcase classname="tests.aws.services.lambda_.test_lambda_runtimes.TestPythonRuntimes"
 name="test_versions[python3.14]" time="1"><failure message="KeyError: 'version'">trace</failure></testcase>
<testcase name="test_cut_off" time="0"/>
</testsuite></testsuites>"""


def test_the_report_counts_what_pytest_recorded_names_each_failure_and_the_refusals(tmp_path):
    results, target = tmp_path / "results.xml", tmp_path / "aws-parity.md"
    results.write_text(RESULTS)
    left_out = {"a": "another runtime than Python", "b": "another runtime than Python"}
    aws_parity_report.write(results, left_out, "8b9a79f 2026-03-23", target, {"python3.12", "python3.13"})
    text = target.read_text()
    assert "| run | 4 |" in text and "| passed | 1 |" in text and "| failed | 1 |" in text
    assert (
        "| skipped by the tests themselves | 1 |" in text and "| left out: not the executor's | 2 |" in text
    )
    assert "- TestLambdaBehavior::test_bad[python3.12]: assert 502 == 200\n" in text
    assert "- another runtime than Python: 2" in text
    assert "| refused: a runtime this machine has no CPython for (Local.UnsupportedRuntime) | 1 |" in text
    assert "- no CPython 3.14 on this machine: 1 tests" in text, "a missing runtime is no failure"
