"""Fixtures for adapter tests: real adapters against local fakes of the services' APIs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from integrations.carriers.easypost import EasyPostCarrier
from integrations.payments.stripe_gateway import StripeGateway
from tests.integrations.fake_easypost import API_KEY, FakeEasyPost
from tests.integrations.fakes import FakeStripe


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    """A local Stripe API server for one test."""
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def stripe_gateway(fake_stripe: FakeStripe) -> StripeGateway:
    """`StripeGateway` pointed at the fake server, without SDK retries (Temporal retries)."""
    return StripeGateway("sk_test_fake", api_base=fake_stripe.url, max_network_retries=0)


@pytest.fixture
def fake_easypost() -> FakeEasyPost:
    """EasyPost's API answered in-process."""
    return FakeEasyPost()


@pytest.fixture
async def easypost(fake_easypost: FakeEasyPost) -> AsyncIterator[EasyPostCarrier]:
    """`EasyPostCarrier` whose HTTP goes to the fake through `httpx.MockTransport`."""
    carrier = EasyPostCarrier(API_KEY, transport=httpx.MockTransport(fake_easypost.handle))
    yield carrier
    await carrier.aclose()
