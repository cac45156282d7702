#!/usr/bin/env python3
"""Prefect 3 client conformance for edge-gcl.

Replays, over real HTTP, what Prefect 3's client and CLI send (PrefectHQ/prefect @ ce79dd3d:
client/orchestration/_concurrency_limits/client.py, client/base.py, concurrency/_asyncio.py,
concurrency/_leases.py, concurrency/services.py, cli/global_concurrency_limit.py) and parses every
answer with pydantic 2 models that have the field types of Prefect's client schemas
(client/schemas/responses.py, actions.py, objects.py). Prefect itself is not installed: the models
below copy the fields and types that matter for parsing.

Usage: python3 test/prefect/conformance.py --url http://127.0.0.1:8787 [--auth-string user:token |
--api-key token] [--wrong-auth-string user:nope]

Prints one line per check; exits 0 when all pass, 1 when any fails, 2 when pydantic 2 is missing.
Only the standard library and pydantic are used.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime
from typing import Any, Callable, ClassVar, Literal, Optional
from uuid import UUID

try:
    import pydantic
    from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt
except ImportError:  # pragma: no cover - reported to the caller
    print("SKIP: pydantic is not installed (pip install 'pydantic>=2')")
    sys.exit(2)
if not pydantic.VERSION.startswith("2."):
    print(f"SKIP: pydantic {pydantic.VERSION} is installed; this check needs pydantic 2")
    sys.exit(2)

# What Prefect 3's client puts on every request (client/base.py, client/constants.py).
SERVER_API_VERSION = "0.8.4"
PREFECT_HEADERS = {
    "User-Agent": f"prefect/3.4.0 (API {SERVER_API_VERSION})",
    "X-PREFECT-API-VERSION": SERVER_API_VERSION,
    "Content-Type": "application/json",
    "Accept": "application/json",
}


# --- Models with the field types of Prefect's client schemas ----------------------------------


class PrefectBaseModel(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")


class ObjectBaseModel(PrefectBaseModel):
    id: UUID
    created: Optional[datetime] = None
    updated: Optional[datetime] = None


class GlobalConcurrencyLimitResponse(ObjectBaseModel):
    """client/schemas/responses.py"""

    active: bool = True
    name: str
    limit: int
    active_slots: int
    slot_decay_per_second: float = 2.0


class MinimalConcurrencyLimitResponse(PrefectBaseModel):
    id: UUID
    name: str
    limit: int


class ConcurrencyLimitWithLeaseResponse(PrefectBaseModel):
    lease_id: UUID
    limits: list[MinimalConcurrencyLimitResponse]


class ActionBaseModel(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")


class GlobalConcurrencyLimitCreate(ActionBaseModel):
    """client/schemas/actions.py"""

    name: str
    limit: NonNegativeInt
    active: Optional[bool] = True
    active_slots: Optional[NonNegativeInt] = 0
    slot_decay_per_second: Optional[NonNegativeFloat] = 0.0


class GlobalConcurrencyLimitUpdate(ActionBaseModel):
    name: Optional[str] = None
    limit: Optional[NonNegativeInt] = None
    active: Optional[bool] = None
    active_slots: Optional[NonNegativeInt] = None
    slot_decay_per_second: Optional[NonNegativeFloat] = None


class ConcurrencyLeaseHolder(ActionBaseModel):
    """client/schemas/objects.py"""

    type: Literal["flow_run", "task_run", "deployment"]
    id: UUID


class CsrfToken(PrefectBaseModel):
    token: str
    client: str
    expiration: datetime


# --- A client that sends what Prefect's httpx client sends -------------------------------------


class HTTPStatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str], text: str):
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status
        self.headers = headers
        self.text = text

    def json(self) -> Any:
        return json.loads(self.text)


class Response:
    def __init__(self, status: int, headers: dict[str, str], text: str):
        self.status = status
        self.headers = headers
        self.text = text

    def json(self) -> Any:
        return json.loads(self.text)


class PrefectLikeClient:
    """One `get_client()`: Prefect's headers, its auth header, and its CSRF probe before the
    first change request (client/base.py `_add_csrf_headers`)."""

    def __init__(self, api_url: str, auth_string: Optional[str], api_key: Optional[str]):
        self.api_url = api_url.rstrip("/")
        self.headers = dict(PREFECT_HEADERS)
        # client/orchestration/__init__.py: the auth string wins over the key.
        if auth_string:
            token = base64.b64encode(auth_string.encode("utf-8")).decode("utf-8")
            self.headers["Authorization"] = f"Basic {token}"
        elif api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.enable_csrf_support = True
        self.csrf_token: Optional[str] = None
        self.csrf_client_id = uuid.uuid4()
        self.csrf_probes: list[int] = []

    def _send(self, method: str, path: str, body: Any = None) -> Response:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.api_url + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return Response(answer.status, dict(answer.headers), answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            raise HTTPStatusError(error.code, dict(error.headers), error.read().decode("utf-8")) from None

    def _add_csrf_headers(self) -> None:
        if not self.enable_csrf_support or self.csrf_token:
            return
        try:
            token_response = self._send("GET", f"/csrf-token?client={self.csrf_client_id}")
        except HTTPStatusError as exc:
            self.csrf_probes.append(exc.status)
            old_server = exc.status == 404
            unconfigured_server = exc.status == 422 and "CSRF protection is disabled." in exc.text
            if old_server or unconfigured_server:
                self.enable_csrf_support = False
                return
            raise
        self.csrf_probes.append(token_response.status)
        token = CsrfToken.model_validate(token_response.json())
        self.csrf_token = token.token

    def request(self, method: str, path: str, json_body: Any = None) -> Response:
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            self._add_csrf_headers()
        return self._send(method, path, json_body)

    # client/orchestration/_concurrency_limits/client.py, word for word where it matters

    def read_global_concurrency_limit_by_name(self, name: str) -> GlobalConcurrencyLimitResponse:
        response = self.request("GET", f"/v2/concurrency_limits/{urllib.parse.quote(name, safe='')}")
        return GlobalConcurrencyLimitResponse.model_validate(response.json())

    def read_global_concurrency_limits(self, limit: int = 10, offset: int = 0) -> list[GlobalConcurrencyLimitResponse]:
        response = self.request("POST", "/v2/concurrency_limits/filter", {"limit": limit, "offset": offset})
        return [GlobalConcurrencyLimitResponse.model_validate(item) for item in response.json()]

    def create_global_concurrency_limit(self, concurrency_limit: GlobalConcurrencyLimitCreate) -> UUID:
        response = self.request(
            "POST", "/v2/concurrency_limits/", concurrency_limit.model_dump(mode="json", exclude_unset=True)
        )
        return UUID(response.json()["id"])

    def update_global_concurrency_limit(self, name: str, concurrency_limit: GlobalConcurrencyLimitUpdate) -> Response:
        return self.request(
            "PATCH",
            f"/v2/concurrency_limits/{urllib.parse.quote(name, safe='')}",
            concurrency_limit.model_dump(mode="json", exclude_unset=True),
        )

    def delete_global_concurrency_limit_by_name(self, name: str) -> Response:
        return self.request("DELETE", f"/v2/concurrency_limits/{urllib.parse.quote(name, safe='')}")

    def increment_concurrency_slots(self, names: list[str], slots: int, mode: str) -> Response:
        return self.request("POST", "/v2/concurrency_limits/increment", {"names": names, "slots": slots, "mode": mode})

    def increment_concurrency_slots_with_lease(
        self, names: list[str], slots: int, mode: str, lease_duration: float, holder: Optional[ConcurrencyLeaseHolder]
    ) -> Response:
        body: dict[str, Any] = {"names": names, "slots": slots, "mode": mode, "lease_duration": lease_duration}
        if holder is not None:
            body["holder"] = holder.model_dump(mode="json")
        return self.request("POST", "/v2/concurrency_limits/increment-with-lease", body)

    def renew_concurrency_lease(self, lease_id: UUID, lease_duration: float) -> Response:
        return self.request(
            "POST", f"/v2/concurrency_limits/leases/{lease_id}/renew", {"lease_duration": lease_duration}
        )

    def release_concurrency_slots_with_lease(self, lease_id: UUID) -> Response:
        return self.request("POST", "/v2/concurrency_limits/decrement-with-lease", {"lease_id": str(lease_id)})


# --- Checks ------------------------------------------------------------------------------------


class Checks:
    def __init__(self, label: str):
        self.label = label
        self.failures = 0
        self.count = 0

    def run(self, name: str, check: Callable[[], None]) -> None:
        self.count += 1
        try:
            check()
        except Exception as error:  # a failed check reports and the run goes on
            self.failures += 1
            print(f"FAIL [{self.label}] {name}: {type(error).__name__}: {error}")
        else:
            print(f"ok   [{self.label}] {name}")


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def expect_status(call: Callable[[], Any], status: int) -> HTTPStatusError:
    try:
        call()
    except HTTPStatusError as error:
        expect(error.status == status, f"expected HTTP {status}, got {error.status}: {error.text[:200]}")
        return error
    raise AssertionError(f"expected HTTP {status}, got a success")


def format_http_status_error(error: HTTPStatusError) -> str:
    """concurrency/_asyncio.py `_format_http_status_error`: what ConcurrencySlotAcquisitionError says."""
    try:
        body = error.json()
    except ValueError:
        body = None
    messages: list[str] = []
    if isinstance(body, dict):
        errors = body.get("exception_detail") or body.get("detail")
        if isinstance(errors, list):
            for entry in errors:
                if not isinstance(entry, dict) or not isinstance(entry.get("msg"), str):
                    continue
                loc = entry.get("loc")
                if isinstance(loc, (list, tuple)) and loc:
                    if loc[0] == "body":
                        loc = loc[1:]
                    field = ".".join(str(part) for part in loc)
                else:
                    field = ""
                messages.append(f"{field}: {entry['msg']}" if field else entry["msg"])
        elif isinstance(errors, str):
            messages.append(errors)
    return f"{error.status}: {'; '.join(messages)}" if messages else str(error.status)


def acquire_with_lease(
    client: PrefectLikeClient, names: list[str], occupy: int, holder: Optional[ConcurrencyLeaseHolder]
) -> ConcurrencyLimitWithLeaseResponse:
    """`ConcurrencySlotAcquisitionWithLeaseService.acquire` with max_retries=0, then the parse
    of `aacquire_concurrency_slots_with_lease`."""
    response = client.increment_concurrency_slots_with_lease(
        names=sorted(set(names)), slots=occupy, mode="concurrency", lease_duration=300.0, holder=holder
    )
    return ConcurrencyLimitWithLeaseResponse.model_validate(response.json())


def run_all(api_url: str, auth_string: Optional[str], api_key: Optional[str], label: str, wrong: Optional[str]) -> int:
    checks = Checks(label)
    new_client = lambda: PrefectLikeClient(api_url, auth_string, api_key)  # noqa: E731 - one get_client() each
    suffix = uuid.uuid4().hex[:8]
    name = f"prefect-conformance-{suffix}"
    decaying = f"prefect-rate-{suffix}"
    other = f"prefect-other-{suffix}"

    def csrf() -> None:
        client = new_client()
        client.read_global_concurrency_limits(limit=1, offset=0)
        expect(client.csrf_probes == [422], f"csrf probe answered {client.csrf_probes}")
        expect(client.enable_csrf_support is False, "CSRF support was not turned off")

    def cli_create() -> None:
        # `prefect gcl create NAME --limit 2`: a read that must 404, then the create with all five fields.
        client = new_client()
        expect_status(lambda: client.read_global_concurrency_limit_by_name(name), 404)
        gcl = GlobalConcurrencyLimitCreate(name=name, limit=2, active=True, active_slots=0, slot_decay_per_second=0.0)
        gcl_id = new_client().create_global_concurrency_limit(gcl)
        expect(isinstance(gcl_id, UUID), "create did not answer a UUID id")
        for extra, limit, decay in ((decaying, 2, 0.5), (other, 5, 0.0)):
            new_client().create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=extra, limit=limit, active=True, active_slots=0, slot_decay_per_second=decay)
            )

    def cli_create_error_message() -> None:
        # The CLI prints `exception_detail[0]["msg"]` of a failed create.
        error = expect_status(lambda: new_client().request("POST", "/v2/concurrency_limits/", {"name": name, "limit": -1}), 422)
        message = error.json()["exception_detail"][0]["msg"]
        expect(isinstance(message, str) and message != "", "no exception_detail[0].msg")

    def cli_inspect() -> None:
        record = new_client().read_global_concurrency_limit_by_name(name)
        expect(record.name == name and record.limit == 2 and record.active_slots == 0, f"unexpected record {record}")
        expect(record.created is not None and record.created.tzinfo is not None, "created is not an aware datetime")
        json.dumps(record.model_dump(mode="json"))
        expect_status(lambda: new_client().read_global_concurrency_limit_by_name(f"missing-{suffix}"), 404)

    def cli_ls() -> None:
        limits = new_client().read_global_concurrency_limits(limit=100, offset=0)
        expect(name in {limit.name for limit in limits}, "ls does not list the new limit")

    def cli_update() -> None:
        client = new_client()
        response = client.update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(limit=3))
        expect(response.status == 204, f"update answered {response.status}")
        expect(new_client().read_global_concurrency_limit_by_name(name).limit == 3, "limit not updated")
        # enable / disable: read, then PATCH {active}
        for active in (False, True):
            new_client().read_global_concurrency_limit_by_name(name)
            new_client().update_global_concurrency_limit(name, GlobalConcurrencyLimitUpdate(active=active))
            expect(new_client().read_global_concurrency_limit_by_name(name).active is active, f"active not {active}")
        expect_status(
            lambda: new_client().update_global_concurrency_limit(f"missing-{suffix}", GlobalConcurrencyLimitUpdate(limit=1)), 404
        )

    def concurrency_flow() -> None:
        # concurrency(): acquire with a lease and a holder, renew (renewal thread), release (new client).
        holder = ConcurrencyLeaseHolder(type="task_run", id=uuid.uuid4())
        lease = acquire_with_lease(new_client(), [other, name], occupy=2, holder=holder)
        expect(isinstance(lease.lease_id, UUID), "lease_id is not a UUID")
        expect(sorted(limit.name for limit in lease.limits) == sorted([name, other]), f"limits {lease.limits}")
        expect(new_client().read_global_concurrency_limit_by_name(name).active_slots == 2, "slots not held")
        renew = new_client().renew_concurrency_lease(lease_id=lease.lease_id, lease_duration=300.0)
        expect(renew.status == 204, f"renew answered {renew.status}")
        # Full: the service's 423 loop reads a float Retry-After.
        locked = expect_status(lambda: acquire_with_lease(new_client(), [name], occupy=2, holder=None), 423)
        expect(float(locked.headers["Retry-After"]) >= 0, "Retry-After is not a float")
        release = new_client().release_concurrency_slots_with_lease(lease_id=lease.lease_id)
        expect(release.status == 204, f"release answered {release.status}")
        expect(new_client().read_global_concurrency_limit_by_name(name).active_slots == 0, "slots not released")
        expect(new_client().read_global_concurrency_limit_by_name(other).active_slots == 0, "other slots not released")
        # ConcurrencyContext cleanup releases again: idempotent.
        expect(new_client().release_concurrency_slots_with_lease(lease_id=lease.lease_id).status == 204, "second release")

    def concurrency_error_message() -> None:
        # ConcurrencySlotAcquisitionError carries the server's reason, field by field.
        over = expect_status(lambda: acquire_with_lease(new_client(), [name], occupy=99, holder=None), 422)
        expect(format_http_status_error(over) == "422: Slots requested is greater than the limit", format_http_status_error(over))
        bad = expect_status(lambda: new_client().increment_concurrency_slots_with_lease([name], 0, "concurrency", 300.0, None), 422)
        expect(format_http_status_error(bad).startswith("422: slots: "), format_http_status_error(bad))

    def concurrency_all_missing() -> None:
        lease = acquire_with_lease(new_client(), [f"ghost-{suffix}"], occupy=1, holder=None)
        expect(isinstance(lease.lease_id, UUID) and lease.limits == [], "all-missing answer does not parse")

    def unknown_leases() -> None:
        expect_status(lambda: new_client().renew_concurrency_lease(lease_id=uuid.uuid4(), lease_duration=300.0), 410)
        expect(new_client().release_concurrency_slots_with_lease(lease_id=uuid.uuid4()).status == 204, "release unknown")

    def rate_limit_flow() -> None:
        # rate_limit(): POST /increment mode rate_limit, a list of minimal limits; 423 + float Retry-After when spent.
        response = new_client().increment_concurrency_slots(names=[decaying], slots=2, mode="rate_limit")
        limits = [MinimalConcurrencyLimitResponse.model_validate(item) for item in response.json()]
        expect([limit.name for limit in limits] == [decaying], f"rate_limit answered {limits}")
        locked = expect_status(lambda: new_client().increment_concurrency_slots(names=[decaying], slots=1, mode="rate_limit"), 423)
        expect(float(locked.headers["Retry-After"]) > 0, "Retry-After is not a positive float")
        error = expect_status(lambda: new_client().increment_concurrency_slots(names=[name], slots=1, mode="rate_limit"), 422)
        expect("Only concurrency limits with slot decay" in error.json()["detail"], "rate limit without decay message")

    def cli_delete() -> None:
        for each in (name, decaying, other):
            new_client().read_global_concurrency_limit_by_name(each)
            expect(new_client().delete_global_concurrency_limit_by_name(each).status == 204, f"delete {each}")
        expect_status(lambda: new_client().read_global_concurrency_limit_by_name(name), 404)
        expect_status(lambda: new_client().delete_global_concurrency_limit_by_name(name), 404)

    checks.run("csrf-token probe turns CSRF off without a retry", csrf)
    checks.run("prefect gcl create", cli_create)
    checks.run("prefect gcl create: the CLI's error message from exception_detail", cli_create_error_message)
    checks.run("prefect gcl inspect", cli_inspect)
    checks.run("prefect gcl ls", cli_ls)
    checks.run("prefect gcl update / enable / disable", cli_update)
    checks.run("concurrency(): increment-with-lease, renew, 423, release", concurrency_flow)
    checks.run("concurrency(): a 422 names its reason in ConcurrencySlotAcquisitionError", concurrency_error_message)
    checks.run("concurrency(): every name missing", concurrency_all_missing)
    checks.run("unknown lease: renew 410, release 204", unknown_leases)
    checks.run("rate_limit()", rate_limit_flow)
    checks.run("prefect gcl delete", cli_delete)
    if wrong:
        checks.run(
            "a wrong auth string is refused with 401",
            lambda: expect_status(lambda: PrefectLikeClient(api_url, wrong, None).read_global_concurrency_limits(), 401),
        )
    print(f"{checks.count - checks.failures}/{checks.count} checks passed [{label}]")
    return checks.failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the Worker's base URL; PREFECT_API_URL is <url>/api")
    parser.add_argument("--auth-string", help="as PREFECT_API_AUTH_STRING (sent as Basic)")
    parser.add_argument("--api-key", help="as PREFECT_API_KEY (sent as Bearer)")
    parser.add_argument("--wrong-auth-string", help="an auth string that must get 401")
    args = parser.parse_args()
    label = "basic" if args.auth_string else "bearer" if args.api_key else "anonymous"
    failures = run_all(args.url.rstrip("/") + "/api", args.auth_string, args.api_key, label, args.wrong_auth_string)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
