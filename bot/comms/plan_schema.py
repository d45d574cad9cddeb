"""The rollout plan file: its schema, and YAML loading that remembers the line of every key and item, so each
problem is reported as "plan.yml:12: phases[1].messages[0].time: ..."."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.functional_validators import AfterValidator

from bot.comms.errors import PlanError

_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("use 1-40 lower-case letters, digits and '-', starting with a letter or digit")
    return value


Slug = Annotated[str, AfterValidator(_slug)]


class MessageSpec(BaseModel):
    """One message of a phase: when (`at`, `day` + `time`, or `cron`), to whom, and what (`template` or `text`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: Slug
    at: dt.datetime | None = None
    day: int | None = None  # days from the phase start; negative is before it
    time: str | None = None
    cron: str | None = None
    starting: dt.date | None = Field(None, alias="from")
    until: dt.date | None = None
    to: list[str] | None = None
    template: str | None = None
    values: dict[str, str] = Field(default_factory=dict, alias="with")
    text: str | None = None

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, int):  # YAML 1.1 reads an unquoted 9:00 as 540 (base 60)
            raise ValueError("write the time in quotes, e.g. '09:00'")
        if value is not None and not _TIME.fullmatch(str(value)):
            raise ValueError(f"'{value}' is not a time: write HH:MM, e.g. '09:00'")
        return value

    @model_validator(mode="after")
    def _one_of_each(self) -> MessageSpec:
        if sum(x is not None for x in (self.at, self.day, self.cron)) != 1:
            raise ValueError("give exactly one of 'at' (a date and time), 'day' (with 'time') or 'cron'")
        if (self.day is None) != (self.time is None):
            raise ValueError("'day' and 'time' go together: e.g. day: -14 and time: '09:00'")
        if (self.starting or self.until) and self.cron is None:
            raise ValueError("'from' and 'until' only apply to a 'cron' message")
        if (self.template is None) == (self.text is None):
            raise ValueError("give exactly one of 'template' (a file in prompts/) or 'text'")
        if self.values and self.template is None:
            raise ValueError("'with' gives values to a template's placeholders: add 'template'")
        return self


class PhaseSpec(BaseModel):
    """A phase of the rollout: its dates, its default audience and its messages."""

    model_config = ConfigDict(extra="forbid")

    id: Slug
    name: str = Field(min_length=1, max_length=120)
    start: dt.date
    end: dt.date | None = None
    audience: list[str] = Field(default_factory=list)
    messages: list[MessageSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates(self) -> PhaseSpec:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"'end' ({self.end}) is before 'start' ({self.start})")
        return self


class PlanSpec(BaseModel):
    """A rollout plan."""

    model_config = ConfigDict(extra="forbid")

    plan: Slug
    timezone: str | None = None
    channels: dict[str, str] = Field(default_factory=dict)  # name -> channel id, so `to` can say '#name'
    phases: list[PhaseSpec] = Field(min_length=1)


class LineDict(dict):
    """A YAML mapping that knows the line of itself and of each key."""

    line: int = 0
    lines: dict


class LineList(list):
    """A YAML sequence that knows the line of itself and of each item."""

    line: int = 0
    lines: list


class _Loader(yaml.SafeLoader):
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    mapping = LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.lines = {key.value: key.start_mark.line + 1 for key, _ in node.value}
    return mapping


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    sequence = LineList(loader.construct_sequence(node, deep=True))
    sequence.line = node.start_mark.line + 1
    sequence.lines = [item.start_mark.line + 1 for item in node.value]
    return sequence


def _timestamp(loader: _Loader, node: yaml.ScalarNode):
    """A date or time; one that looks like a date but is none (2027-18-01) is a YAML error at its line, not a crash."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{node.value}' is not a date ({exc}): write YYYY-MM-DD, e.g. 2027-01-18",
            node.start_mark) from None


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def load_plan(path: Path) -> tuple[PlanSpec, LineDict]:
    """Read and check a plan file against the schema; PlanError with every problem and its line."""
    name = str(path)
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise PlanError([f"{name}: can't read it: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{name}:{mark.line + 1}" if mark else name
        raise PlanError([f"{place}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(raw, LineDict):
        raise PlanError([f"{name}:1: a plan is a mapping with 'plan', 'timezone' and 'phases'"])
    try:
        return PlanSpec.model_validate(raw), raw
    except ValidationError as exc:
        raise PlanError([f"{name}:{line_of(raw, e['loc'])}: {where(e['loc'])}: {_message(e)}"
                         for e in exc.errors()]) from exc


def line_of(data: Any, loc: tuple) -> int:
    """The line of the deepest part of `loc` that exists in the loaded YAML."""
    line = getattr(data, "line", 1)
    for part in loc:
        if isinstance(data, LineDict) and part in data:
            line, data = data.lines[part], data[part]
        elif isinstance(data, LineList) and isinstance(part, int) and part < len(data):
            line, data = data.lines[part], data[part]
        else:
            break
    return line


def where(loc: tuple) -> str:
    """A location as a path: phases[1].messages[0].time."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "plan"


def _message(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        return "unknown field (check the spelling; see knowledge/rollout-plan.example.yml)"
    return message
