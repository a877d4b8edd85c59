"""Game engine: the spin (CPU spike, timeout), the cold-start and the memory-leak scenarios."""

import random
import uuid

from chalice import BadRequestError, ChaliceViewError, ForbiddenError, NotFoundError, Response

from engine import balance_client, cold_start_reset, cpu_work, idempotency, memory_leak, reels, warmup
from slot_common.data_model import USERS
from slot_common.modes import Mode, requested_mode, scenario_response
from slot_common.mongo import database
from slot_common.observability import init_sentry, invocation_count, record, tag
from slot_common.service_app import ServiceApp, ServiceUnavailableError, json_body, positive_int
from slot_common.settings import settings

# no Boto3Integration: its import costs ~270 ms of every cold start, and the one AWS call
# this function makes (the settlement invoke) has an explicit span
init_sentry()
if settings().eager_init:
    warmup.preload()
app = ServiceApp(app_name="game-engine")
_rng = random.SystemRandom()
CASCADE = "cascade"  # the one scenario made of other routes' requests (demo/scenario_catalog.py)


def _require_dangerous_scenarios() -> None:
    if not settings().dangerous_scenarios_enabled:
        raise ForbiddenError("this scenario is disabled here (DANGEROUS_SCENARIOS_ENABLED=false)")


def _spin_request() -> tuple[str, int, bool]:
    body = json_body(app, required=("user_id", "bet"))
    user_id = body["user_id"]
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 64:
        raise BadRequestError("user_id must be a non-empty string of at most 64 characters")
    bet = positive_int(body["bet"], "bet", maximum=settings().max_bet)
    cpu_intensive = body.get("cpu_intensive", False)
    if not isinstance(cpu_intensive, bool):
        raise BadRequestError("cpu_intensive must be true or false")
    return user_id, bet, cpu_intensive


def _plan(user_id: str, bet: int, cpu_limit: int | None, mode: Mode) -> dict:
    """The work, then what to settle: nothing is written yet, so a spin killed here moved nothing."""
    user = database()[USERS].find_one({"_id": user_id}, {"balance": 1})
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    if bet > user["balance"]:
        raise BadRequestError(f"bet of {bet} exceeds the balance of {user['balance']}")
    plan: dict = {}
    if cpu_limit is not None:
        report = cpu_work.prime_report(cpu_limit, mode)
        tag("calculation_method", "intensive" if mode is Mode.ANTIPATTERN else "normal")
        if mode is Mode.ANTIPATTERN:
            tag("performance.issue", "cpu_spike")
            tag("antipattern", "trial_division")
        record("cpu.calculations_performed", report.primes_found)
        # the share of a vCPU the work ran with: MemorySize/1769 on Lambda (and locally)
        plan["cpu"] = report.as_dict() | {"memory_mb": settings().memory_mb}
    outcome = reels.spin(_rng)
    return plan | {
        "spin_id": uuid.uuid4().hex,
        "user_id": user_id,
        "bet": bet,
        "symbols": list(outcome.symbols),
        "win": outcome.win,
        "multiplier": outcome.multiplier,
        "payout": outcome.payout(bet),
    }


def _settle(plan: dict, keyed: bool = True) -> dict:
    """One settlement (money and records together), safe to retry by its spin id."""
    try:
        settled = balance_client.settle(
            plan["user_id"], plan["spin_id"], plan["bet"], plan["payout"], plan["symbols"]
        )
    except balance_client.BalanceRefusedError as refused:
        if refused.status == 404:
            raise NotFoundError(str(refused)) from None
        raise BadRequestError(str(refused)) from None
    except balance_client.BalanceServiceError as failed:
        raise ServiceUnavailableError(outcome_unknown(str(failed), plan["user_id"], keyed)) from None
    return plan | {"balance": settled["balance"]}


def outcome_unknown(failure: str, user_id: str, keyed: bool) -> str:
    """The 503 for a settlement whose answer was lost: the money may have moved, and the
    client is told what it can still learn, which depends on its Idempotency-Key."""
    unknown = f"the spin's outcome is unknown ({failure}): it may have been recorded."
    if keyed:
        return (
            f"{unknown} Retry with the same Idempotency-Key to learn it: the spin is settled at "
            "most once and the retry answers its result."
        )
    return (
        f"{unknown} Without an Idempotency-Key it cannot be found out: the balance and history "
        f"(GET /api/v1/users/{user_id}/balance, /history) show what was recorded but not "
        "whether this request is part of it, and sending it again is a new spin. Send an "
        "Idempotency-Key with every spin, so that a retry reveals the outcome."
    )


def _play(user_id: str, bet: int, cpu_limit: int | None, mode: Mode, scope: str) -> dict | Response:
    """A spin; with an Idempotency-Key, at most one per key (engine/idempotency.py)."""
    try:
        return _play_once(user_id, bet, cpu_limit, mode, scope)
    except idempotency.IdempotencyError as refused:
        headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else {}
        return Response({"error": str(refused)}, status_code=refused.status, headers=headers)


def _play_once(user_id: str, bet: int, cpu_limit: int | None, mode: Mode, scope: str) -> dict | Response:
    request = app.current_request
    key = idempotency.validate_key(request.headers.get(idempotency.HEADER))
    if key is None:
        return _settle(_plan(user_id, bet, cpu_limit, mode), keyed=False)
    db = database()
    fingerprint = idempotency.fingerprint(scope, {"body": request.json_body, "mode": mode.value})
    context = app.lambda_context
    lock_seconds = context.get_remaining_time_in_millis() / 1000 + 1 if context else 30.0
    claim = idempotency.begin(db, scope, key, fingerprint, lock_seconds, settings().idempotency_ttl_seconds)
    if isinstance(claim, idempotency.Replay):
        return Response(claim.body, headers={"Idempotent-Replayed": "true"})
    try:
        plan = claim.plan or idempotency.store_plan(db, claim, _plan(user_id, bet, cpu_limit, mode))
        body = _settle(plan, keyed=True)
    except Exception as error:
        refused = isinstance(error, ChaliceViewError) and error.STATUS_CODE < 500
        idempotency.abandon(db, claim, refused=refused)
        raise
    idempotency.complete(db, claim, body)
    return body


def _spin_scenario(cpu_intensive: bool) -> str | None:
    """The scenario a spin serves: the cascade's when the caller says so (both of its sides
    are spins, with and without the CPU spike), else the CPU spike's, else none."""
    asked = (app.current_request.query_params or {}).get("scenario")
    if asked not in (None, CASCADE):
        raise BadRequestError(f"scenario must be '{CASCADE}' or absent")
    return asked or ("cpu-spike" if cpu_intensive else None)


def _answer(result: dict | Response, scenario: str | None, mode: Mode) -> dict | Response:
    """The scenario's response; a replayed spin keeps the headers that say so."""
    if scenario is None or (isinstance(result, Response) and result.status_code >= 400):
        return result
    if isinstance(result, Response):
        response = scenario_response(result.body, scenario=scenario, mode=mode)
        response.headers.update(result.headers)
        return response
    return scenario_response(result, scenario=scenario, mode=mode)


def _spin(cpu_spike: bool = False) -> dict | Response:
    """A spin, with the CPU spike when the body asks for it or the route is the spike's own."""
    user_id, bet, cpu_intensive = _spin_request()
    cpu_intensive = cpu_intensive or cpu_spike
    mode, scenario = requested_mode(app), _spin_scenario(cpu_intensive)
    limit = settings().cpu_spike_limit if cpu_intensive else None
    result = _play(user_id, bet, limit, mode, scope="spin")
    return _answer(result, scenario, mode)


@app.route("/api/v1/spin", methods=["POST"])
def spin():
    return _spin()


@app.route("/api/v1/scenarios/cpu-spike/1024mb", methods=["POST"])
def cpu_spike_at_1024mb():
    """The CPU spike on the game engine's code deployed at 1,024 MB (GameEngineAt1024Function):
    the same work with 58 % of a vCPU, for the page's "memory is CPU" comparison."""
    return _spin(cpu_spike=True)


@app.route("/api/v1/scenarios/timeout", methods=["POST"])
def timeout_scenario():
    """The CPU spike's work sized past the function's Timeout (its own size, so that a smaller
    CPU_SPIKE_LIMIT leaves it past); the fix is the sieve on the same size."""
    _require_dangerous_scenarios()
    user_id, bet, _ = _spin_request()
    mode = requested_mode(app)
    config = settings()
    limit = min(config.timeout_work_limit, config.cpu_spike_max_limit)
    if mode is Mode.ANTIPATTERN:
        tag("performance.issue", "timeout")
    return _answer(_play(user_id, bet, limit, mode, scope="timeout"), "timeout", mode)


def _cold_start_body() -> dict:
    return {
        "engine": "game-engine",
        "symbols": list(reels.SYMBOLS),
        "multipliers": reels.MULTIPLIERS,
        "win_probability": round(reels.WIN_PROBABILITY, 6),
        "target_rtp": reels.TARGET_RTP,
    }


@app.route("/api/v1/scenarios/cold-start/eager", methods=["GET"])
def cold_start_eager():
    """Deployed on the function with EAGER_INIT=true: its init did everything at import."""
    if invocation_count() == 1:
        tag("performance.issue", "slow_cold_start")
        tag("antipattern", "eager_initialisation")
    return scenario_response(_cold_start_body(), scenario="cold-start", mode=Mode.ANTIPATTERN)


@app.route("/api/v1/scenarios/cold-start/lazy", methods=["GET"])
def cold_start_lazy():
    """The same answer from the lazily initialised function: nothing heavy was needed."""
    return scenario_response(_cold_start_body(), scenario="cold-start", mode=Mode.OPTIMIZED)


@app.route("/api/v1/scenarios/cold-start/reset", methods=["POST"])
def cold_start_reset_scenario():
    """The page's "force a cold start": a configuration change of both cold-start functions."""
    _require_dangerous_scenarios()
    functions = settings().cold_start_functions
    if not functions:
        raise ForbiddenError("no cold-start functions are configured here (COLD_START_FUNCTIONS)")
    return {"reset": cold_start_reset.force_cold_starts(list(functions))}


@app.route("/api/v1/scenarios/memory-leak", methods=["POST"])
def memory_leak_scenario():
    _require_dangerous_scenarios()
    mode = requested_mode(app)
    spins, seed = settings().leak_spins, 42
    if mode is Mode.ANTIPATTERN:
        tag("performance.issue", "memory_leak")
        tag("antipattern", "unbounded_module_cache")
        summary, cached = memory_leak.report_leaking(spins, seed, settings().leak_mb_per_call)
    else:
        summary, cached = memory_leak.report_bounded(spins, seed)
    rss = memory_leak.current_rss_mb()
    record("memory.rss_mb", rss)
    record("memory.cached_reports", cached)
    response = scenario_response(summary, scenario="memory-leak", mode=mode)
    response.headers["X-Memory-Mb"] = str(rss)
    response.headers["X-Memory-Limit-Mb"] = str(memory_leak.memory_limit_mb())
    return response
