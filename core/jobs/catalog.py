"""Every job of the enabled plugins, known by ``<plugin>.<function>``: the name the API enqueues, a saq
worker registers, a cron schedule runs and ``difyd jobs`` lists.

Two plugins may both have a ``cleanup`` job; neither is mistaken for the other. A caller may name a job
by its function object, its full name, or its bare function name when only one plugin has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from croniter import croniter

from core.jobs.queue import CronJob, JobFunction, job_name


@dataclass(frozen=True, slots=True)
class NamedCron:
    name: str  # the job's full name
    cron: CronJob


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What ``difyd jobs list`` shows of one job."""

    name: str
    plugin: str
    schedule: str | None
    summary: str


class UnknownJob(LookupError):
    pass


class JobCatalog:
    def __init__(self, functions: Mapping[str, JobFunction], crons: Iterable[NamedCron] = ()) -> None:
        self.functions = dict(functions)
        self.crons = list(crons)
        self._by_function = {id(function): name for name, function in self.functions.items()}

    @classmethod
    def of(
        cls, functions: Iterable[JobFunction], cron_jobs: Iterable[CronJob] = (), plugin: str = ""
    ) -> JobCatalog:
        """One owner's jobs (``plugin`` empty: bare names, for runners used on their own)."""
        return build_catalog(
            [(plugin, function) for function in functions], [(plugin, cron) for cron in cron_jobs]
        )

    def resolve(self, job: str | JobFunction) -> str:
        """The full name of a job given by function, full name, or unambiguous bare name."""
        if callable(job):
            name = self._by_function.get(id(job))
            if name is None:
                raise UnknownJob(f"{job_name(job)!r} is not a job of an enabled plugin (its jobs hook)")
            return name
        if job in self.functions:
            return job
        matches = [name for name in self.functions if name.rsplit(".", 1)[-1] == job]
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise UnknownJob(f"job {job!r} is ambiguous: {', '.join(sorted(matches))}; name it in full")
        known = ", ".join(sorted(self.functions)) or "none"
        raise UnknownJob(f"no job named {job!r}; known jobs: {known}")

    def function(self, job: str | JobFunction) -> tuple[str, JobFunction]:
        name = self.resolve(job)
        return name, self.functions[name]

    def describe(self) -> list[JobInfo]:
        schedules = {named.name: named.cron.cron for named in self.crons}
        infos = []
        for name, function in sorted(self.functions.items()):
            # The first paragraph, on one line: a summary that wraps must not be cut mid-sentence.
            summary = " ".join((function.__doc__ or "").strip().split("\n\n", 1)[0].split())
            plugin = name.rsplit(".", 1)[0] if "." in name else ""
            infos.append(JobInfo(name, plugin, schedules.get(name), summary))
        return infos


def qualified(plugin: str, function: JobFunction) -> str:
    return f"{plugin}.{job_name(function)}" if plugin else job_name(function)


def build_catalog(
    functions: Iterable[tuple[str, JobFunction]],
    cron_jobs: Iterable[tuple[str, CronJob]],
    settings_of: Mapping[str, Any] | None = None,
) -> JobCatalog:
    """The catalog of (plugin, function) and (plugin, cron) pairs. A plugin with two different
    functions under one name, or a schedule croniter cannot read, is an error naming the plugin (and
    the setting the schedule came from, when one of the plugin's settings holds it)."""
    from core.plugins import PluginError

    registry: dict[str, JobFunction] = {}
    crons: list[NamedCron] = []
    cron_pairs = list(cron_jobs)
    for plugin, cron in cron_pairs:
        if not croniter.is_valid(cron.cron):
            origin = _setting_holding(plugin, cron.cron, (settings_of or {}).get(plugin))
            raise PluginError(
                f"plugin {plugin!r}: cron schedule {cron.cron!r} of job {qualified(plugin, cron.function)!r} "
                f"is not valid ({_why(cron.cron)}){origin}"
            )
    for plugin, function in [*functions, *((plugin, cron.function) for plugin, cron in cron_pairs)]:
        name = qualified(plugin, function)
        known = registry.setdefault(name, function)
        if known is not function:
            raise PluginError(
                f"plugin {plugin!r} has two job functions named {job_name(function)!r} "
                f"({known.__module__} and {function.__module__}); rename one"
            )
    crons = [NamedCron(qualified(plugin, cron.function), cron) for plugin, cron in cron_pairs]
    return JobCatalog(registry, crons)


def _why(expression: str) -> str:
    """croniter's reason, or the expected shape when it gives none."""
    try:
        croniter(expression)
    except Exception as exc:
        reason = " ".join(str(exc).split())
        if reason:
            return reason
    return "five fields: minute hour day-of-month month day-of-week, or six with seconds"


def _setting_holding(plugin: str, value: str, settings: Any) -> str:
    """`` (set by plugin.x.key, DIFYD_PLUGINS__X__KEY)`` when one of the plugin's settings is ``value``."""
    if settings is None or not hasattr(settings, "__struct_fields__"):
        return ""
    from core.settings import dotted_to_env

    for field in settings.__struct_fields__:
        if getattr(settings, field, None) == value:
            dotted = f"plugin.{plugin}.{field}"
            return f" (set by {dotted}, {dotted_to_env(dotted)})"
    return ""
