"""Run LocalStack's Lambda functions as local processes with the real AWS runtime client."""
