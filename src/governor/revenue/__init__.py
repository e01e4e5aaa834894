"""Revenue from Stripe: the webhook inbox, sync, the ledger and reconciliation."""
