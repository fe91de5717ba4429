"""Workers: the leader's schedule and the job slots that keep every connection fresh."""

from app.worker.runner import LEADER_LOCK, Worker, WorkerStats

__all__ = ["LEADER_LOCK", "Worker", "WorkerStats"]
