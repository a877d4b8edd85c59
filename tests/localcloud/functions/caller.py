"""A test function that synchronously invokes another one, as the game engine does."""

import json

import boto3

_lambda = boto3.client("lambda")


def handler(event, context):
    response = _lambda.invoke(FunctionName=event["callee"], Payload=json.dumps(event.get("payload", {})))
    return {"callee_error": response.get("FunctionError"), "callee": json.loads(response["Payload"].read())}
