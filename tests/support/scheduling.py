"""`make test`'s distribution of test files over pytest-xdist workers: --dist loadfile, except
that a few files that mostly wait run on a worker of their own.

test_deploy_aws.py spends most of its 80-90 s in the SAM CLI's fixed polls (15 s for the
managed bucket's stack, 30 s for the delete: constants in its source), with little CPU. On
one of the two busy workers it was a file-length the other waited for; on a third worker that
takes nothing else it overlaps them, while the CPU-bound files still share two workers.
"""

from __future__ import annotations

from typing import Any

from xdist.scheduler import LoadFileScheduling


class OwnWorkerScheduling(LoadFileScheduling):
    """Whole files in collection order, as --dist loadfile hands them out; the last worker
    takes only the files in ``own`` and the others never do, unless no worker of the other
    kind is left (then it takes them, so no test is left unrun)."""

    def __init__(self, config: Any, log: Any, own: tuple[str, ...]) -> None:
        super().__init__(config, log)
        self.own = own
        self.own_worker = f"gw{self.numnodes - 1}"

    def _is_own_worker(self, node: Any) -> bool:
        return node.workerinput["workerid"] == self.own_worker

    def _alive(self, own: bool) -> bool:
        return any(self._is_own_worker(node) == own and not node.shutting_down for node in self.nodes)

    def _units_for(self, node: Any) -> list[str]:
        """Its own kind of file first; the other kind too once no worker of that kind is left
        (xdist shuts down workers beyond the number of files, whichever they are)."""
        own = self._is_own_worker(node)
        mine = [scope for scope in self.workqueue if (scope in self.own) == own]
        return mine or ([] if self._alive(not own) else list(self.workqueue))

    def _assign_work_unit(self, node: Any) -> None:
        units = self._units_for(node)
        if not units:  # _reschedule shuts the worker down
            return
        scope = units[0]
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items() if not done])

    def _reschedule(self, node: Any) -> None:
        if node.shutting_down:
            return
        if not self._units_for(node):  # done with its files: its services stop now, not at the end
            node.shutdown()
            return
        if self._pending_of(self.assigned_work[node]) > 2:
            return
        self._assign_work_unit(node)
