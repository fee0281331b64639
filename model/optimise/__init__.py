"""From validated tables to a solved plan: what may go where (candidates), the constraint families, the model, HiGHS, the greedy start, the diagnosis, sweeps."""
