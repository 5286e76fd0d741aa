"""Background jobs: the same job functions on saq (Redis) or on the in-process runner."""

from core.jobs.queue import CronJob, JobFunction, JobQueue, host_of

__all__ = ["CronJob", "JobFunction", "JobQueue", "host_of"]
