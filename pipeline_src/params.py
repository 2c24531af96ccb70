"""Load and validate params.yaml: the single source of truth of the pipeline.

The JSON schema (workflow/schemas/params.schema.yaml) checks keys, types and
names; `check_references` checks what a schema cannot express (a variant's
dataset must be declared, a network must fit its data). Every message starts
with the dotted key path, e.g. ``variants.ns_mlp.loss: 'nonsat' is not one of [...]``.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

import yaml

from pipeline_src import datasets
from pipeline_src.errors import InputError
from pipeline_src.training import DCGAN_SIDES, early_stop_on

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"
DEFAULT_PARAMS = Path("params.yaml")

TOY_MODELS = ("toy_mlp",)
MAX_YAML_VALUES = 100_000  # values after expanding YAML aliases (params.yaml has about 600): refuses "billion laughs"
MAX_YAML_DEPTH = 64        # nesting of mappings and lists (params.yaml nests 4 deep)
MAX_MESSAGE = 300          # characters of one problem message: a huge value is cut, not printed whole


class ParamsError(InputError):
    """params.yaml is invalid; `problems` holds one message per offending key."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently) and reads numbers
    as YAML 1.2 does, like DVC (ruamel): `1e-3` is a float, where YAML 1.1 (PyYAML) wants `1.0e-3`
    and reads a string."""


# YAML 1.2's float (core schema) beside 1.1's, on a copy of SafeLoader's resolvers (PyYAML's
# add_implicit_resolver would append to lists it shares with SafeLoader)
_StrictLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$"),
                                    list("-+.0123456789"))


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, (str, int, float, bool, type(None))):  # `? [a, b]`: a list cannot be a key
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be a name, not a {type(key).__name__}", key_node.start_mark)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_size(node: yaml.Node) -> None:
    """Refuse a document whose aliases expand beyond MAX_YAML_VALUES values or that nests deeper
    than MAX_YAML_DEPTH, before anything is built from it. An alias names a node it shares, so
    each node's expanded size and height are counted once; a shared node reused deeper down is
    checked again at that depth."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}

    def refuse(n: yaml.Node, what: str):
        raise yaml.YAMLError(f"{what} (line {n.start_mark.line + 1})")

    def walk(n: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_YAML_DEPTH:
            refuse(n, f"nested more than {MAX_YAML_DEPTH} levels deep")
        if id(n) not in sizes:
            children = [c for pair in n.value for c in pair] if isinstance(n, yaml.MappingNode) else (
                n.value if isinstance(n, yaml.SequenceNode) else [])
            size, height = 1, 0
            for child in children:
                s, h = walk(child, depth + 1)
                size, height = size + s, max(height, h + 1)
                if size > MAX_YAML_VALUES:
                    refuse(n, f"aliases expand to more than {MAX_YAML_VALUES} values; write the values out")
            sizes[id(n)], heights[id(n)] = size, height
        if depth + heights[id(n)] > MAX_YAML_DEPTH:
            refuse(n, f"nested more than {MAX_YAML_DEPTH} levels deep")
        return sizes[id(n)], heights[id(n)]

    walk(node, 0)


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ParamsError(str(path), [f"not UTF-8 text (byte {e.start}: {e.reason})"]) from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise ParamsError(str(path), [_short(f"not valid YAML: {e}")]) from None
    except RecursionError:  # PyYAML composes recursively: thousands of levels exhaust the stack first
        raise ParamsError(str(path), [f"not valid YAML: nested more than {MAX_YAML_DEPTH} levels deep"]) from None
    finally:
        loader.dispose()


def _short(message: str) -> str:
    """The message with its middle cut out when long: the key path leads and the reason ends it."""
    if len(message) <= MAX_MESSAGE:
        return message
    half = (MAX_MESSAGE - 5) // 2
    return message[:half] + " ... " + message[-half:]


def load_schema() -> dict:
    """The schema, with each registered dataset's options (from its module) under `datasets` and
    a folder of the user's own images under any other name."""
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    section = schema["properties"]["datasets"]
    section["properties"] = {name: spec.options for name, spec in datasets.DATASETS.items()}
    section["additionalProperties"] = {"$ref": "#/$defs/folder_dataset"}
    return schema


def _key_path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _default_filling_validator(schema: dict):
    """Draft 2020-12 validator that also writes `default` values into the instance."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    base_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from base_properties(validator, properties, instance, schema)

    def whole_pattern(validator, pattern, instance, schema):
        # jsonschema uses re.search, whose `$` also matches before a final newline: a name "vx\n"
        # passed, and split the shell commands it went into. The whole string must match.
        if validator.is_type(instance, "string") and not re.fullmatch(pattern.removeprefix("^").removesuffix("$"), instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    cls = validators.extend(Draft202012Validator, {"properties": properties_with_defaults, "pattern": whole_pattern})
    return cls(schema)


def _unknown_keys(error, schema_root: dict) -> list[str]:
    """Messages for additionalProperties/unevaluatedProperties errors, one per key."""
    instance = error.instance
    allowed: set[str] = set()

    def collect(sub: dict) -> None:
        if "$ref" in sub:
            ref = sub["$ref"].removeprefix("#/")
            target = schema_root
            for part in ref.split("/"):
                target = target[part]
            collect(target)
        allowed.update(sub.get("properties", {}))
        for s in sub.get("allOf", []):
            collect(s)

    collect(error.schema)
    unknown = sorted(k for k in instance if k not in allowed) if isinstance(instance, dict) else []
    where = list(error.absolute_path)
    hint = f" (allowed: {', '.join(sorted(allowed))})" if allowed else ""
    return [f"{_key_path(where + [k])}: unknown key{hint}" for k in unknown]


def _unregistered_dataset(error) -> bool:
    """A `datasets:` entry that is neither a registered name nor a folder (no `folder:`)."""
    where = list(error.absolute_path)
    return (len(where) == 2 and where[0] == "datasets" and where[1] not in datasets.DATASETS
            and isinstance(error.instance, dict) and "folder" not in error.instance)


def value_problems(node: Any, where: list | None = None) -> list[str]:
    """What no schema keyword catches: NaN and infinity, which every minimum and maximum accepts
    (NaN compares false), and mapping keys that are not strings (YAML's `1:`, `true:`)."""
    where = where or []
    if isinstance(node, dict):
        problems = []
        for key, value in node.items():
            if isinstance(key, str):
                problems += value_problems(value, where + [key])
            else:
                problems.append(_short(f"{_key_path(where)}: the key {key!r} is not a name; quote it or rename it"))
        return problems
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in value_problems(value, where + [i])]
    if isinstance(node, float) and not math.isfinite(node):
        return [f"{_key_path(where)}: {node} is not a finite number"]
    return []


def schema_problems(params: Any, schema: dict | None = None) -> list[str]:
    """Validate (and fill defaults into) `params`; return one message per problem."""
    schema = schema if schema is not None else load_schema()
    validator = _default_filling_validator(schema)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.absolute_path))):
        if error.validator in ("additionalProperties", "unevaluatedProperties"):
            problems.extend(_unknown_keys(error, schema))
        elif error.validator == "required" and _unregistered_dataset(error):
            name = error.absolute_path[-1]
            problems.append(f"datasets.{name}: unknown key: not a registered dataset "
                            f"(registered: {', '.join(sorted(datasets.DATASETS))}); "
                            f"for a folder of your own images, give `folder: PATH`")
        elif error.validator == "required":
            problems.append(f"{_key_path(error.absolute_path)}: {error.message}")
        else:
            problems.append(_short(f"{_key_path(error.absolute_path)}: {error.message}"))
    return list(dict.fromkeys(problems))  # allOf branches may report a key twice


def resolve_variant(params: dict, name: str) -> dict:
    """The options of one variant: `train` defaults overridden by the variant's keys."""
    return {**params["train"], **params["variants"][name]}


def reference_problems(params: dict) -> list[str]:
    """Checks across keys that the JSON schema cannot express."""
    problems = []
    declared = params["datasets"]
    for name, options in declared.items():
        spec = datasets.spec_of(name, options)
        if spec.native_side and options.get("resize") == "pad" and options["side"] < spec.native_side:
            problems.append(
                f"datasets.{name}.side: {options['side']} is smaller than the native "
                f"{spec.native_side}; `resize: pad` cannot shrink, use `resize: bilinear`"
            )
    for vname, variant in params["variants"].items():
        dname = variant["dataset"]
        if dname not in declared:
            problems.append(
                f"variants.{vname}.dataset: {dname!r} is not declared under `datasets` "
                f"(declared: {', '.join(declared)})"
            )
            continue
        spec = datasets.spec_of(dname, declared[dname])
        model = variant["model"]
        if spec.kind == "points" and model not in TOY_MODELS:
            problems.append(
                f"variants.{vname}.model: {model!r} is a network for images; "
                f"{dname} is point data, use one of {list(TOY_MODELS)}"
            )
        if spec.kind == "image" and model in TOY_MODELS:
            problems.append(
                f"variants.{vname}.model: {model!r} is for point data; {dname} is an image dataset"
            )
        options = resolve_variant(params, vname)
        if options["batch_size"] % options["pack"]:
            problems.append(
                f"variants.{vname}.pack: {options['pack']} does not divide the batch size {options['batch_size']}"
            )
        if early_stop_on(options["early_stop"]) and not options["snapshot_every"]:
            problems.append(
                f"variants.{vname}.early_stop: a run is scored at its snapshots, but snapshot_every is 0; "
                "set snapshot_every (train or the variant) or turn early_stop off"
            )
        side = declared[dname].get("side")
        if model == "dcgan" and side not in DCGAN_SIDES:
            problems.append(
                f"variants.{vname}.model: dcgan supports image sides {list(DCGAN_SIDES)}, "
                f"but datasets.{dname}.side is {side}"
            )
    for i, (a, b) in enumerate(params["report"]["comparisons"]):
        missing = [name for name in (a, b) if name not in params["variants"]]
        problems += [f"report.comparisons.{i}: {name!r} is not a key of `variants`" for name in missing]
        if a == b:
            problems.append(f"report.comparisons.{i}: compares {a!r} with itself")
        elif not missing and params["variants"][a]["dataset"] != params["variants"][b]["dataset"]:
            problems.append(f"report.comparisons.{i}: {a!r} trains on {params['variants'][a]['dataset']} and "
                            f"{b!r} on {params['variants'][b]['dataset']}; a paired comparison needs one dataset")
    return problems


def validate_params(raw: Any, source: str = "params.yaml") -> dict:
    """Return a validated copy of `raw` with defaults filled in, or raise ParamsError."""
    params = copy.deepcopy(raw)
    if isinstance(params, dict) and isinstance(params.get("datasets"), dict):
        # `mnist:` with nothing after it means "all defaults"
        for name, options in params["datasets"].items():
            if options is None:
                params["datasets"][name] = {}
    problems = value_problems(params)
    if not problems:
        problems = schema_problems(params)
    if not problems:
        problems = reference_problems(params)
    if problems:
        raise ParamsError(source, problems)
    return params


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    """Read, validate and resolve params.yaml (raises ParamsError / InputError)."""
    return validate_params(read_yaml(path), str(path))
