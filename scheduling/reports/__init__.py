"""The fiscal year's figures (年度実績) for the council."""
