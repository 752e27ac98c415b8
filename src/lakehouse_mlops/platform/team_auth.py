"""The team MLflow server's authorization function: mlflow's basic auth plus the champion rule.

Runs inside the server (the ``authorization_function`` of the basic-auth ini that
``lakehouse_mlops.platform.team_server`` writes), never in a client.

mlflow's basic-auth app lets anyone with EDIT on a registered model set any of its aliases: the
``SetRegisteredModelAlias`` validator only asks for ``can_update``. The team wants data scientists
to register versions and point ``challenger`` at them (EDIT) while only operations moves
``champion``, which is what production scores with. So requests that move a protected alias, or
rename a registered model (a rename takes the aliases along and frees the name for a new model the
renamer would own), also need MANAGE on the model. mlflow lets the ini name the function that
authenticates every request and accepts a Flask response from it, which it returns as is: this
function authenticates exactly as mlflow does, then refuses those requests with 403.
"""

from __future__ import annotations

import configparser
import logging
from functools import cache

from flask import Response, request
from mlflow.environment_variables import MLFLOW_AUTH_CONFIG_PATH
from mlflow.protos.model_registry_pb2 import (
    DeleteRegisteredModelAlias,
    RenameRegisteredModel,
    SetRegisteredModelAlias,
)
from mlflow.server import auth
from mlflow.server.auth.permissions import RESOURCE_TYPE_REGISTERED_MODEL
from mlflow.server.auth.requirements import Requirement
from mlflow.server.handlers import get_endpoints
from werkzeug.datastructures import Authorization

logger = logging.getLogger(__name__)

POLICY_SECTION = "lakehouse_mlops"
PROTECTED_ALIASES_KEY = "protected_aliases"
ALIAS_REQUESTS = (SetRegisteredModelAlias, DeleteRegisteredModelAlias)
GUARDED_REQUESTS = (*ALIAS_REQUESTS, RenameRegisteredModel)


@cache
def guarded_routes() -> dict[tuple[str, str], type]:
    """(path, HTTP method) → request class, for every route of a guarded registry call.

    Read from mlflow's own route table, so the REST and ajax paths of every API version (and a
    static prefix) are covered without listing them here.
    """
    return {
        (path, method): request_class
        for path, request_class, methods in get_endpoints(lambda request_class: request_class)
        if request_class in GUARDED_REQUESTS
        for method in methods
    }


@cache
def protected_aliases() -> frozenset[str]:
    """The aliases only MANAGE may move, from the ``[lakehouse_mlops]`` section of the auth ini."""
    config = configparser.ConfigParser()
    config.read(MLFLOW_AUTH_CONFIG_PATH.get() or "")
    raw = config.get(POLICY_SECTION, PROTECTED_ALIASES_KEY, fallback="champion")
    return frozenset(alias.strip().casefold() for alias in raw.split(",") if alias.strip())


def request_params() -> dict:
    """The call's parameters: a JSON body (POST, PATCH, some DELETEs) over the query string."""
    body = request.get_json(silent=True) if request.is_json else None
    return {**request.args.to_dict(), **(body if isinstance(body, dict) else {})}


def model_needing_manage() -> str | None:
    """The registered model this request needs MANAGE on under the team rule, or None."""
    request_class = guarded_routes().get((request.path, request.method))
    if request_class is None:
        return None
    params = request_params()
    # case-insensitively: a database with a case-insensitive collation (MySQL's default) would take
    # `Champion` for `champion`
    alias = str(params.get("alias") or "").casefold()
    if request_class in ALIAS_REQUESTS and alias not in protected_aliases():
        return None
    return params.get("name") or None


def may_manage(username: str, model: str) -> bool:
    if auth.store.get_user(username).is_admin:
        return True
    anchor = (RESOURCE_TYPE_REGISTERED_MODEL, model)
    return auth.authorize(username, anchor, [Requirement(RESOURCE_TYPE_REGISTERED_MODEL, model, "manage")])


def authenticate_request() -> Authorization | Response:
    """mlflow's basic authentication; then 403 for a protected-alias move or a rename without MANAGE."""
    authorization = auth.authenticate_request_basic_auth()
    if isinstance(authorization, Response):
        return authorization
    model = model_needing_manage()
    if model is None or may_manage(authorization.username, model):
        return authorization
    logger.warning(
        "refused %s %s by '%s' on model '%s': needs MANAGE",
        request.method,
        request.path,
        authorization.username,
        model,
    )
    return auth.make_forbidden_response()
