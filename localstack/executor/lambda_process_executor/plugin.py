"""The plux plugin LocalStack finds under LAMBDA_RUNTIME_EXECUTOR=process."""

from typing import Any

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = "process"

    def load(self, *args: Any, **kwargs: Any) -> type:
        from lambda_process_executor import exit_watchdog
        from lambda_process_executor.capacity import MODE_THROTTLE, CapacitySettings
        from lambda_process_executor.executor import ProcessRuntimeExecutor
        from lambda_process_executor.throttling import answer_throttles_with_500

        if CapacitySettings.from_env().mode == MODE_THROTTLE:
            answer_throttles_with_500()
        exit_watchdog.register()
        return ProcessRuntimeExecutor
