"""What every stage and every use case shares: Delta dataset classes, the use-case contract, the model
contract, table schemas and the decisions schema, the registry and lineage helpers, the error hierarchy."""
