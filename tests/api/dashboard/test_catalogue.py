"""The Catalogue page: list and search, the SKU form, and both CSV uploads, over plain HTTP
(no JS) and in a real headless Chromium. Writes go through the same service as /v1/skus."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.api.dashboard.conftest import Web, shot
from tests.api.dashboard.test_browser import sign_in
from tests.api.dashboard.test_pages import csrf_of

SCREENSHOT = Path("/tmp/catalogue.png")


def skus_listed(html: str) -> list[str]:
    return re.findall(r'href="/catalogue/skus/([^"]+)"', html)


async def test_the_page_lists_and_searches_the_catalogue(
    web: Web, signed_in: httpx.AsyncClient
) -> None:
    page = await signed_in.get("/catalogue")
    assert page.status_code == 200
    assert 'href="/catalogue" class="active"' in page.text
    assert {"TSHIRT-M", "MUG-12OZ", "BEANIE"} <= set(skus_listed(page.text))
    found = await signed_in.get("/catalogue", params={"q": "enamel"})
    assert skus_listed(found.text) == ["MUG-12OZ"]
    none = await signed_in.get("/catalogue", params={"q": "no such thing"})
    assert skus_listed(none.text) == [] and "No SKU matches" in none.text
    async with httpx.AsyncClient(base_url=web.base_url) as stranger:
        assert (await stranger.get("/catalogue")).status_code == 303


async def test_the_form_saves_through_the_service_and_names_bad_fields(
    web: Web, signed_in: httpx.AsyncClient
) -> None:
    token = csrf_of((await signed_in.get("/catalogue")).text)
    form = {"sku": "DASH-1", "name": "Desk lamp", "price": "39.5", "weight_grams": "1200"}
    forged = await signed_in.post("/catalogue/skus", data=form)
    assert forged.status_code == 403  # no CSRF token: not from our page
    assert (await web.stack.get("/v1/skus/DASH-1")).status_code == 404

    saved = await signed_in.post("/catalogue/skus", data={**form, "csrf": token})
    assert saved.status_code == 303 and saved.headers["location"] == "/catalogue/skus/DASH-1"
    detail = await signed_in.get("/catalogue/skus/DASH-1")
    assert "SKU DASH-1 created." in detail.text
    view = (await web.stack.get("/v1/skus/DASH-1")).json()
    assert (view["name"], view["price"], view["weight_grams"]) == ("Desk lamp", "39.50", 1200)

    bad = {**form, "csrf": token, "price": "39.505", "origin_country": "XX"}
    refused = await signed_in.post("/catalogue/skus", data=bad)
    assert refused.status_code == 422
    assert "price:" in refused.text and "origin country:" in refused.text
    assert 'value="39.505"' in refused.text  # what was typed is kept for fixing
    assert (await web.stack.get("/v1/skus/DASH-1")).json()["price"] == "39.50"


async def test_uploads_import_or_list_every_bad_line(
    web: Web, signed_in: httpx.AsyncClient
) -> None:
    token = csrf_of((await signed_in.get("/catalogue")).text)
    bad = "sku,name,price,weight_grams\nUP-1,One,1.00,10\nUP-2,Two,free,10\nUP-1,Again,1,1\n"
    refused = await signed_in.post(
        "/catalogue/import/skus",
        data={"csrf": token},
        files={"file": ("skus.csv", bad.encode(), "text/csv")},
    )
    assert refused.status_code == 422
    assert "The SKUs file was not imported" in refused.text
    rows = re.findall(
        r'<td class="num mono">(\d+)</td><td class="mono">([^<]*)</td>'
        r'<td class="mono">([^<]*)</td>',
        refused.text,
    )
    assert rows == [("3", "UP-2", "price"), ("4", "UP-1", "sku")]
    assert (await web.stack.get("/v1/skus/UP-1")).status_code == 404

    good = "sku,name,price,weight_grams\nUP-1,One,1.00,10\nUP-2,Two,2.00,20\n"
    imported = await signed_in.post(
        "/catalogue/import/skus",
        data={"csrf": token},
        files={"file": ("skus.csv", good.encode(), "text/csv")},
    )
    assert imported.status_code == 303
    assert "2 created, 0 updated" in (await signed_in.get("/catalogue")).text

    count = "sku,location_id,on_hand\nUP-1,WH-EAST,7\n"
    counted = await signed_in.post(
        "/catalogue/import/stock",
        data={"csrf": token},
        files={"file": ("count.csv", count.encode(), "text/csv")},
    )
    assert counted.status_code == 303
    assert "1 row(s), 1 changed, 0 unchanged" in (await signed_in.get("/catalogue")).text
    inv = (await web.stack.get("/v1/inventory/UP-1")).json()
    assert [(x["location_id"], x["on_hand"]) for x in inv["locations"]] == [("WH-EAST", 7)]

    forged = await signed_in.post(
        "/catalogue/import/stock", files={"file": ("count.csv", count.encode(), "text/csv")}
    )
    assert forged.status_code == 403


async def test_in_a_browser_edit_a_sku_and_see_a_refused_file(
    page: Any, web: Web, tmp_path: Path
) -> None:
    await sign_in(page, web)
    await page.wait_for_url(f"{web.base_url}/")
    await page.click("nav >> text=Catalogue")
    await page.locator("h1", has_text="Catalogue").wait_for()
    await page.fill("input[name=q]", "hoodie")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url(re.compile(r"q=hoodie"))
    assert await page.locator("table.skus tbody tr").count() == 2

    await page.click("a:text-is('HOODIE-M')")
    await page.locator("h1", has_text="HOODIE-M").wait_for()
    await page.fill("input[name=name]", "Fleece hoodie, medium")
    await page.fill("input[name=hs_code]", "6110.20")
    await page.fill("input[name=origin_country]", "pt")
    await page.click("button:text('Save SKU')")
    await page.locator(".flash-ok", has_text="SKU HOODIE-M saved.").wait_for()
    assert await page.input_value("input[name=hs_code]") == "611020"
    view = (await web.stack.get("/v1/skus/HOODIE-M")).json()
    assert (view["name"], view["origin_country"]) == ("Fleece hoodie, medium", "PT")
    await page.screenshot(path=shot("catalogue_sku"), full_page=True)

    bad = tmp_path / "skus.csv"
    bad.write_text("sku,name,price,weight_grams,hs_code\nNEW-1,New,5,100,12\nNEW-2,New,5,0,\n")
    await page.goto(f"{web.base_url}/catalogue")
    await page.set_input_files("form[action='/catalogue/import/skus'] input[type=file]", str(bad))
    await page.click("button:text('Import SKUs')")
    errors = page.locator(".import-errors")
    await errors.wait_for()
    text = await errors.inner_text()
    assert "hs_code" in text and "weight_grams" in text and "2 bad line(s)" in text
    await page.screenshot(path=str(SCREENSHOT), full_page=True)
    await page.screenshot(path=shot("catalogue"), full_page=True)
