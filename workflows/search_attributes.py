"""Search attributes engineers filter on in the Temporal UI. None of them carries PII."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
CHANNEL = SearchAttributeKey.for_keyword("Channel")
LOCATION = SearchAttributeKey.for_keyword_list("Location")

# name -> type, as `temporal server start-dev --search-attribute` and the operator API take them.
REGISTRY = {"OrderStatus": "Keyword", "Channel": "Keyword", "Location": "KeywordList"}
