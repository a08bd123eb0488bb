"""Operators: plan the zero-carbon pathway as a background job (``POST``), then fetch it (``GET``).

A plan takes from seconds (representative days) to minutes (every hour of several years), so the POST
answers 202 with a job id at once. One job runs at a time, in its own process at a lower priority
(``nice 19``): model building is pure Python and would hold the API's GIL in a thread, and the MPC and
the API must stay responsive; a second request gets 429 until it ends. The process is a daemon: it
ends with the server. Without ``hours`` the API
plans on :data:`DEFAULT_DAYS` representative days, and a job may model at most :data:`MAX_MODEL_HOURS`
hours over all its years (the CLI has no such limit). The last jobs (:class:`api.jobs.JobBoard`) are kept in
memory: a restart forgets them (the CLI writes files for results that must last).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import threading
import uuid
from multiprocessing.connection import Connection
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.deps import ParkDep, StateDep, StoreDep
from api.jobs import JobBoard
from api.security import AUTH_RESPONSES, Operator, Problem
from ems.i18n import Msg
from ems.park import Park, example_park_path
from ems.store import Store
from services.pathway.history import MeteredYear, metered_year
from services.pathway.options import PlanOptions, load_options
from services.pathway.pathway import plan_pathway
from services.pathway.report import plan_report
from services.pathway.representative import representative_periods
from services.pathway.solve import PlanInfeasible

router = APIRouter(prefix="/v1/pathway", tags=["operators"], responses=AUTH_RESPONSES)

DEFAULT_DAYS = 12
MAX_MODEL_HOURS = 3 * 8784


class PathwayRequest(BaseModel):
    options: PlanOptions | None = Field(None, description="planner options; default: the shipped demo options")
    start_year: int | None = Field(None, ge=2000, le=2100, description="overrides options.pathway.start_year")
    target_year: int | None = Field(None, ge=2000, le=2100, description="overrides options.pathway.target_year")
    hours: int | None = Field(None, ge=24, le=8784, description="plan on the first N hours of the year")
    representative_days: int | None = Field(
        None, ge=2, le=365, description=f"tsam representative days (default {DEFAULT_DAYS} when hours is not given)"
    )
    history_start: dt.date | None = Field(
        None,
        ge=dt.date(2000, 1, 1),
        le=dt.date(2100, 1, 1),
        description="plan on the park's metered history from this park-local date (the first `hours`, default "
        "a year) instead of the synthetic year",
    )


class PathwayJob(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done", "infeasible", "failed"]
    error: str | None = None
    report: dict[str, Any] | None = None


def _options(req: PathwayRequest) -> PlanOptions:
    opts = req.options or load_options(example_park_path("demo").parent / "demo_pathway.yaml")
    if opts.pathway is None:
        raise HTTPException(400, Msg("options have no 'pathway' section (start_year, target_year, ...)"))
    update = {k: v for k, v in (("start_year", req.start_year), ("target_year", req.target_year)) if v is not None}
    pw = opts.pathway.model_copy(update=update)
    if pw.target_year < pw.start_year:
        raise HTTPException(
            400, Msg("target_year {target} is before start_year {start}", target=pw.target_year, start=pw.start_year)
        )
    hours = 24 * (req.representative_days or DEFAULT_DAYS) if req.hours is None else req.hours
    if hours * (pw.target_year - pw.start_year + 1) > MAX_MODEL_HOURS:
        raise HTTPException(
            400,
            Msg(
                "{years} years x {hours} modelled hours exceed the API's {limit}: use fewer years, "
                "representative_days or the CLI (ems pathway plan)",
                years=pw.target_year - pw.start_year + 1,
                hours=hours,
                limit=MAX_MODEL_HOURS,
            ),
        )
    return opts.model_copy(update={"pathway": pw})


def _plan(conn: Connection, park: Park, opts: PlanOptions, req: PathwayRequest, metered: MeteredYear | None) -> None:
    """The job's process: plan, send ``(status, report or error)`` back."""
    days = req.representative_days or (DEFAULT_DAYS if req.hours is None else None)
    try:
        plan = plan_pathway(
            park,
            opts,
            hours=req.hours,
            prepare=(lambda d: representative_periods(d, days)) if days else None,
            metered=metered,
        )
        conn.send(("done", plan_report(plan, opts)))
    except PlanInfeasible as exc:
        conn.send(("infeasible", str(exc)))
    except Exception as exc:  # reported to the operator with the job, never lost in a worker process
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _run(
    jobs: JobBoard, job_id: str, park: Park, opts: PlanOptions, req: PathwayRequest, metered: MeteredYear | None
) -> None:
    """Watcher thread: start the job's process and record its outcome."""
    jobs.put(job_id, PathwayJob(job_id=job_id, status="running"))
    ctx = multiprocessing.get_context("spawn")  # no fork of a multi-threaded server
    recv, send = ctx.Pipe(duplex=False)
    args = (send, park, opts, req, metered)
    proc = ctx.Process(target=_plan, args=args, name=f"pathway-{job_id[:8]}", daemon=True)
    proc.start()
    assert proc.pid is not None  # started
    os.setpriority(os.PRIO_PROCESS, proc.pid, 19)  # at once, before the child spends seconds importing
    send.close()
    try:
        status, payload = recv.recv()
    except EOFError:
        status, payload = "failed", "the planning process ended without a result"
    proc.join()
    if status == "done":
        jobs.put(job_id, PathwayJob(job_id=job_id, status="done", report=payload))
    else:
        jobs.put(job_id, PathwayJob(job_id=job_id, status=status, error=payload))


@router.post(
    "",
    status_code=202,
    response_model=PathwayJob,
    responses={
        400: {"model": Problem, "description": "years, size or metered history not plannable; the detail says why"}
    },
)
def start(state: StateDep, store: StoreDep, park: ParkDep, body: PathwayRequest, _: Operator) -> PathwayJob:
    """Queue a pathway plan for the API's park; poll ``GET /v1/pathway/{job_id}`` for the report."""
    opts = _options(body)
    metered = _metered(store, park, body) if body.history_start else None
    jobs = state.pathway_jobs
    job = PathwayJob(job_id=uuid.uuid4().hex, status="queued")
    with jobs.lock:
        if jobs.busy():
            raise HTTPException(429, Msg("a pathway job is running; try again when it is done"), {"Retry-After": "10"})
        args = (jobs, job.job_id, park, opts, body, metered)
        jobs.worker = threading.Thread(target=_run, args=args, name="pathway", daemon=True)
    jobs.put(job.job_id, job)
    jobs.worker.start()
    return job


def _metered(store: Store, park: Park, req: PathwayRequest) -> MeteredYear:
    """Read the history here (the job's process has no database connection); 400 when it is too thin."""
    assert req.history_start is not None
    d = req.history_start
    start = dt.datetime(d.year, d.month, d.day, tzinfo=park.tz).astimezone(dt.UTC)
    hours = req.hours or 24 * (366 if (d + dt.timedelta(days=365)).day != d.day else 365)
    try:
        return metered_year(store, park, start, hours)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


@router.get(
    "/{job_id}",
    response_model=PathwayJob,
    responses={404: {"model": Problem, "description": "no such job (only the last jobs are kept, in memory)"}},
)
def get(state: StateDep, job_id: str, _: Operator) -> PathwayJob:
    job = state.pathway_jobs.items.get(job_id)
    if not isinstance(job, PathwayJob):
        raise HTTPException(
            404,
            Msg(
                "no pathway job {job_id!r} (jobs are kept in memory, the last {keep})",
                job_id=job_id,
                keep=state.pathway_jobs.keep,
            ),
        )
    return job
