"""The HTTP API's Lambda entry point: one APIGatewayHttpResolver, built at import, routes wired in.

Everything but `GET /openapi.json` needs a principal in the authorizer context;
a request without one is answered 401 before its input is even validated, and
a body that is not JSON 415 (see `routes.params.refusal`).
"""

from __future__ import annotations

import gc

# Nothing the imports below make is garbage, yet the cyclic collector would walk those objects
# (botocore's, pydantic's, ours) again and again while they are made: it waits until the module
# is built, and then leaves them out of its passes for good (`gc.freeze`; README, cold start).
gc.disable()

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import openapi
import problems
from routes import admin, meta, sessions, tasks, usage
from routes.params import refusal, with_json_content_type

logger = Logger()
metrics = Metrics()
# Most requests publish no business metric; Powertools would warn on each of them.
warnings.filterwarnings("ignore", "No application metrics to publish")

app = APIGatewayHttpResolver(enable_validation=True)
problems.register(app)
for module in (sessions, tasks, usage, admin, meta):
    app.include_router(module.router)


@app.get(
    "/openapi.json",
    operation_id="getOpenApi",
    summary="This document (no authentication)",
    responses=problems.documented(200, "The OpenAPI 3.1 document.", public=True),
    openapi_extensions={"security": []},
)
def openapi_document() -> dict[str, Any]:
    return openapi.document(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = refusal(event)
    if refused is not None:
        return problems.as_lambda_response(refused)
    return app.resolve(with_json_content_type(event), context)


gc.freeze()  # the module is built (see `gc.disable()` above)
gc.enable()
