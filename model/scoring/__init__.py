"""A plan scored apart from the optimiser: evaluate (coverage and every hard constraint), the accepted-risk list, stress (coverage after each loss)."""
