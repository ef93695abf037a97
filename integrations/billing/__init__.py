"""Billing documents: invoices and credit notes of orders paid by invoice."""
