"""schemathesis hooks for test_openapi_conformance.py (loaded through SCHEMATHESIS_HOOKS).

A run may revoke any token but the ones it depends on: its own (revoked, every later request would be a 401)
and the fixture's admin token. Token ids are small decimal numbers, so generated ids hit them; such a request
is sent for an id that does not exist instead, and is still checked (a 404)."""
import os

import schemathesis

PROTECTED_TOKEN_IDS = {value for value in os.environ.get("BELAY_PROTECTED_TOKEN_IDS", "").split(",") if value}
UNKNOWN_TOKEN_ID = "999999999"


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.definition.raw.get("operationId") != "revokeToken":
        return
    if str((case.path_parameters or {}).get("id")) in PROTECTED_TOKEN_IDS:
        case.path_parameters["id"] = UNKNOWN_TOKEN_ID
