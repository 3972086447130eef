"""Orders: cart, pricing pipeline, checkout, the order state machine, payments, refunds."""
