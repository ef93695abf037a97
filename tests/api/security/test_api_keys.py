"""`/v1/api-keys`: admins create (shown once), list (no secrets) and revoke keys."""

from __future__ import annotations

from tests.conftest import ADMIN_KEY, Stack


async def test_create_list_and_revoke_a_key(api_stack: Stack) -> None:
    created = await api_stack.post("/v1/api-keys", {"role": "ops", "name": "night shift"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"key", "key_id", "role", "name", "created_at"}
    assert body["role"] == "ops" and body["name"] == "night shift"
    key, key_id = body["key"], body["key_id"]
    assert (await api_stack.get("/v1/orders", key=key)).status_code == 200

    listed = await api_stack.get("/v1/api-keys")
    assert listed.status_code == 200
    assert key not in listed.text
    assert all("key" not in row and "key_hash" not in row for row in listed.json())
    mine = next(row for row in listed.json() if row["key_id"] == key_id)
    assert mine["revoked_at"] is None and mine["role"] == "ops"

    revoked = await api_stack.http.delete(f"/v1/api-keys/{key_id}", headers=api_stack.headers())
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = await api_stack.get("/v1/orders", key=key)
    assert refused.status_code == 401 and "revoked" in refused.json()["message"]
    again = await api_stack.http.delete(f"/v1/api-keys/{key_id}", headers=api_stack.headers())
    assert again.status_code == 200  # revoking twice is harmless


async def test_key_management_is_for_admins_only(
    api_stack: Stack, role_keys: dict[str, str]
) -> None:
    for role in ("channel", "ops"):
        response = await api_stack.post(
            "/v1/api-keys", {"role": "admin", "name": "x"}, role_keys[role]
        )
        assert response.status_code == 403 and "keys:admin" in response.json()["message"]
    assert (await api_stack.http.get("/v1/api-keys")).status_code == 401


async def test_bad_requests_name_the_field(api_stack: Stack) -> None:
    bad_role = await api_stack.post("/v1/api-keys", {"role": "root", "name": "x"})
    assert bad_role.status_code == 422 and bad_role.json()["detail"][0]["field"] == "role"
    no_name = await api_stack.post("/v1/api-keys", {"role": "ops", "name": ""})
    assert no_name.status_code == 422 and no_name.json()["detail"][0]["field"] == "name"
    missing = await api_stack.http.delete("/v1/api-keys/nope", headers=api_stack.headers())
    assert missing.status_code == 404 and missing.json()["detail"][0]["field"] == "key_id"


async def test_the_last_admin_key_cannot_be_revoked(api_stack: Stack) -> None:
    rows = (await api_stack.get("/v1/api-keys")).json()
    [admin] = [r for r in rows if r["role"] == "admin" and r["revoked_at"] is None]
    refused = await api_stack.http.delete(
        f"/v1/api-keys/{admin['key_id']}", headers=api_stack.headers()
    )
    assert refused.status_code == 409 and "last active admin" in refused.json()["message"]
    assert (await api_stack.get("/v1/api-keys", key=ADMIN_KEY)).status_code == 200
    # With a second admin, the first may go.
    second = (await api_stack.post("/v1/api-keys", {"role": "admin", "name": "backup"})).json()
    revoked = await api_stack.http.delete(
        f"/v1/api-keys/{admin['key_id']}", headers=api_stack.headers(second["key"])
    )
    assert revoked.status_code == 200
    assert (await api_stack.get("/v1/api-keys")).status_code == 401
