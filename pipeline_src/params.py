"""Load and validate params.yaml: the single source of truth of the pipeline.

The JSON schema (workflow/schemas/params.schema.yaml) checks keys, types and
names; `check_references` checks what a schema cannot express (a variant's
dataset must be declared, a network must fit its data). Every message starts
with the dotted key path, e.g. ``variants.ns_mlp.loss: 'nonsat' is not one of [...]``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from pipeline_src import datasets
from pipeline_src.errors import InputError
from pipeline_src.training import DCGAN_SIDES

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "params.schema.yaml"
DEFAULT_PARAMS = Path("params.yaml")

TOY_MODELS = ("toy_mlp",)


class ParamsError(InputError):
    """params.yaml is invalid; `problems` holds one message per offending key."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None,
                f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as e:
        raise ParamsError(str(path), [f"not valid YAML: {e}"]) from None


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _key_path(parts) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def _default_filling_validator(schema: dict):
    """Draft 2020-12 validator that also writes `default` values into the instance."""
    from jsonschema import Draft202012Validator, validators

    base_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from base_properties(validator, properties, instance, schema)

    cls = validators.extend(Draft202012Validator, {"properties": properties_with_defaults})
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
            problems.append(f"{_key_path(error.absolute_path)}: {error.message}")
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
        side = declared[dname].get("side")
        if model == "dcgan" and side not in DCGAN_SIDES:
            problems.append(
                f"variants.{vname}.model: dcgan supports image sides {list(DCGAN_SIDES)}, "
                f"but datasets.{dname}.side is {side}"
            )
    for i, (a, b) in enumerate(params["report"]["comparisons"]):
        for name in (a, b):
            if name not in params["variants"]:
                problems.append(f"report.comparisons.{i}: {name!r} is not a key of `variants`")
    return problems


def validate_params(raw: Any, source: str = "params.yaml") -> dict:
    """Return a validated copy of `raw` with defaults filled in, or raise ParamsError."""
    params = copy.deepcopy(raw)
    if isinstance(params, dict) and isinstance(params.get("datasets"), dict):
        # `mnist:` with nothing after it means "all defaults"
        for name, options in params["datasets"].items():
            if options is None:
                params["datasets"][name] = {}
    problems = schema_problems(params)
    if not problems:
        problems = reference_problems(params)
    if problems:
        raise ParamsError(source, problems)
    return params


def load_params(path: str | Path = DEFAULT_PARAMS) -> dict:
    """Read, validate and resolve params.yaml (raises ParamsError / InputError)."""
    return validate_params(read_yaml(path), str(path))
