"""The HTTP API's routes, read from `template.yaml`'s `HttpApi` events, and API Gateway's route matching.

There is no second list of routes: the local gateway serves exactly the
`(method, path)` pairs the template declares on the function, with the
authorizer each one has there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_PARAM = re.compile(r"\{([A-Za-z0-9_.-]+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    """One route: `route_key` is API Gateway's `"METHOD /path/{param}"`."""

    method: str
    path: str
    authorized: bool = True
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _compile(self.path))

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def literal_segments(self) -> int:
        """How many segments are fixed text: API Gateway prefers the most specific route."""
        return sum(1 for part in self.path.split("/") if part and not part.startswith("{"))


def _compile(path: str) -> re.Pattern[str]:
    regex, position = "", 0
    for match in _PARAM.finditer(path):
        regex += re.escape(path[position : match.start()])
        # `{name+}` is greedy (spans segments); `{name}` is one non-empty segment.
        regex += f"(?P<{_group(match[1])}>.+)" if match[2] else f"(?P<{_group(match[1])}>[^/]+)"
        position = match.end()
    return re.compile(regex + re.escape(path[position:]) + r"\Z")


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _parameter_names(path: str) -> list[str]:
    return [match[1] for match in _PARAM.finditer(path)]


def routes_from_template(template: dict[str, Any], function: str = "ApiFunction") -> list[Route]:
    """The `HttpApi` events of `function`; a route's `Auth.Authorizer: NONE` makes it public."""
    props = template["Resources"][function]["Properties"]
    routes = []
    for event in props.get("Events", {}).values():
        if event.get("Type") != "HttpApi":
            continue
        spec = event.get("Properties", {})
        authorizer = spec.get("Auth", {}).get("Authorizer")
        routes.append(Route(str(spec["Method"]).upper(), str(spec["Path"]), authorizer != "NONE"))
    return routes


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


def match_route(routes: list[Route], method: str, path: str) -> RouteMatch | None:
    """The route serving `method path`, as API Gateway picks it: the most specific match wins.

    Returns None when no route matches (API Gateway answers 404 then, also for a
    known path with another method). `ANY` routes match every method.
    """
    candidates = []
    for route in routes:
        if route.method not in (method.upper(), "ANY"):
            continue
        found = route.pattern.match(path)
        if found:
            values = dict(zip(_parameter_names(route.path), found.groups(), strict=True))
            candidates.append(RouteMatch(route, values))
    if not candidates:
        return None
    return max(candidates, key=lambda m: (m.route.literal_segments, m.route.method != "ANY"))
