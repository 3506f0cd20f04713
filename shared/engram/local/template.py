"""The SAM template as the local runtime sees it: routes, tables, streams, schedules, environment.

``template.yaml`` is the single description of the service, so local mode reads it rather than
keeping a second list of routes. Only the parts local mode needs are modelled; everything else
(IAM policies, alarms, outputs) is ignored. CloudFormation intrinsics are parsed into their
long form (``!Ref X`` → ``{"Ref": "X"}``) so one evaluator handles both spellings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STACK_NAME = "engram-local"
ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
API_ID = "local"

# Tags whose value is a scalar/sequence spelled in long form as "Fn::<Name>".
_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "Length",
    "ToJsonString",
)


class TemplateError(Exception):
    """The template cannot be read or does not describe something local mode can run."""


class Unresolvable(Exception):
    """An intrinsic whose value only exists in a deployed stack (e.g. an OpenSearch endpoint)."""


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A SafeLoader that understands CloudFormation short tags: libyaml's when PyYAML was built
    with it (its wheels are; ten times faster on the template, a second of every local start)."""


def _construct_tagged(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # !GetAtt Resource.Attr.Maybe.Dotted → ["Resource", "Attr.Maybe.Dotted"]
        resource, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [resource, attribute]}
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tagged)


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise TemplateError(f"template {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"template {path} has no Resources section")
    return data


# --------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class HttpRoute:
    method: str  # upper case, or "ANY"
    path: str  # "/v1/sessions/{id}" or "$default"
    function_id: str
    authorizer: str | None  # authorizer name, or None for an unauthenticated route
    api_id: str  # the logical id of the HttpApi resource ("" for the implicit API)
    payload_format: str = "2.0"

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function_id: str
    payload_format: str
    simple_responses: bool
    identity_headers: tuple[str, ...]  # lower-cased header names from Identity.Headers
    identity_query: tuple[str, ...]


@dataclass(frozen=True)
class HttpApiSpec:
    logical_id: str
    authorizers: dict[str, AuthorizerSpec]
    default_authorizer: str | None
    cors: dict[str, Any] | None


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    properties: dict[str, Any]  # the (intrinsics-resolved) AWS::DynamoDB::Table properties
    table_name: str

    @property
    def ttl_attribute(self) -> str | None:
        spec = self.properties.get("TimeToLiveSpecification") or {}
        if spec.get("Enabled") in (True, "true", "True") and spec.get("AttributeName"):
            return str(spec["AttributeName"])
        return None

    @property
    def stream_view_type(self) -> str | None:
        spec = self.properties.get("StreamSpecification") or {}
        view = spec.get("StreamViewType")
        return str(view) if view else None


@dataclass(frozen=True)
class StreamSubscription:
    function_id: str
    event_name: str
    table_id: str
    batch_size: int
    starting_position: str
    maximum_retry_attempts: int  # -1: retry until the record expires, as Lambda does
    report_batch_item_failures: bool
    on_failure_destination: str | None
    enabled: bool


@dataclass(frozen=True)
class ScheduleSpec:
    function_id: str
    event_name: str
    expression: str
    interval_seconds: float | None  # None: an expression local mode cannot run (cron)
    input: str | None
    enabled: bool
    v2: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str  # "app.lambda_handler"
    runtime: str
    timeout_seconds: float
    memory_mb: int
    environment: dict[str, Any]  # unresolved values; see SamTemplate.environment()

    @property
    def handler_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def handler_attribute(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def function_name(self) -> str:
        return f"{STACK_NAME}-{self.logical_id}"


@dataclass
class SamTemplate:
    path: Path
    raw: dict[str, Any]
    functions: dict[str, FunctionSpec]
    routes: list[HttpRoute]
    apis: dict[str, HttpApiSpec]
    tables: dict[str, TableSpec]
    streams: list[StreamSubscription]
    schedules: list[ScheduleSpec]
    global_environment: dict[str, Any]
    region: str = DEFAULT_REGION
    # Filled in once the tables exist: logical id → stream ARN (the label is only known then).
    stream_arns: dict[str, str] = field(default_factory=dict)

    def api_for(self, route: HttpRoute) -> HttpApiSpec | None:
        if route.api_id and route.api_id in self.apis:
            return self.apis[route.api_id]
        if len(self.apis) == 1:
            return next(iter(self.apis.values()))
        return self.apis.get("")

    def resolver(self) -> Intrinsics:
        return Intrinsics(self)

    def environment(self) -> tuple[dict[str, str], list[str]]:
        """The union of every function's environment variables, resolved for local mode.

        Returns the variables and human-readable warnings (unresolvable values, conflicts).
        All functions share one process locally, so a name that two functions set differently
        cannot be honoured for both: a function's own value beats the Globals default (that
        function needs it), the first function in name order wins a tie, and both are reported.
        """
        resolver = self.resolver()
        warnings: list[str] = []

        def resolved(source: str, variables: dict[str, Any]) -> dict[str, str]:
            out: dict[str, str] = {}
            for name, raw_value in variables.items():
                try:
                    value = resolver.resolve(raw_value)
                except Unresolvable as exc:
                    warnings.append(f"{source}: {name} left unset ({exc})")
                    continue
                if value is not _NO_VALUE:
                    out[name] = _env_string(value)
            return out

        merged: dict[str, str] = {}
        origin: dict[str, str] = {}
        for function_id, function in sorted(self.functions.items()):
            for name, value in resolved(function_id, function.environment).items():
                if name not in merged:
                    merged[name], origin[name] = value, function_id
                elif merged[name] != value:
                    warnings.append(
                        f"{name}: {origin[name]} sets {merged[name]!r} but {function_id} sets "
                        f"{value!r}; local mode runs every function in one process and uses "
                        f"{merged[name]!r}"
                    )
        for name, value in resolved("Globals", self.global_environment).items():
            if name not in merged:
                merged[name] = value
            elif merged[name] != value:
                warnings.append(
                    f"{name}: {origin[name]} overrides the Globals value {value!r} with "
                    f"{merged[name]!r}; locally every function sees {merged[name]!r}"
                )
        return merged, warnings


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------------------------
# Intrinsic functions

_NO_VALUE = object()  # AWS::NoValue: the property is dropped


class Intrinsics:
    """Evaluates CloudFormation intrinsics with local values.

    Parameters take their ``Default``; ``!Ref Table`` is the local table name; ARNs are
    synthesised in the local account. Anything that only a deployed stack knows raises
    :class:`Unresolvable`.
    """

    def __init__(self, template: SamTemplate) -> None:
        self._template = template
        self._resources: dict[str, Any] = template.raw.get("Resources") or {}
        self._parameters: dict[str, Any] = template.raw.get("Parameters") or {}
        self._conditions: dict[str, Any] = template.raw.get("Conditions") or {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Condition":
                return self.condition(str(arg))
            if key.startswith("Fn::"):
                return self._function(key[4:], arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self._template.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{self._template.region}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self._parameters:
            parameter = self._parameters[name] or {}
            if "Default" not in parameter:
                raise Unresolvable(f"parameter {name} has no Default")
            default = parameter["Default"]
            if str(parameter.get("Type", "")).startswith(("CommaDelimitedList", "List<")):
                return [item.strip() for item in str(default).split(",")]
            return default
        if name in self._template.tables:
            return self._template.tables[name].table_name
        if name in self._template.functions:
            return self._template.functions[name].function_name
        if name in self._resources:
            if self._resources[name].get("Type") in ("AWS::Serverless::HttpApi",):
                return API_ID
            return f"{STACK_NAME}-{name}"
        raise Unresolvable(f"!Ref {name}: no such parameter or resource")

    def get_att(self, resource: str, attribute: str) -> Any:
        region = self._template.region
        if resource in self._template.tables:
            table = self._template.tables[resource]
            if attribute == "Arn":
                return f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table.table_name}"
            if attribute == "StreamArn":
                if resource in self._template.stream_arns:
                    return self._template.stream_arns[resource]
                raise Unresolvable(f"!GetAtt {resource}.StreamArn before the table exists")
        if resource in self._template.functions and attribute == "Arn":
            name = self._template.functions[resource].function_name
            return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
        if resource in self._resources and attribute == "Arn":
            kind = str(self._resources[resource].get("Type", "AWS::Unknown::X"))
            service = kind.split("::")[1].lower() if "::" in kind else "unknown"
            return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{STACK_NAME}-{resource}"
        raise Unresolvable(f"!GetAtt {resource}.{attribute} exists only in a deployed stack")

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise Unresolvable(f"no condition named {name}")
        return bool(self.resolve(self._conditions[name]))

    def _function(self, name: str, arg: Any) -> Any:
        if name == "GetAtt":
            if isinstance(arg, str):
                resource, _, attribute = arg.partition(".")
            else:
                resource, attribute = str(arg[0]), str(self.resolve(arg[1]))
            return self.get_att(resource, attribute)
        if name == "Sub":
            return self._sub(arg)
        if name == "If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self.condition(str(condition)) else if_false)
        if name == "Equals":
            left, right = (self.resolve(item) for item in arg)
            return str(left) == str(right)
        if name == "Not":
            return not self.resolve(arg[0])
        if name == "And":
            return all(self.resolve(item) for item in arg)
        if name == "Or":
            return any(self.resolve(item) for item in arg)
        if name == "Join":
            separator, items = arg
            return str(separator).join(str(item) for item in self.resolve(items))
        if name == "Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Split":
            separator, text = arg
            return str(self.resolve(text)).split(str(separator))
        if name == "FindInMap":
            map_name, top, second = (self.resolve(item) for item in arg)
            try:
                return self._template.raw["Mappings"][map_name][top][second]
            except (KeyError, TypeError) as exc:
                raise Unresolvable(f"!FindInMap {map_name}.{top}.{second}") from exc
        raise Unresolvable(f"Fn::{name} is not evaluated locally")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = str(arg[0]), dict(arg[1]) if len(arg) > 1 else {}
        else:
            text, variables = str(arg), {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):  # ${!Literal} escapes a dollar expression
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(self.resolve(variables[expression]))
            if "." in expression and not expression.startswith("AWS::"):
                resource, _, attribute = expression.partition(".")
                return str(self.get_att(resource, attribute))
            return str(self.ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, text)


# --------------------------------------------------------------------------------------------
# Reading the template

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of ``rate(N unit)``; ``None`` for a cron or unknown expression."""
    match = _RATE.match(expression.strip())
    if not match:
        return None
    unit = match.group(2).rstrip("s")
    return int(match.group(1)) * _UNIT_SECONDS[unit]


def _as_bool(value: Any, default: bool = True) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "disabled")
    return bool(value)


def parse_template(path: Path, region: str = DEFAULT_REGION) -> SamTemplate:
    """Read ``template.yaml`` into the model local mode runs."""
    path = path.resolve()
    raw = load_yaml(path)
    resources: dict[str, Any] = raw["Resources"]
    globals_fn: dict[str, Any] = ((raw.get("Globals") or {}).get("Function")) or {}
    template = SamTemplate(
        path=path,
        raw=raw,
        functions={},
        routes=[],
        apis={},
        tables={},
        streams=[],
        schedules=[],
        global_environment=dict((globals_fn.get("Environment") or {}).get("Variables") or {}),
        region=region,
    )
    resolver = template.resolver()

    # Tables first: functions' environment and event sources refer to them.
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        props = resource.get("Properties") or {}
        if kind == "AWS::DynamoDB::Table":
            properties = _resolve_quietly(resolver, props)
            template.tables[logical_id] = TableSpec(logical_id, properties, _table_name(logical_id, properties))
        elif kind == "AWS::Serverless::SimpleTable":
            properties = _resolve_quietly(resolver, props)
            primary = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
            attr_type = {"String": "S", "Number": "N", "Binary": "B"}[primary.get("Type", "String")]
            table_props = {
                "KeySchema": [{"AttributeName": primary["Name"], "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": primary["Name"], "AttributeType": attr_type}],
                "BillingMode": "PAY_PER_REQUEST",
            }
            template.tables[logical_id] = TableSpec(logical_id, table_props, _table_name(logical_id, properties))

    for logical_id, resource in resources.items():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            template.apis[logical_id] = _http_api(logical_id, resource.get("Properties") or {}, resolver)
    if not template.apis:
        implicit = (raw.get("Globals") or {}).get("HttpApi")
        if implicit:
            template.apis[""] = _http_api("", implicit, resolver)

    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        template.functions[logical_id] = _function(path.parent, logical_id, props, globals_fn)
        for event_name, event in (props.get("Events") or {}).items():
            _add_event(template, resolver, logical_id, event_name, event or {})

    # Authorizer names refer to functions by FunctionArn; resolve those now.
    for api in template.apis.values():
        for authorizer in api.authorizers.values():
            if authorizer.function_id not in template.functions:
                raise TemplateError(
                    f"authorizer {authorizer.name} refers to {authorizer.function_id!r}, "
                    "which is not a function in the template"
                )
    for route in template.routes:
        if route.function_id not in template.functions:
            raise TemplateError(f"route {route.route_key} has no function")
    return template


def _resolve_quietly(resolver: Intrinsics, value: Any) -> Any:
    """Resolve what can be resolved; leave deploy-time-only values as they are."""
    if isinstance(value, dict):
        try:
            return resolver.resolve(value)
        except Unresolvable:
            return {k: _resolve_quietly(resolver, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_quietly(resolver, item) for item in value]
    return value


def _table_name(logical_id: str, properties: dict[str, Any]) -> str:
    """The template's TableName when it resolves to a string, else a stack-style default."""
    name = properties.get("TableName")
    if isinstance(name, str) and name:
        return name
    return f"{STACK_NAME}-{logical_id}"


def _http_api(logical_id: str, props: dict[str, Any], resolver: Intrinsics) -> HttpApiSpec:
    auth = props.get("Auth") or {}
    authorizers: dict[str, AuthorizerSpec] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        spec = spec or {}
        function_arn = spec.get("FunctionArn")
        function_id = _referenced_resource(function_arn)
        if function_id is None:
            continue  # JWT/IAM authorizers have no function to run locally
        identity = spec.get("Identity") or {}
        authorizers[name] = AuthorizerSpec(
            name=name,
            function_id=function_id,
            payload_format=str(spec.get("AuthorizerPayloadFormatVersion", "2.0")),
            simple_responses=_as_bool(spec.get("EnableSimpleResponses"), default=False),
            identity_headers=tuple(h.lower() for h in identity.get("Headers") or []),
            identity_query=tuple(identity.get("QueryStrings") or []),
        )
    default = auth.get("DefaultAuthorizer")
    cors = _resolve_quietly(resolver, props.get("CorsConfiguration"))
    return HttpApiSpec(
        logical_id=logical_id,
        authorizers=authorizers,
        default_authorizer=str(default) if default else None,
        cors=cors if isinstance(cors, dict) else ({"AllowOrigins": ["*"]} if cors else None),
    )


def _referenced_resource(value: Any) -> str | None:
    """The logical id in ``!GetAtt X.Arn`` / ``!Ref X`` / ``!Sub ...${X.Arn}...``."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::GetAtt":
            return str(arg[0]) if isinstance(arg, list) else str(arg).partition(".")[0]
        if key == "Ref":
            return str(arg)
        if key == "Fn::Sub":
            text = arg[0] if isinstance(arg, list) else arg
            match = re.search(r"\$\{([A-Za-z0-9]+)\.Arn\}", str(text))
            return match.group(1) if match else None
    return None


def _function(base: Path, logical_id: str, props: dict[str, Any], globals_fn: dict[str, Any]) -> FunctionSpec:
    def setting(name: str, default: Any = None) -> Any:
        return props.get(name, globals_fn.get(name, default))

    code_uri = setting("CodeUri")
    handler = setting("Handler")
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"function {logical_id} needs a local CodeUri and a module.function Handler")
    environment = dict((props.get("Environment") or {}).get("Variables") or {})
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=(base / code_uri).resolve(),
        handler=handler,
        runtime=str(setting("Runtime", "python3.12")),
        timeout_seconds=float(setting("Timeout", 3)),
        memory_mb=int(setting("MemorySize", 128)),
        environment=environment,
    )


def _add_event(
    template: SamTemplate,
    resolver: Intrinsics,
    function_id: str,
    event_name: str,
    event: dict[str, Any],
) -> None:
    kind = event.get("Type")
    props = event.get("Properties") or {}
    if kind == "HttpApi":
        api_id = _referenced_resource(props.get("ApiId")) or ""
        method = str(props.get("Method", "ANY")).upper()
        path = str(props.get("Path", "$default"))
        if method in ("X-AMAZON-APIGATEWAY-ANY-METHOD", "*"):
            method = "ANY"
        if path != "$default" and not path.startswith("/"):
            raise TemplateError(f"{function_id}.{event_name}: path {path!r} must start with /")
        auth = props.get("Auth") or {}
        api = template.apis.get(api_id) or (next(iter(template.apis.values())) if len(template.apis) == 1 else None)
        authorizer = auth.get("Authorizer", api.default_authorizer if api else None)
        if authorizer in ("NONE", None):
            authorizer_name = None
        else:
            authorizer_name = str(authorizer)
            if api is None or authorizer_name not in api.authorizers:
                raise TemplateError(f"{function_id}.{event_name}: unknown authorizer {authorizer_name!r}")
        template.routes.append(
            HttpRoute(
                method=method,
                path=path,
                function_id=function_id,
                authorizer=authorizer_name,
                api_id=api_id,
                payload_format=str(props.get("PayloadFormatVersion", "2.0")),
            )
        )
    elif kind == "DynamoDB":
        table_id = _referenced_resource(props.get("Stream"))
        if table_id is None or table_id not in template.tables:
            raise TemplateError(
                f"{function_id}.{event_name}: Stream must be !GetAtt <Table>.StreamArn of a table in this template"
            )
        props = _resolve_quietly(resolver, {k: v for k, v in props.items() if k != "Stream"})
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        template.streams.append(
            StreamSubscription(
                function_id=function_id,
                event_name=event_name,
                table_id=table_id,
                batch_size=int(props.get("BatchSize", 100)),
                starting_position=str(props.get("StartingPosition", "LATEST")),
                maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                on_failure_destination=str(destination) if destination else None,
                enabled=_as_bool(props.get("Enabled")),
            )
        )
    elif kind in ("Schedule", "ScheduleV2"):
        props = _resolve_quietly(resolver, props)
        expression = str(props.get("Schedule") or props.get("ScheduleExpression") or "")
        state = props.get("State")
        enabled = _as_bool(props.get("Enabled")) and (state is None or state == "ENABLED")
        template.schedules.append(
            ScheduleSpec(
                function_id=function_id,
                event_name=event_name,
                expression=expression,
                interval_seconds=rate_seconds(expression),
                input=str(props["Input"]) if props.get("Input") is not None else None,
                enabled=enabled,
                v2=kind == "ScheduleV2",
            )
        )
