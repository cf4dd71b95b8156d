"""The fault suite's machinery: sizes, a restartable stack, webhook endpoints, faults, ledger."""
