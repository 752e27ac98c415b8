"""Operating the lakehouse: the project commands, the loop (it only orders stages), the replay
backtest, the operator commands (status, promote, rollback, reproduce, copy-model)."""
