"""What the business sells and to whom: ideas, offers, customers, orders and their fulfilment."""
