"""The plux plugin LocalStack finds under LAMBDA_RUNTIME_EXECUTOR=process."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "process"

    def load(self, *args, **kwargs):
        from lambda_process_executor.executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor
