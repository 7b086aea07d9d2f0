"""Load scenario YAML files: bundled names or paths, ``extends:`` inheritance, clear errors.

Errors read ``FILE: FIELD.PATH[i]: what is wrong (got VALUE); allowed: ...`` and are
raised as :class:`~evpath.errors.ScenarioError`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evpath.errors import ScenarioError
from evpath.scenario.schema import Scenario

MAX_EXTENDS_DEPTH = 10


def bundled_dir() -> Path:
    """Folder of the scenarios shipped with evpath."""
    return Path(str(resources.files("evpath.scenarios")))


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario names and their files."""
    return {p.stem.replace("_", "-"): p for p in sorted(bundled_dir().glob("*.yaml"))}


def resolve_path(ref: str | Path, relative_to: Path | None = None) -> Path:
    """Find a scenario by bundled name or by path (relative to the extending file)."""
    bundled = bundled_scenarios()
    if isinstance(ref, str) and ref in bundled:
        return bundled[ref]
    path = Path(ref)
    if not path.is_absolute() and relative_to is not None:
        candidate = relative_to.parent / path
        if candidate.exists():
            return candidate
    if path.exists():
        return path
    msg = (
        f"{ref}: no such scenario file; allowed: a path to a YAML file or a bundled "
        f"scenario name ({', '.join(bundled)})"
    )
    raise ScenarioError(msg)


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
    try:
        return Scenario.model_validate(merged)
    except ValidationError as exc:
        where = str(path) if len(chain) == 1 else f"{path} (extending {', '.join(chain[1:])})"
        raise ScenarioError(format_validation_error(where, exc, Scenario)) from None


def read_yaml_mapping(path: Path, kind: str = "scenario") -> dict[str, Any]:
    """The YAML mapping in ``path``; ScenarioError naming the file, line and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the file ({exc.strerror})"
        raise ScenarioError(msg) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        msg = f"{path}: not valid YAML{at}: {problem}"
        raise ScenarioError(msg) from None
    if not isinstance(document, dict):
        msg = f"{path}: got a {type(document).__name__}; allowed: a YAML mapping of {kind} fields"
        raise ScenarioError(msg)
    return document


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
        msg = f"{path}: extends: got {base_ref!r}; allowed: a bundled scenario name or a path"
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
    Data mappings (shares, mixes, values by segment, and anything keyed by year: paths
    and grid pathways) and every other value, lists and null included, replace the base
    value whole.
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
        else:
            merged[key] = value
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
