"""Load scenario YAML files: bundled names or paths, ``extends:`` inheritance, clear errors.

Errors read ``FILE: FIELD.PATH[i]: what is wrong (got VALUE); allowed: ...`` and are
raised as :class:`~evpath.errors.ScenarioError`.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from evpath.core.yaml_loader import SafeLoader
from evpath.errors import InputError, ScenarioError
from evpath.scenario.base import REPLACED_WHOLE
from evpath.scenario.schema import Scenario
from evpath.scenario.uncertainty import check_drawable

Document = TypeVar("Document", bound=BaseModel)
"""A validated file of another kind than a scenario (alliance, disruptions)."""

MAX_EXTENDS_DEPTH = 10
"""Longest chain of ``extends:`` (a longer one is taken for a cycle)."""
MAX_FILE_BYTES = 1_000_000
"""Largest scenario or alliance file read [bytes]."""
MAX_NESTING = 32
"""Deepest nesting of mappings and lists in a file (the schema needs about six)."""
MAX_NODES = 200_000
"""Most values in a file, counting each use of a YAML alias (``*name``) in full."""
MAX_PATH_CHARS = 1024
"""Longest file path or ``extends:`` reference [characters]."""
YAML_SUFFIXES = (".yaml", ".yml")
"""Suffixes of the files an ``extends:`` may name (besides bundled scenario names)."""


def bundled_files(package: str) -> dict[str, Path]:
    """YAML files shipped in ``package`` by name (``japan_2050.yaml`` is ``japan-2050``)."""
    folder = Path(str(resources.files(package)))
    return {p.stem.replace("_", "-"): p for p in sorted(folder.glob("*.yaml"))}


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names and their files."""
    return bundled_files("evpath.scenarios")


def bundled_or_file(ref: str | Path, bundled: dict[str, Path], kind: str) -> Path:
    """The file of a bundled ``kind`` name or of a path; ScenarioError if neither."""
    if isinstance(ref, str) and ref in bundled:
        return bundled[ref]
    path = find_file(ref)
    if path is not None:
        return path
    msg = (
        f"{str(ref)[:200]}: no such {kind} file; allowed: a path to a YAML file or a "
        f"bundled {kind} name ({', '.join(bundled)})"
    )
    raise ScenarioError(msg)


def load_document(
    ref: str | Path | dict[str, Any], model: type[Document], kind: str, bundled: dict[str, Path]
) -> Document:
    """Read and validate a ``kind`` file other than a scenario (an alliance, say): a bundled
    name, a path, or the file's content already parsed.

    Raises
    ------
    ScenarioError
        Naming the file, the field path, the bad value and what is allowed.
    """
    if isinstance(ref, dict):
        where, document = f"<{kind}>", ref
    else:
        path = bundled_or_file(ref, bundled, kind)
        where, document = str(path), read_yaml_mapping(path, kind)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        text = format_validation_error(where, exc, model)
        raise ScenarioError(
            text.replace(": invalid scenario", f": invalid {kind} file", 1)
        ) from None


def resolve_path(ref: str | Path, relative_to: Path | None = None) -> Path:
    """Find a scenario by bundled name or by path (relative to the extending file).

    With ``relative_to`` (the file whose ``extends:`` names ``ref``) the path must end in
    ``.yaml`` or ``.yml``. Either way it must name a regular file.
    """
    bundled = bundled_scenarios()
    if isinstance(ref, str) and ref in bundled:
        return bundled[ref]
    where = f"{relative_to}: extends: " if relative_to is not None else ""
    if relative_to is not None and Path(check_reference(ref, where)).suffix not in YAML_SUFFIXES:
        msg = (
            f"{where}got {_shown(str(ref))}; allowed: a bundled scenario name "
            f"({', '.join(bundled)}) or a path to a .yaml or .yml file"
        )
        raise ScenarioError(msg)
    found = find_file(ref, relative_to, where)
    if found is not None:
        return found
    what = (
        "a bundled makers' scope, not a scenario (run, targets, validate and report take scopes)"
        if isinstance(ref, str) and ref in bundled_files("evpath.scopes")
        else "no such scenario file"
    )
    msg = (
        f"{where}{_cut(str(ref))}: {what}; allowed: a path to a YAML file or a bundled "
        f"scenario name ({', '.join(bundled)})"
    )
    raise ScenarioError(msg)


def check_reference(ref: str | Path, where: str = "") -> str:
    """``ref`` as text, if it can name a file: at most ``MAX_PATH_CHARS``, no control
    characters. ``where`` prefixes the error (e.g. ``FILE: extends: ``)."""
    text = str(ref)
    if len(text) > MAX_PATH_CHARS:
        msg = (
            f"{where}got a path of {len(text):,} characters ({_shown(text)}); allowed: a path "
            f"of at most {MAX_PATH_CHARS} characters"
        )
        raise ScenarioError(msg)
    if not text or any(ord(c) < 32 or ord(c) == 127 for c in text):
        msg = f"{where}got {_shown(text)}; allowed: a file path without control characters"
        raise ScenarioError(msg)
    return text


def find_file(ref: str | Path, relative_to: Path | None = None, where: str = "") -> Path | None:
    """The regular file ``ref`` names (first relative to ``relative_to``'s folder, then to
    the working folder), or None when there is none; ScenarioError when ``ref`` names
    something that is not a regular file (a folder, a device, a pipe)."""
    path = Path(check_reference(ref, where))
    candidates = [path]
    if not path.is_absolute() and relative_to is not None:
        candidates.insert(0, relative_to.parent / path)
    for candidate in candidates:
        try:
            exists = candidate.exists()
            regular = candidate.is_file()
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "an unusable path"
            msg = f"{where}{_cut(str(candidate))}: cannot look up the file ({reason})"
            raise ScenarioError(msg) from None
        if exists and not regular:
            msg = (
                f"{where}{_cut(str(candidate))}: not a regular file; allowed: a YAML file "
                f"of at most {MAX_FILE_BYTES:,} bytes"
            )
            raise ScenarioError(msg)
        if exists:
            return candidate
    return None


def _shown(text: str, limit: int = 80) -> str:
    """``text`` quoted, cut to ``limit`` characters for messages."""
    return repr(text) if len(text) <= limit else f"{text[:limit]!r}..."


def _cut(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters, control characters escaped, for messages."""
    shown = text if len(text) <= limit else f"{text[:limit]}..."
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)


def load_scenario(ref: str | Path) -> Scenario:
    """Load, merge (``extends:``) and validate a scenario.

    Parameters
    ----------
    ref : str or Path
        A bundled scenario name (see :func:`bundled_scenarios`) or a YAML file path.

    Raises
    ------
    ScenarioError
        With the file, the field path, the bad value and what is allowed.
    """
    path = resolve_path(ref)
    merged, chain = _merged_document(path, depth=0)
    where = str(path) if len(chain) == 1 else f"{path} (extending {', '.join(chain[1:])})"
    return _validated(merged, where)


def resolve_scenario(scenario: object) -> Scenario:
    """The validated :class:`Scenario` of anything ``evpath.run`` accepts (a Scenario, a
    bundled name, a path, a mapping of scenario fields); InputError otherwise."""
    if isinstance(scenario, Scenario):
        return _revalidated(scenario)
    if isinstance(scenario, str | Path):
        return load_scenario(scenario)
    if isinstance(scenario, Mapping):
        return _from_mapping(scenario)
    names = ", ".join(bundled_scenarios())
    msg = (
        f"scenario: got {_described(scenario)}; allowed: a Scenario, a bundled scenario name "
        f"({names}), a YAML file path, or a mapping of scenario fields"
    )
    raise InputError(msg)


def _described(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _revalidated(scenario: Scenario) -> Scenario:
    name = getattr(scenario, "name", None)
    where = f"scenario {name!r} (a Scenario object)" if isinstance(name, str) else "Scenario"
    try:
        document = scenario.model_dump(warnings=False)
    except PydanticSerializationError as exc:
        msg = f"{where}: cannot be read back as a scenario: {exc}"
        raise ScenarioError(msg) from None
    return _validated(document, where)


def _from_mapping(mapping: Mapping[Any, Any]) -> Scenario:
    name = mapping.get("name")
    where = f"scenario mapping {name!r}" if isinstance(name, str) else "scenario mapping"
    document = dict(mapping)
    base_ref = document.get("extends")
    if base_ref is not None:
        if not isinstance(base_ref, str | Path):
            msg = (
                f"{where}: extends: got {_described(base_ref)}; allowed: a bundled scenario "
                "name or a path"
            )
            raise ScenarioError(msg)
        base, _chain = _merged_document(resolve_path(base_ref), depth=1)
        document = deep_merge(base, document)
    return _validated(document, where)


def _validated(document: dict[str, Any], where: str) -> Scenario:
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(where, exc, Scenario)) from None
    if scenario.uncertainty is not None:
        try:
            check_drawable(
                scenario.model_dump(exclude={"uncertainty"}),
                scenario.uncertainty,
                _validate_document,
                alternative_document,
            )
        except ValueError as exc:
            raise ScenarioError(f"{where}: invalid scenario\n  {exc}") from None
    return scenario


def _validate_document(document: dict[str, Any]) -> None:
    """Validate a scenario document; ValueError with one line per problem."""
    try:
        Scenario.model_validate(document)
    except ValidationError as exc:
        raise ValueError(format_validation_error("", exc, Scenario).split("\n", 1)[1]) from None


def alternative_document(ref: str) -> dict[str, Any]:
    """The validated document of an alternative in an ``uncertainty.choices`` block (a
    bundled scenario name or a file), without its own ``uncertainty`` (which is not
    checked, so that alternatives may name each other)."""
    path = resolve_path(ref)
    merged, _chain = _merged_document(path, depth=0)
    merged.pop("uncertainty", None)
    return _validated(merged, str(path)).model_dump()


class _Refused(Exception):
    """A YAML document beyond evpath's limits (nesting, size) or with a repeated key."""


def _check_limits(text: str) -> None:
    """Refuse YAML beyond evpath's limits, from the parser's events before anything is
    built: nesting deeper than ``MAX_NESTING``, more than ``MAX_NODES`` values (an alias
    counts the values it repeats), or an alias to a value that contains it."""
    open_sizes: list[int] = []  # values so far in each open mapping or list
    open_anchors: list[str | None] = []
    complete: dict[str, int] = {}  # anchor -> values of the finished value it names
    total = 0

    def add(size: int, event: yaml.Event) -> None:
        nonlocal total
        if open_sizes:
            open_sizes[-1] += size
        else:
            total += size
        if max(total, open_sizes[0] if open_sizes else 0) > MAX_NODES:
            msg = (
                f"more than {MAX_NODES:,} values (aliases counted in full) by line "
                f"{_line(event.end_mark)}; allowed: at most {MAX_NODES:,}"
            )
            raise _Refused(msg)

    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in complete:
                msg = (
                    f"alias *{event.anchor} at line {_line(event.start_mark)} refers to a "
                    "value that contains it; allowed: aliases to complete values"
                )
                raise _Refused(msg)
            add(complete[event.anchor], event)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                complete[event.anchor] = 1
            add(1, event)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(open_sizes) >= MAX_NESTING:
                msg = (
                    f"nested deeper than {MAX_NESTING} levels at line "
                    f"{_line(event.start_mark)}; allowed: at most {MAX_NESTING} levels of "
                    "mappings and lists"
                )
                raise _Refused(msg)
            open_sizes.append(1)
            open_anchors.append(event.anchor)
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_sizes.pop(), open_anchors.pop()
            if anchor is not None:
                complete[anchor] = size
            add(size, event)


def _line(mark: Any) -> int | str:
    """The 1-based line of a parser mark ('?' where the parser gives none)."""
    return "?" if mark is None else mark.line + 1


class _LimitedLoader(SafeLoader):
    """PyYAML's safe loader (on libyaml where available) that refuses a key repeated
    within a mapping; :func:`_check_limits` runs first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # unhashable: the base class reports it
            # 2030 and "2030" name the same year once validated: one key, written twice
            first = lines.get(str(key))
            line = key_node.start_mark.line + 1
            if first is not None:
                msg = (
                    f"key {_shown(str(key), 60)} repeated at line {line} (first at line "
                    f"{first}); allowed: each key once in a mapping"
                )
                raise _Refused(msg)
            lines[str(key)] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml_mapping(path: Path, kind: str = "scenario") -> dict[str, Any]:
    """The YAML mapping in ``path``; ScenarioError naming the file, line and problem.

    Limits: a regular file of at most ``MAX_FILE_BYTES`` bytes of UTF-8 text, nested at
    most ``MAX_NESTING`` levels, at most ``MAX_NODES`` values, no key repeated within a
    mapping. The content of a file that is not valid YAML is never shown.
    """
    try:
        if not path.is_file():
            msg = (
                f"{path}: not a regular file; allowed: a YAML file of at most "
                f"{MAX_FILE_BYTES:,} bytes"
            )
            raise ScenarioError(msg)
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or "an unusable path"
        msg = f"{path}: cannot read the file ({reason})"
        raise ScenarioError(msg) from None
    if len(data) > MAX_FILE_BYTES:
        msg = (
            f"{path}: larger than {MAX_FILE_BYTES:,} bytes; allowed: {kind} files of at most "
            f"{MAX_FILE_BYTES:,} bytes"
        )
        raise ScenarioError(msg)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = (
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "allowed: a YAML file encoded in UTF-8"
        )
        raise ScenarioError(msg) from None
    try:
        document = copy.deepcopy(_parsed(text)) if len(data) <= MAX_CACHED_BYTES else _parse(text)
    except _Refused as exc:
        msg = f"{path}: {exc}"
        raise ScenarioError(msg) from None
    except yaml.reader.ReaderError as exc:
        msg = (
            f"{path}: not valid YAML at character {exc.position + 1}: a control character "
            f"(code {exc.character!r}); allowed: {kind} files of printable UTF-8 text"
        )
        raise ScenarioError(msg) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        msg = f"{path}: not valid YAML{at}: {problem}; allowed: a YAML mapping of {kind} fields"
        raise ScenarioError(msg) from None
    except (ValueError, OverflowError, RecursionError):
        msg = (
            f"{path}: not valid YAML: a value cannot be read (a number too long or a date "
            "that does not exist); allowed: numbers of at most 4,300 digits, real dates"
        )
        raise ScenarioError(msg) from None
    if not isinstance(document, dict):
        msg = f"{path}: got a {type(document).__name__}; allowed: a YAML mapping of {kind} fields"
        raise ScenarioError(msg)
    return document


def _parse(text: str) -> Any:
    """The YAML value of ``text`` within evpath's limits (:func:`_check_limits`)."""
    _check_limits(text)
    return yaml.load(text, Loader=_LimitedLoader)


MAX_CACHED_BYTES = 100_000
"""Files up to this size [bytes] are parsed once per text and handed out as deep copies:
an ensemble of choices, the dashboard and ``validate`` over many files read the same
bundled files again and again (the largest is about 21 kB)."""

_parsed = functools.lru_cache(maxsize=32)(_parse)


def _merged_document(path: Path, depth: int) -> tuple[dict[str, Any], list[str]]:
    """The document at ``path`` deep-merged over the one it extends, and the chain of files."""
    if depth > MAX_EXTENDS_DEPTH:
        msg = f"{path}: 'extends' chain longer than {MAX_EXTENDS_DEPTH}; is there a cycle?"
        raise ScenarioError(msg)
    document = read_yaml_mapping(path)
    base_ref = document.get("extends")
    if base_ref is None:
        return document, [str(path)]
    if not isinstance(base_ref, str):
        got = (
            f"got a {type(base_ref).__name__}"
            if isinstance(base_ref, dict | list)
            else f"got {_cut(repr(base_ref), 60)}"
        )
        msg = f"{path}: extends: {got}; allowed: a bundled scenario name or a path"
        raise ScenarioError(msg)
    base_path = resolve_path(base_ref, relative_to=path)
    base, chain = _merged_document(base_path, depth + 1)
    return deep_merge(base, document), [str(path), *chain]


DISCRIMINATORS = ("model", "method", "kind")
"""Keys that choose a block's variant: when an override changes one, the block is replaced."""


def deep_merge(
    base: dict[str, Any], override: dict[str, Any], model: type[BaseModel] | None = Scenario
) -> dict[str, Any]:
    """Merge ``override`` into ``base`` following the schema ``model``.

    Blocks (sub-models, and mappings of blocks such as ``lifetime_by_segment``) merge key
    by key, except that a block whose variant key (``model``, ``method`` or ``kind``)
    changes is replaced whole, so that no parameter of the old variant is left behind.
    Values by label (by segment, powertrain, carrier, metal, charger type) merge label by
    label, so that changing one pack size keeps the others. Shares that must sum to one
    (marked :data:`REPLACED_WHOLE`), anything keyed by year (paths, grid pathways, mixes
    by year) and every other value, lists and null included, replace the base value
    whole.
    """
    merged = dict(base)
    fields = getattr(model, "model_fields", {})
    for key, value in override.items():
        old = merged.get(key)
        annotation = fields[key].annotation if key in fields else None
        block, of_blocks = _block_kind(annotation)
        if (
            isinstance(value, dict)
            and isinstance(old, dict)
            and block is not None
            and not _variant_changes(old, value)
        ):
            merged[key] = deep_merge(old, value, block)
        elif isinstance(value, dict) and isinstance(old, dict) and of_blocks is not None:
            merged[key] = {
                k: deep_merge(old[k], v, of_blocks)
                if isinstance(v, dict)
                and isinstance(old.get(k), dict)
                and not _variant_changes(old[k], v)
                else v
                for k, v in {**old, **value}.items()
            }
        elif (
            isinstance(value, dict)
            and isinstance(old, dict)
            and _by_label(annotation) is not None
            and REPLACED_WHOLE not in fields[key].metadata
        ):
            merged[key] = _merge_by_label(old, value, annotation)
        else:
            merged[key] = value
    return merged


def _by_label(annotation: Any) -> Any | None:
    """For a mapping keyed by labels (segments, powertrains, metals — not years), the
    annotation of its values; None for anything else."""
    if get_origin(annotation) in (Union, UnionType):
        mappings = [a for a in get_args(annotation) if get_origin(a) is dict]
        annotation = mappings[0] if len(mappings) == 1 else None
    if get_origin(annotation) is not dict:
        return None
    key, value = get_args(annotation)
    return None if getattr(key, "__origin__", key) is int else value


def _merge_by_label(old: dict[Any, Any], new: dict[Any, Any], annotation: Any) -> dict[Any, Any]:
    """Values by label merged label by label (nested mappings by label too); the value of
    a label given, a number or a path by year, replaces the old one whole."""
    inner = _by_label(annotation)
    merged = dict(old)
    for label, value in new.items():
        if isinstance(value, dict) and isinstance(old.get(label), dict) and _by_label(inner):
            merged[label] = _merge_by_label(old[label], value, inner)
        else:
            merged[label] = value
    return merged


def _block_kind(annotation: Any) -> tuple[type[BaseModel] | None, type[BaseModel] | None]:
    """(model, None) for a block field; (None, model) for a mapping of blocks; else (None, None)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, None
    origin = getattr(annotation, "__origin__", None)
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())
    if origin is dict and len(args) == 2:
        key, value = args
        by_year = getattr(key, "__origin__", key) is int  # a path: replaced whole
        if isinstance(value, type) and issubclass(value, BaseModel) and not by_year:
            return None, value
        return None, None
    for arg in args:  # Optional[Block] and other unions
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg, None
    return None, None


def _variant_changes(base: dict[str, Any], override: dict[str, Any]) -> bool:
    return any(k in override and k in base and override[k] != base[k] for k in DISCRIMINATORS)


def format_field_path(loc: tuple[int | str, ...]) -> str:
    """``('sales', 'milestones', 2, 'shares', 'BEV')`` -> ``sales.milestones[2].shares.BEV``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


TYPE_MISMATCHES = {
    "dict_type",
    "float_type",
    "float_parsing",
    "int_type",
    "model_type",
    "list_type",
}
"""Error types pydantic reports for each non-matching member of a union."""


EXPECTED = {
    "int": "a whole number of usual size",
    "float": "a finite number",
    "string": "text",
    "bool": "true or false",
    "dict": "a mapping",
    "list": "a list",
}
"""What a field of each type allows, for pydantic messages that do not say."""


def format_validation_error(where: str, exc: ValidationError, model: type[BaseModel]) -> str:
    """A header naming the file, then one line per problem: ``field.path: message (got value)``."""
    errors = exc.errors(include_url=False)
    by_path: dict[tuple[int | str, ...], list[Any]] = {}
    for error in errors:
        loc = tuple(p for p in error["loc"] if not _is_union_tag(p))
        by_path.setdefault(loc, []).append(error)
    lines: list[str] = []
    for loc, group in by_path.items():
        deeper = any(other[: len(loc)] == loc and len(other) > len(loc) for other in by_path)
        specific = [e for e in group if e["type"] not in TYPE_MISMATCHES]
        if deeper and not specific:
            continue  # a union member that failed on type; the member that fits says more
        chosen = specific if specific and len(group) > 1 else group
        lines.extend(_error_line(loc, error, model) for error in chosen)
    body = "\n".join(f"  {line}" for line in dict.fromkeys(lines))
    return f"{where}: invalid scenario\n{body}"


def _error_line(loc: tuple[int | str, ...], error: Any, model: type[BaseModel]) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    if error["type"] == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        message = "unknown field" + (
            f"; allowed fields here: {', '.join(allowed)}" if allowed else ""
        )
        got = None
    elif error["type"] == "missing":
        message = "required field is missing"
        got = None
    elif message.startswith("Input should be"):
        message = "allowed: " + message.removeprefix("Input should be ")
    elif "allowed" not in message:
        kind = str(error["type"]).split("_", 1)[0]
        if kind in EXPECTED:
            message = f"{message[:1].lower()}{message[1:]}; allowed: {EXPECTED[kind]}"
    path = format_field_path(loc)
    if not path and ": got" in message:
        return message
    shown = "" if got is None or isinstance(got, dict | list) else f" (got {got!r})"
    return f"{path or '<top level>'}: {message}{shown}"


def _is_union_tag(part: int | str) -> bool:
    """Pydantic inserts the tried type in paths through unions (``float``, ``dict[int,float]``)."""
    return isinstance(part, str) and (
        part in {"float", "int", "str", "none"} or "[" in part or part.startswith("constrained-")
    )


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the sub-model reached by ``loc`` (empty when not a model)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return []
        current = _model_in(fields[part].annotation)
    return list(getattr(current, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as ``list[Model]`` or ``dict[str, Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
