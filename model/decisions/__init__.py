"""Questions answered by re-solving: the price of each demand (levers), near-optimal alternatives, plans robust to a loss."""
