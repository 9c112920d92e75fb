"""The run: the loop, partitions joining, budgets, commits, failpoints."""
