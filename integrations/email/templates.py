"""Customer email templates (Jinja2), text and HTML for each notification kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined, select_autoescape

_env = Environment(undefined=StrictUndefined, autoescape=select_autoescape(default=True))
_text_env = Environment(undefined=StrictUndefined, autoescape=False)

SUBJECTS = {
    "order_confirmed": "We have your order {{ order_ref }}",
    "backordered": "Part of your order {{ order_ref }} is on backorder",
    "shipped": "Your order {{ order_ref }} has shipped",
    "delivered": "Your order {{ order_ref }} was delivered",
    "delivery_exception": "A problem with the delivery of order {{ order_ref }}",
    "cancelled": "Your order {{ order_ref }} was cancelled",
    "partially_cancelled": "Part of your order {{ order_ref }} was cancelled",
    "refund_issued": "Refund for order {{ order_ref }}",
    "order_changed": "Your order {{ order_ref }} was changed",
}

BODIES = {
    "order_confirmed": "Thank you, {{ name }}. Order {{ order_ref }} is confirmed and being "
    "prepared.",
    "backordered": "Some items of order {{ order_ref }} are out of stock; we will ship them as "
    "soon as they arrive.",
    "shipped": "Order {{ order_ref }} left our warehouse with {{ carrier }}. Tracking number: "
    "{{ tracking_number }}. Track it at {{ tracking_url }}",
    "delivered": "Order {{ order_ref }} was delivered. Enjoy!",
    "delivery_exception": "The carrier reported a problem delivering order {{ order_ref }} "
    "({{ status }}). Our team is on it.",
    "cancelled": "Order {{ order_ref }} was cancelled ({{ reason }}). Any payment hold was "
    "released.",
    "refund_issued": "We refunded {{ amount }} for order {{ order_ref }}.",
    "order_changed": "Order {{ order_ref }} was changed ({{ reason }}): "
    "{% for l in lines %}{{ l.sku }} {{ l.before }} -> {{ l.after }}"
    "{% if not loop.last %}, {% endif %}{% endfor %}. "
    "New total {{ total_after }} {{ currency }} (was {{ total_before }})."
    "{% if refunded %} We refunded {{ refunded }} {{ currency }}.{% endif %}",
    "partially_cancelled": "Items of order {{ order_ref }} that had not shipped yet were "
    "cancelled ({{ reason }}); you are not charged for them. What already shipped is on its way.",
}

HTML = """<!doctype html><html><body style="font-family:sans-serif">
<h2>{{ subject }}</h2><p>{{ body }}</p>
<p style="color:#666;font-size:12px">Order {{ order_ref }}</p></body></html>"""


@dataclass(frozen=True)
class Rendered:
    """A message ready to send."""

    subject: str
    text: str
    html: str


# Compiled once: compiling a Jinja2 template costs far more than rendering it.
_SUBJECTS = {kind: _text_env.from_string(source) for kind, source in SUBJECTS.items()}
_BODIES = {kind: _text_env.from_string(source) for kind, source in BODIES.items()}
_HTML = _env.from_string(HTML)


def render(kind: str, context: dict[str, Any]) -> Rendered:
    """Render one notification; unknown kinds and missing values are errors, not blanks."""
    subject = _SUBJECTS[kind].render(**context)
    text = _BODIES[kind].render(**context)
    html = _HTML.render(subject=subject, body=text, **context)
    return Rendered(subject=subject, text=text, html=html)
