"""Fulfilling paid orders: steps per fulfilment type, run through providers exactly once each."""
