"""Our inventory as YAML or JSON (config/inventory.example.yaml shows it): `assets:` is a list of records with the
fields of our CSV. `tags` is a list (or a `;` string); `vibs` a list of `{name, version}`, a mapping
`{i40en: 1.10.6}` or a CSV-style `i40en=1.10.6;i40enu=1.8.1` string.

YAML is read with every scalar as text, so `version: 1.10` stays "1.10" rather than becoming the number 1.1.
Problems are located by path, `assets[2].vibs` (counted from 0), since there are no rows.
"""

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

import yaml

from tracker.domain.inventory import Asset, ImportResult, Vib
from tracker.domain.words import noun
from tracker.inventory.fields import (
    FIELDS,
    Record,
    Report,
    VibsError,
    asset_from_record,
    checked_vibs,
    clash,
    parse_vibs,
    split_tags,
    vib,
)
from tracker.inventory.table import Duplicates, Problems, Progress, RowCounter, VersionReader, decode, failure, result

T = TypeVar("T")
_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # the C loader when PyYAML was built with libyaml


class _ShapeError(ValueError):
    """A value of the wrong shape (a list where text belongs ...)."""


def read_yaml(path: Path, progress: Progress | None = None) -> ImportResult:
    try:
        # The base loader builds no Python objects and keeps every scalar as text.
        document = yaml.load(decode(path.read_bytes()), Loader=_LOADER)
    except yaml.YAMLError as error:
        return failure(str(path), f"not valid YAML: {_yaml_reason(error)}")
    return _read_document(path, document, progress)


def read_json(path: Path, progress: Progress | None = None) -> ImportResult:
    try:
        document = json.loads(decode(path.read_bytes()))
    except json.JSONDecodeError as error:
        return failure(str(path), f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")
    return _read_document(path, document, progress)


def _yaml_reason(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else str(problem)


def _read_document(path: Path, document: object, progress: Progress | None) -> ImportResult:
    if document is None or document == "":
        return failure(str(path), "the file is empty")
    items = document.get("assets") if isinstance(document, Mapping) else None
    if not isinstance(items, list):
        return failure(str(path), "expected a mapping with an 'assets' list, as in config/inventory.example.yaml")
    if not items:
        return failure(str(path), "the 'assets' list is empty")
    return _read_items(path, items, RowCounter(progress))


def _read_items(path: Path, items: list[object], counter: RowCounter) -> ImportResult:
    problems, versions, duplicates = Problems(str(path)), VersionReader(), Duplicates()
    assets: list[Asset] = []
    warnings: list[str] = []
    for index, item in enumerate(items):
        counter.step()
        where = f"assets[{index}]"
        record, asset = _asset(path, where, item, problems, versions, warnings)
        duplicate = clash(record, duplicates, where) if record else None
        if duplicate:
            problems.add(None, f"{where}.name", duplicate)
        if asset is not None:
            assets.append(asset)
    counter.done()
    return result(assets, problems.items, warnings)


def _asset(
    path: Path, where: str, item: object, problems: Problems, versions: VersionReader, warnings: list[str]
) -> tuple[Record | None, Asset | None]:
    misshapen: set[str] = set()

    def report(field: str, message: str) -> None:
        if field not in misshapen:  # `name: [a, b]` is "expected text", not also "the name is empty"
            problems.add(None, f"{where}.{field}", message)

    def report_shape(field: str, message: str) -> None:
        report(field, message)
        misshapen.add(field)

    if not isinstance(item, Mapping):
        problems.add(None, where, "expected a mapping of fields (name, kind, build, version, ...)")
        return None, None
    fields = {str(key).strip().casefold(): value for key, value in item.items()}
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        warnings.append(f"{path}, {where}: ignored {noun(len(unknown), 'field')} {', '.join(map(repr, unknown))}")
    record, ok = _record(fields, report_shape)
    asset = asset_from_record(record, report, versions, str(path))
    return record, (asset if ok else None)


def _record(fields: Mapping[str, object], report: Report) -> tuple[Record, bool]:
    """The record, and False when some field had the wrong shape (reported)."""
    values: dict[str, str] = {}
    ok = True
    for name in ("name", "kind", "build", "version", "vcenter", "datacenter", "cluster", "owner"):
        try:
            values[name] = _text(fields.get(name))
        except _ShapeError as error:
            report(name, str(error))
            ok = False
    tags, tags_ok = _field(fields.get("tags"), _tags, "tags", report)
    vibs, vibs_ok = _field(fields.get("vibs"), _vibs, "vibs", report)
    return Record(**values, tags=tags, vibs=vibs), ok and tags_ok and vibs_ok


def _field(
    value: object, convert: Callable[[object], tuple[T, ...]], name: str, report: Report
) -> tuple[tuple[T, ...], bool]:
    try:
        return convert(value), True
    except (_ShapeError, VibsError) as error:
        report(name, str(error))
        return (), False


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _ShapeError(f"expected text, got {type(value).__name__} {value!r}")
    return str(value).strip()


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return split_tags(";".join(_text(tag) for tag in value))
    return split_tags(_text(value))


def _vibs(value: object) -> tuple[Vib, ...]:
    if isinstance(value, Mapping):
        return checked_vibs([_named_vib(name, version) for name, version in value.items()])
    if isinstance(value, list):
        return checked_vibs([_vib_item(item) for item in value])
    return parse_vibs(_text(value))


def _vib_item(item: object) -> Vib:
    if isinstance(item, Mapping):
        return _named_vib(item.get("name"), item.get("version"))
    return vib(_text(item))


def _named_vib(name: object, version: object) -> Vib:
    text = _text(name)
    if not text:
        raise VibsError("a VIB without a name: expected e.g. {name: i40en, version: 1.10.6}")
    return vib(f"{text}={_text(version)}" if _text(version) else text)
